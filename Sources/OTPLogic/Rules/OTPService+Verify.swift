import Logging

extension OTPService {
    /// What a successful verification returns.
    public enum VerifyOutcome: Sendable, Equatable {
        case phoneVerified
        /// The step-up token, shown to the client once and stored only as a hash.
        case stepUpGranted(token: String)
    }

    /// Checks a code. On success marks it used and, in the same transaction, records the verified
    /// phone or mints a step-up token bound to `user`.
    public func verify(phone: PhoneNumber, purpose: Purpose, code: String, user: String?) throws(OTPError) -> VerifyOutcome {
        if purpose == .stepUp && user == nil { throw .notAuthenticated }
        let phoneHash = hasher.phoneHash(phone)
        var log = logger
        log[metadataKey: "phone"] = "\(SecretHasher.logReference(phoneHash: phoneHash))"
        log[metadataKey: "purpose"] = "\(purpose.rawValue)"

        let candidateHash = hasher.codeHash(code)
        let now = clock.now()
        let boot = clock.bootClock()
        let result: (VerifyPolicy.Evaluation, VerifyOutcome?)
        do {
            result = try storing(log) { transaction in
            let stored = try transaction.codeRecord(phoneHash: phoneHash, purpose: purpose)
            let evaluation = verifyPolicy.evaluate(stored, candidateHash: candidateHash, at: now, boot: boot)
            if let updated = evaluation.updated { try transaction.saveVerificationState(updated) }
            guard evaluation.failure == nil else { return (evaluation, nil) }
            switch purpose {
            case .verifyPhone:
                try transaction.markPhoneVerified(userID: user, phone: phone, at: now)
                return (evaluation, .phoneVerified)
            case .stepUp:
                let token = generator.stepUpToken()
                try transaction.insertStepUpToken(
                    hash: hasher.tokenHash(token), userID: user ?? "", createdAt: now, expiresAt: now + rules.stepUpTokenTTLSeconds,
                    createdBoot: boot
                )
                return (evaluation, .stepUpGranted(token: token))
            }
            }
        } catch {
            metrics.verify(purpose, "storage_error")
            throw error
        }
        let (evaluation, outcome) = result
        guard let outcome, evaluation.failure == nil else {
            let reason = evaluation.failure?.rawValue ?? "unknown"
            log.info("verification failed", metadata: ["event": "otp.verify", "outcome": "failed", "reason": "\(reason)"])
            metrics.verify(purpose, reason)
            if evaluation.lockedOutNow {
                log.warning("attempts used up; locked out until the code expires", metadata: ["event": "otp.lockout"])
                metrics.lockout(purpose)
            }
            throw .invalidOrExpiredCode
        }
        log.info("code verified", metadata: ["event": "otp.verify", "outcome": "verified"])
        metrics.verify(purpose, "verified")
        return outcome
    }
}
