import Logging

extension OTPService {
    /// Admits the request when `token` is an unused, unexpired step-up token issued to `user`, and
    /// consumes it. Returns the principal to pass on.
    public func consumeStepUpToken(_ token: String?, user: String?) throws(OTPError) -> String {
        // On every protected request: metadata goes with each call instead of into a copied Logger.
        func refused(_ reason: String) -> OTPError {
            var metadata: Logger.Metadata = ["event": "step_up.check", "outcome": "denied", "reason": .string(reason)]
            if let user { metadata["user"] = .string(user) }
            logger.info("step-up refused", metadata: metadata)
            metrics.stepUpCheck("denied", reason: reason)
            return .stepUpDenied
        }
        guard let user else { throw refused("no_user") }
        guard let token else { throw refused("no_token") }
        guard Base64URL.isEncodedToken(token) else { throw refused("malformed_token") }
        let hash = hasher.tokenHash(token)
        let now = clock.now()
        let consumed: Bool
        do {
            consumed = try store.consumeStepUpToken(
                hash: hash, userID: user, at: now, boot: clock.bootClock(), lifetimeSeconds: rules.stepUpTokenTTLSeconds
            )
        } catch {
            logger.error("database unavailable", metadata: [
                "event": "step_up.check", "outcome": "error", "user": .string(user), "error": "\(error)",
            ])
            metrics.stepUpCheck("storage_error")
            metrics.storageError(error.kind)
            throw .storageUnavailable(error)
        }
        guard consumed else {
            let reason = (try? store.stepUpTokenRefusal(hash: hash, userID: user, at: now))?.rawValue ?? "unknown"
            throw refused(reason)
        }
        logger.info("step-up admitted", metadata: ["event": "step_up.check", "outcome": "admitted", "user": .string(user)])
        metrics.stepUpCheck("admitted")
        return user
    }
}
