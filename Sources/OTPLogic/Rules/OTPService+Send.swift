import Logging

/// What happened to a well-formed send. The client sees "sent" for both.
public enum SendOutcome: Sendable, Equatable {
    case sent
    case suppressed(SendSuppression)
}

/// What a well-formed send answers: its outcome, which the client never sees, and for `step_up`
/// the hint of the phone it went to.
public struct SendReceipt: Sendable, Equatable {
    public var outcome: SendOutcome
    /// `…0123` for `step_up` (the user's own phone on record); nil for `verify_phone`.
    public var phoneHint: String?
}

extension OTPService {
    /// Sends a new code unless a rule suppresses it. The new code becomes live only once the
    /// provider has accepted the message; until then an earlier code stays as it was.
    public func send(_ request: CodeRequest) throws(OTPError) -> SendReceipt {
        do {
            let target = try target(of: request)
            let outcome = try performSend(target)
            switch outcome {
            case .sent: metrics.send(request.purpose, .sent)
            case .suppressed(let reason): metrics.send(request.purpose, SendMetricOutcome(reason))
            }
            return SendReceipt(outcome: outcome, phoneHint: request.purpose == .stepUp ? target.phone.hint : nil)
        } catch {
            switch error {
            case .storageUnavailable: metrics.send(request.purpose, .storageError)
            case .recipientCannotReceiveSMS: metrics.send(request.purpose, .undeliverable)
            case .smsUnavailable: metrics.send(request.purpose, .providerError)
            case .notADelegate, .unknownAction, .noVerifiedPhone, .notThePhoneOnRecord:
                logBindingRefusal(error, request: request, event: "otp.send")
                metrics.send(request.purpose, .refused)
            case .notAuthenticated, .invalidOrExpiredCode, .stepUpDenied, .phoneChangeNeedsStepUp: break
            }
            throw error
        }
    }

    /// One line for a step-up request the binding rules refused: who asked, for whom, and why.
    func logBindingRefusal(_ error: OTPError, request: CodeRequest, event: String) {
        var metadata: Logger.Metadata = ["event": .string(event), "outcome": "refused", "reason": .string(error.logReason)]
        if let principal = request.principal { metadata["principal"] = .string(principal) }
        if let subject = request.subject { metadata["subject"] = .string(subject) }
        if let action = request.action { metadata["action"] = .string(action) }
        logger.info("step-up request refused", metadata: metadata)
    }

    func performSend(_ target: CodeTarget) throws(OTPError) -> SendOutcome {
        let log = target.log
        let phoneHash = target.phoneHash
        let purpose = target.purpose
        let code = generator.code(length: rules.codeLength)
        let pendingHash = hasher.codeHash(code)
        let actionText = bindingPolicy.configuration.actions.text(for: target.action) ?? StepUpActions.noActionText
        let body = templates.template(for: purpose).render(code: code, minutes: rules.codeTTLMinutes, action: actionText)
        let message = SMSMessage(to: target.phone, purpose: purpose, body: body)
        if sender.deliversImmediately {
            return try sendInOneTransaction(message, target: target, pendingHash: pendingHash)
        }

        let reservedAt = clock.now()
        let suppression: SendSuppression? = try storing(log) { transaction throws(StoreError) in
            let stored = try transaction.codeRecord(phoneHash: phoneHash, purpose: purpose, owner: target.owner)
            if let reason = sendPolicy.suppression(of: stored, at: reservedAt) { return reason }
            try transaction.save(sendPolicy.reserve(
                stored, phoneHash: phoneHash, purpose: purpose, owner: target.owner, action: target.action, pendingHash: pendingHash, at: reservedAt
            ))
            return nil
        }
        if let suppression { return suppressed(suppression, log: log) }

        do {
            try deliver(message)
        } catch {
            releaseReservation(target, pendingHash: pendingHash)
            throw providerFailure(error, log: log)
        }

        let confirmed: Bool = try storing(log) { transaction throws(StoreError) in
            let stored = try transaction.codeRecord(phoneHash: phoneHash, purpose: purpose, owner: target.owner)
            guard let record = sendPolicy.confirm(stored, pendingHash: pendingHash, at: clock.now(), boot: clock.bootClock()) else { return false }
            try transaction.save(record)
            return true
        }
        guard confirmed else {
            // Only if this process stalled longer than `sendInFlightSeconds` and another send took over.
            log.error("delivered code was superseded before it could be recorded", metadata: ["event": "otp.send", "outcome": "lost_reservation"])
            throw .smsUnavailable(retryAfterSeconds: 5)
        }
        log.info("code sent", metadata: ["event": "otp.send", "outcome": "sent"])
        return .sent
    }

    /// A local, immediate sender (the file sink) needs no reservation: suppression check, delivery
    /// and record happen in one transaction, and a failed delivery writes nothing.
    func sendInOneTransaction(_ message: SMSMessage, target: CodeTarget, pendingHash: String) throws(OTPError) -> SendOutcome {
        let log = target.log
        enum Attempt {
            case suppressed(SendSuppression)
            case delivered
            case failed(SMSError)
        }
        let attempt: Attempt = try storing(log) { transaction throws(StoreError) in
            let now = clock.now()
            let stored = try transaction.codeRecord(phoneHash: target.phoneHash, purpose: target.purpose, owner: target.owner)
            if let reason = sendPolicy.suppression(of: stored, at: now) { return .suppressed(reason) }
            do throws(SMSError) {
                try deliver(message)
            } catch {
                return .failed(error)
            }
            let reserved = sendPolicy.reserve(
                stored, phoneHash: target.phoneHash, purpose: target.purpose, owner: target.owner, action: target.action, pendingHash: pendingHash, at: now
            )
            if let confirmed = sendPolicy.confirm(reserved, pendingHash: pendingHash, at: now, boot: clock.bootClock()) {
                try transaction.save(confirmed)
            }
            return .delivered
        }
        switch attempt {
        case .suppressed(let reason):
            return suppressed(reason, log: log)
        case .failed(let error):
            throw providerFailure(error, log: log)
        case .delivered:
            log.info("code sent", metadata: ["event": "otp.send", "outcome": "sent"])
            return .sent
        }
    }

    private func suppressed(_ reason: SendSuppression, log: Logger) -> SendOutcome {
        log.info("send suppressed", metadata: ["event": "otp.send", "outcome": "suppressed", "reason": "\(reason.rawValue)"])
        return .suppressed(reason)
    }

    /// Hands the message to the sender, timing it for the provider latency histogram.
    func deliver(_ message: SMSMessage) throws(SMSError) {
        let started = clock.nanoseconds()
        defer { metrics.providerCall(seconds: clock.seconds(since: started)) }
        do {
            try sender.send(message)
        } catch {
            metrics.providerError(error)
            throw error
        }
    }

    func releaseReservation(_ target: CodeTarget, pendingHash: String) {
        do {
            try store.writeTransaction { transaction throws(StoreError) in
                let stored = try transaction.codeRecord(phoneHash: target.phoneHash, purpose: target.purpose, owner: target.owner)
                if let released = sendPolicy.release(stored, pendingHash: pendingHash) { try transaction.save(released) }
            }
        } catch {
            // The reservation then expires by itself after `sendInFlightSeconds`.
            target.log.error("could not release a failed send", metadata: ["event": "otp.send", "error": "\(error)"])
        }
    }

    func providerFailure(_ error: SMSError, log: Logger) -> OTPError {
        let metadata: Logger.Metadata = ["event": "otp.send", "outcome": "provider_error", "reason": "\(error.logReason)"]
        switch error {
        case .recipientCannotReceive:
            log.info("recipient cannot receive SMS", metadata: ["event": "otp.send", "outcome": "undeliverable", "reason": "\(error.logReason)"])
            return .recipientCannotReceiveSMS
        case .unavailable(_, let retryAfter):
            log.warning("SMS provider unavailable", metadata: metadata)
            return .smsUnavailable(retryAfterSeconds: retryAfter)
        case .credentialsRejected(let retryAfter):
            log.error("SMS provider rejected our credentials: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN", metadata: metadata)
            return .smsUnavailable(retryAfterSeconds: retryAfter)
        case .misconfigured(_, let retryAfter):
            log.error("SMS provider refused our request: check the Twilio settings (TWILIO_MESSAGING_SERVICE_SID, templates)", metadata: metadata)
            return .smsUnavailable(retryAfterSeconds: retryAfter)
        }
    }
}
