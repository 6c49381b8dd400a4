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
            case .smsBlocked: metrics.send(request.purpose, .blocked)
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
        let country = try screenNumber(target)
        let keys = firewall.keys(user: target.budgetUser, address: target.budgetAddress, country: country)
        let code = generator.code(length: rules.codeLength)
        let pendingHash = hasher.codeHash(code)
        let actionText = bindingPolicy.configuration.actions.text(for: target.action, locale: target.locale) ?? StepUpActions.noActionText
        let body = templates.render(target.purpose, locale: target.locale, code: code, minutes: rules.codeTTLMinutes, action: actionText)
        let reference = generator.deliveryReference(milliseconds: clock.unixMilliseconds())
        let send = PendingSend(
            target: target, message: SMSMessage(to: target.phone, purpose: target.purpose, body: body, reference: reference),
            pendingHash: pendingHash, country: country, keys: keys
        )
        if sender.deliversImmediately {
            return try sendInOneTransaction(send)
        }

        let reservedAt = clock.now()
        let admission: Admission = try storing(log) { transaction throws(StoreError) in
            // The code record first, then the firewall's: every transaction takes its rows in this
            // order, so on a store that locks rows (PostgreSQL) two of them never wait on each other.
            let stored = try transaction.codeRecord(phoneHash: target.phoneHash, purpose: target.purpose, owner: target.owner)
            var records = try firewallRecords(send.keys, in: transaction)
            let admission = admit(send, stored: stored, records: &records, at: reservedAt)
            if case .admitted = admission {
                try transaction.save(sendPolicy.reserve(
                    stored, phoneHash: target.phoneHash, purpose: target.purpose, owner: target.owner, action: target.action,
                    country: country, pendingHash: pendingHash, at: reservedAt
                ))
            }
            try transaction.saveFirewallRecords(records)
            return admission
        }
        if let outcome = try settle(admission, log: log) { return outcome }

        let receipt: SMSReceipt
        do {
            receipt = try deliver(send.message)
        } catch {
            try finishFailedSend(send, error: error, reservedAt: reservedAt)
        }

        let confirmed: Bool = try storing(log) { transaction throws(StoreError) in
            let now = clock.now()
            let stored = try transaction.codeRecord(phoneHash: target.phoneHash, purpose: target.purpose, owner: target.owner)
            try recordDelivery(receipt, of: send.message, in: transaction, at: now)
            guard let record = sendPolicy.confirm(stored, pendingHash: pendingHash, at: now, boot: clock.bootClock()) else { return false }
            try transaction.save(record)
            try recordCountrySend(send, in: transaction, at: now)
            return true
        }
        guard confirmed else {
            // Only if this process stalled longer than `sendInFlightSeconds` and another send took over.
            log.error("delivered code was superseded before it could be recorded", metadata: ["event": "otp.send", "outcome": "lost_reservation"])
            throw .smsUnavailable(retryAfterSeconds: 5)
        }
        log.info("code sent", metadata: ["event": "otp.send", "outcome": "sent", "provider": .string(receipt.provider)])
        return .sent
    }

    /// A send that did not go as planned, once the database says so: a certain failure gives back
    /// the reservation and the SMS budgets; an unknown outcome counts as sent (cooldown, cap,
    /// budgets, tripwire) with a code that never verifies; a pumping signal enters the tripwire.
    /// Always throws the answer for the client.
    private func finishFailedSend(_ send: PendingSend, error: SMSError, reservedAt: UnixTime) throws(OTPError) -> Never {
        let target = send.target
        do {
            try store.writeTransaction { transaction throws(StoreError) in
                let now = clock.now()
                let stored = try transaction.codeRecord(phoneHash: target.phoneHash, purpose: target.purpose, owner: target.owner)
                if case .outcomeUnknown = error {
                    if let record = sendPolicy.confirmUnknown(stored, pendingHash: send.pendingHash, at: now) { try transaction.save(record) }
                    try recordCountrySend(send, in: transaction, at: now)
                    return
                }
                if let released = sendPolicy.release(stored, pendingHash: send.pendingHash) { try transaction.save(released) }
                var records = try firewallRecords(send.keys, in: transaction)
                firewall.release(&records, chargedAt: reservedAt, at: now)
                if error.isPumpingSignal { recordCountrySend(send, records: &records, at: now) }
                try transaction.saveFirewallRecords(records)
            }
        } catch {
            // The reservation then expires by itself after `sendInFlightSeconds`.
            target.log.error("could not record a failed send", metadata: ["event": "otp.send", "error": "\(error)"])
        }
        throw providerFailure(error, log: target.log)
    }

    /// A local, immediate sender (the file sink) needs no reservation: firewall, suppression check,
    /// delivery and record happen in one transaction, and a failed delivery takes back its SMS budgets.
    func sendInOneTransaction(_ send: PendingSend) throws(OTPError) -> SendOutcome {
        let target = send.target
        enum Attempt {
            case settled(Admission)
            case delivered(Admission)
            case failed(SMSError)
        }
        let attempt: Attempt = try storing(target.log) { transaction throws(StoreError) in
            let now = clock.now()
            let stored = try transaction.codeRecord(phoneHash: target.phoneHash, purpose: target.purpose, owner: target.owner)
            var records = try firewallRecords(send.keys, in: transaction)
            let admission = admit(send, stored: stored, records: &records, at: now)
            guard case .admitted = admission else {
                try transaction.saveFirewallRecords(records)
                return .settled(admission)
            }
            let receipt: SMSReceipt
            do throws(SMSError) {
                receipt = try deliver(send.message)
            } catch {
                firewall.release(&records, chargedAt: now, at: now)
                try transaction.saveFirewallRecords(records)
                return .failed(error)
            }
            let reserved = sendPolicy.reserve(
                stored, phoneHash: target.phoneHash, purpose: target.purpose, owner: target.owner, action: target.action,
                country: send.country, pendingHash: send.pendingHash, at: now
            )
            if let confirmed = sendPolicy.confirm(reserved, pendingHash: send.pendingHash, at: now, boot: clock.bootClock()) {
                try transaction.save(confirmed)
            }
            recordCountrySend(send, records: &records, at: now)
            try transaction.saveFirewallRecords(records)
            try recordDelivery(receipt, of: send.message, in: transaction, at: now)
            return .delivered(admission)
        }
        switch attempt {
        case .settled(let admission):
            guard let outcome = try settle(admission, log: target.log) else { return .sent }
            return outcome
        case .failed(let error):
            throw providerFailure(error, log: target.log)
        case .delivered(let admission):
            _ = try settle(admission, log: target.log)
            target.log.info("code sent", metadata: ["event": "otp.send", "outcome": "sent"])
            return .sent
        }
    }

    func suppressed(_ reason: SendSuppression, log: Logger) -> SendOutcome {
        log.info("send suppressed", metadata: ["event": "otp.send", "outcome": "suppressed", "reason": .string(reason.rawValue)])
        return .suppressed(reason)
    }

    /// Hands the message to the sender, timing it for the provider latency histogram.
    func deliver(_ message: SMSMessage) throws(SMSError) -> SMSReceipt {
        let started = clock.nanoseconds()
        defer { metrics.providerCall(seconds: clock.seconds(since: started)) }
        do {
            return try sender.send(message)
        } catch {
            metrics.providerError(error)
            throw error
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
        case .outcomeUnknown(_, let retryAfter):
            log.warning("SMS provider did not answer after the request left; counted as sent, its code never verifies", metadata: metadata)
            return .smsUnavailable(retryAfterSeconds: retryAfter)
        case .credentialsRejected(let retryAfter):
            log.error("SMS provider rejected our credentials: check the settings its sms.credentials line names", metadata: metadata)
            return .smsUnavailable(retryAfterSeconds: retryAfter)
        case .misconfigured(_, let retryAfter):
            log.error("SMS provider refused our request: check its settings (sender, Messaging Service SID) and the templates", metadata: metadata)
            return .smsUnavailable(retryAfterSeconds: retryAfter)
        }
    }
}
