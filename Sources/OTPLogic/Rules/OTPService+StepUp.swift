import Logging

/// Who a step-up check let through.
public struct StepUpAdmission: Sendable, Equatable {
    /// The user whose token it was: the principal, or the subject a delegate acts for.
    public var user: String
    public var delegate: String?
}

extension OTPService {
    /// Admits the request when `token` is an unused, unexpired step-up token of the user for
    /// exactly `action` (the location's; nil for none), and consumes it. The user is `principal`,
    /// or `subject` when `principal` is a listed delegate.
    public func consumeStepUpToken(
        _ token: String?, principal: String?, action: String? = nil, subject: String? = nil
    ) throws(OTPError) -> StepUpAdmission {
        // On every protected request: metadata goes with each call instead of into a copied Logger.
        var metadata: Logger.Metadata = [:]
        metadata.reserveCapacity(7)
        metadata["event"] = "step_up.check"
        if let principal { metadata["user"] = .string(principal) }
        if let action { metadata["action"] = .string(action) }
        func refused(_ reason: StepUpRefusal) -> OTPError {
            var metadata = metadata
            metadata["outcome"] = "denied"
            metadata["reason"] = .string(reason.rawValue)
            logger.info("step-up refused", metadata: metadata)
            metrics.stepUpCheck(.denied(reason))
            return .stepUpDenied(action: action)
        }
        guard let principal else { throw refused(.noUser) }
        let party: StepUpParty
        do {
            party = try bindingPolicy.party(principal: principal, subject: subject)
        } catch {
            metadata["subject"] = subject.map { .string($0) }
            metadata["outcome"] = "forbidden"
            logger.warning("step-up check with a subject from a principal that is not a delegate", metadata: metadata)
            metrics.stepUpCheck(.denied(.notDelegate))
            throw error
        }
        if let delegate = party.delegate {
            metadata["user"] = .string(party.user)
            metadata["delegate"] = .string(delegate)
        }
        guard let token else { throw refused(.noToken) }
        guard Base64URL.isEncodedToken(token) else { throw refused(.malformedToken) }
        if let action, bindingPolicy.configuration.actions.text(for: action) == nil {
            logger.error("the web server asks for a step-up action the operator did not list (OTP_STEP_UP_ACTION)", metadata: [
                "event": "config_error", "action": .string(action),
            ])
            throw refused(.unknownAction)
        }
        let hash = hasher.tokenHash(token)
        let now = clock.now()
        let boot = clock.bootClock()
        let consumed: Bool
        do {
            consumed = try store.consumeStepUpToken(
                hash: hash, userID: party.user, action: action, within: tokenPolicy.admissionBounds(at: now, boot: boot)
            )
        } catch {
            metadata["outcome"] = "error"
            metadata["error"] = "\(error)"
            logger.error("database unavailable", metadata: metadata)
            metrics.stepUpCheck(.storageError)
            metrics.storageError(error.kind)
            throw .storageUnavailable(error.kind)
        }
        guard consumed else {
            // Read after the fact, so only indicative: the log's reason, never the answer.
            let stored = try? store.stepUpToken(hash: hash)
            throw refused(tokenPolicy.refusal(of: stored, userID: party.user, action: action, at: now, boot: boot) ?? .raced)
        }
        metadata["outcome"] = "admitted"
        logger.info("step-up admitted", metadata: metadata)
        metrics.stepUpCheck(.admitted)
        return StepUpAdmission(user: party.user, delegate: party.delegate)
    }
}
