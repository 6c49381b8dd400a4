import Logging

extension OTPService {
    /// Admits the request when `token` is an unused, unexpired step-up token issued to `user`, and
    /// consumes it. Returns the principal to pass on.
    public func consumeStepUpToken(_ token: String?, user: String?) throws(OTPError) -> String {
        // On every protected request: metadata goes with each call instead of into a copied Logger.
        func refused(_ reason: StepUpRefusal) -> OTPError {
            var metadata: Logger.Metadata = ["event": "step_up.check", "outcome": "denied", "reason": .string(reason.rawValue)]
            if let user { metadata["user"] = .string(user) }
            logger.info("step-up refused", metadata: metadata)
            metrics.stepUpCheck(.denied(reason))
            return .stepUpDenied
        }
        guard let user else { throw refused(.noUser) }
        guard let token else { throw refused(.noToken) }
        guard Base64URL.isEncodedToken(token) else { throw refused(.malformedToken) }
        let hash = hasher.tokenHash(token)
        let now = clock.now()
        let boot = clock.bootClock()
        let consumed: StepUpTokenRecord?
        do {
            consumed = try store.consumeStepUpToken(hash: hash, userID: user, at: now)
        } catch {
            logger.error("database unavailable", metadata: [
                "event": "step_up.check", "outcome": "error", "user": .string(user), "error": "\(error)",
            ])
            metrics.stepUpCheck(.storageError)
            metrics.storageError(error.kind)
            throw .storageUnavailable(error.kind)
        }
        // A token spent past its lifetime is refused; spending it changed nothing it could still do.
        if let consumed, let reason = tokenPolicy.refusal(of: consumed, userID: user, at: now, boot: boot) {
            throw refused(reason)
        }
        guard consumed != nil else {
            // Read after the fact, so only indicative: the log's reason, never the answer.
            let stored = try? store.stepUpToken(hash: hash)
            throw refused(tokenPolicy.refusal(of: stored, userID: user, at: now, boot: boot) ?? .raced)
        }
        logger.info("step-up admitted", metadata: ["event": "step_up.check", "outcome": "admitted", "user": .string(user)])
        metrics.stepUpCheck(.admitted)
        return user
    }
}
