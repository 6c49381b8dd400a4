import Logging

/// What a successful verification returns.
public enum VerifyOutcome: Sendable, Equatable {
    case phoneVerified
    /// The step-up token, shown to the client once and stored only as a hash.
    case stepUpGranted(token: String)
}

extension OTPService {
    /// What one verification transaction decided.
    enum VerificationResult {
        case verified(VerifyOutcome)
        case failed(VerifyFailure, lockedOutNow: Bool)
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
        let result: VerificationResult
        do {
            result = try storing(log) { transaction throws(StoreError) in
                let stored = try transaction.codeRecord(phoneHash: phoneHash, purpose: purpose)
                let evaluation = verifyPolicy.evaluate(stored, candidateHash: candidateHash, at: now, boot: boot)
                if let updated = evaluation.updated { try transaction.saveVerificationState(updated) }
                if let failure = evaluation.failure { return .failed(failure, lockedOutNow: evaluation.lockedOutNow) }
                switch purpose {
                case .verifyPhone:
                    try transaction.markPhoneVerified(userID: user, phone: phone, at: now)
                    return .verified(.phoneVerified)
                case .stepUp:
                    let token = generator.stepUpToken()
                    try transaction.insertStepUpToken(hash: hasher.tokenHash(token), tokenPolicy.mint(for: user ?? "", at: now, boot: boot))
                    return .verified(.stepUpGranted(token: token))
                }
            }
        } catch {
            metrics.verify(purpose, .storageError)
            throw error
        }
        switch result {
        case .verified(let outcome):
            log.info("code verified", metadata: ["event": "otp.verify", "outcome": "verified"])
            metrics.verify(purpose, .verified)
            return outcome
        case .failed(let reason, let lockedOutNow):
            log.info("verification failed", metadata: ["event": "otp.verify", "outcome": "failed", "reason": "\(reason.rawValue)"])
            metrics.verify(purpose, .failed(reason))
            if lockedOutNow {
                log.warning("attempts used up; locked out until the code expires", metadata: ["event": "otp.lockout"])
                metrics.lockout(purpose)
            }
            throw .invalidOrExpiredCode
        }
    }
}
