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
        /// The right code, for a phone that would replace the user's verified one without a valid
        /// `change-phone` step-up: nothing was written, the code stays unused.
        case phoneChangeRefused(StepUpRefusal)
        /// A step-up whose phone is not the user's verified phone (read in the transaction).
        case refused(OTPError)
    }

    /// Checks a code. On success marks it used and, in the same transaction, records the verified
    /// phone or mints a step-up token bound to its user and action. `stepUpToken` is the
    /// `X-Step-Up-Token` of the request: a `change-phone` token needed to replace a verified phone.
    public func verify(_ request: CodeRequest, code: String, stepUpToken: String? = nil) throws(OTPError) -> VerifyOutcome {
        let target: CodeTarget
        do {
            // The phone on record is read in the write transaction below, on the writer's warm
            // connection: one read transaction fewer, and no race with a phone change.
            target = try self.target(of: request, phoneOnRecordLater: true)
        } catch {
            throw refusedVerification(error, request: request)
        }
        let log = target.log
        let candidateHash = hasher.codeHash(code)
        let now = clock.now()
        let boot = clock.bootClock()
        let result: VerificationResult
        do {
            result = try storing(log) { transaction throws(StoreError) in
                if let refusal = try phoneOnRecordRefusal(of: target, in: transaction) { return .refused(refusal) }
                let stored = try transaction.codeRecord(phoneHash: target.phoneHash, purpose: target.purpose, owner: target.owner)
                let evaluation = verifyPolicy.evaluate(stored, candidateHash: candidateHash, action: target.action, at: now, boot: boot)
                if let failure = evaluation.failure {
                    if let updated = evaluation.updated { try transaction.saveVerificationState(updated) }
                    return .failed(failure, lockedOutNow: evaluation.lockedOutNow)
                }
                switch target.purpose {
                case .verifyPhone:
                    if let refusal = try phoneChangeRefusal(in: transaction, target: target, token: stepUpToken, at: now, boot: boot) {
                        return .phoneChangeRefused(refusal)
                    }
                    if let updated = evaluation.updated {
                        try transaction.saveVerificationState(updated)
                        try recordCountryVerification(updated, in: transaction)
                    }
                    try transaction.markPhoneVerified(userID: target.principal, phone: target.phone, at: now)
                    return .verified(.phoneVerified)
                case .stepUp:
                    if let updated = evaluation.updated {
                        try transaction.saveVerificationState(updated)
                        try recordCountryVerification(updated, in: transaction)
                    }
                    let token = generator.stepUpToken()
                    let record = tokenPolicy.mint(for: target.owner, action: target.action, at: now, boot: boot)
                    try transaction.insertStepUpToken(hash: hasher.tokenHash(token), record)
                    return .verified(.stepUpGranted(token: token))
                }
            }
        } catch {
            metrics.verify(request.purpose, .storageError)
            throw error
        }
        switch result {
        case .verified(let outcome):
            log.info("code verified", metadata: ["event": "otp.verify", "outcome": "verified"])
            metrics.verify(request.purpose, .verified)
            return outcome
        case .failed(let reason, let lockedOutNow):
            log.info("verification failed", metadata: ["event": "otp.verify", "outcome": "failed", "reason": .string(reason.rawValue)])
            metrics.verify(request.purpose, .failed(reason))
            if lockedOutNow {
                log.warning("attempts used up; locked out until the code expires", metadata: ["event": "otp.lockout"])
                metrics.lockout(request.purpose)
            }
            throw .invalidOrExpiredCode
        case .phoneChangeRefused(let reason):
            log.warning("verified phone not replaced: a change-phone step-up is needed", metadata: [
                "event": "otp.verify", "outcome": "phone_change_refused", "reason": .string(reason.rawValue),
                "user": "\(target.principal ?? "")",
            ])
            metrics.verify(request.purpose, .phoneChangeRefused)
            throw .phoneChangeNeedsStepUp
        case .refused(let error):
            throw refusedVerification(error, request: request)
        }
    }

    /// Counts and logs a verification the binding rules or the store refused before any code was
    /// looked at; returns the error for the client.
    private func refusedVerification(_ error: OTPError, request: CodeRequest) -> OTPError {
        switch error {
        case .storageUnavailable:
            metrics.verify(request.purpose, .storageError)
        case .notADelegate, .unknownAction, .noVerifiedPhone, .notThePhoneOnRecord:
            logBindingRefusal(error, request: request, event: "otp.verify")
            metrics.verify(request.purpose, .refused)
        default:
            break
        }
        return error
    }

    /// Why a `verify_phone` may not replace the user's verified phone; nil when it may (no user,
    /// no verified phone, the same phone, or a valid `change-phone` token of the user, which is
    /// spent here, in the transaction that changes the phone).
    private func phoneChangeRefusal(
        in transaction: any OTPStoreTransaction, target: CodeTarget, token: String?, at now: UnixTime, boot: BootClockReading?
    ) throws(StoreError) -> StepUpRefusal? {
        guard let user = target.principal, let current = try transaction.verifiedPhone(userID: user), current != target.phone else {
            return nil
        }
        guard let token else { return .noToken }
        guard Base64URL.isEncodedToken(token) else { return .malformedToken }
        let hash = hasher.tokenHash(token)
        let action = StepUpActions.changePhone
        if let refusal = tokenPolicy.refusal(of: try transaction.stepUpToken(hash: hash), userID: user, action: action, at: now, boot: boot) {
            return refusal
        }
        let bounds = tokenPolicy.admissionBounds(at: now, boot: boot)
        return try transaction.consumeStepUpToken(hash: hash, userID: user, action: action, within: bounds) ? nil : .raced
    }
}
