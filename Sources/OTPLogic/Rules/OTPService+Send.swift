import Logging

/// What happened to a well-formed send. The client sees "sent" for both.
public enum SendOutcome: Sendable, Equatable {
    case sent
    case suppressed(SendSuppression)
}

extension OTPService {
    /// Sends a new code unless a rule suppresses it. The new code becomes live only once the
    /// provider has accepted the message; until then an earlier code stays as it was.
    public func send(to phone: PhoneNumber, purpose: Purpose, user: String?) throws(OTPError) -> SendOutcome {
        do {
            let outcome = try performSend(to: phone, purpose: purpose, user: user)
            switch outcome {
            case .sent: metrics.send(purpose, .sent)
            case .suppressed(let reason): metrics.send(purpose, SendMetricOutcome(reason))
            }
            return outcome
        } catch {
            switch error {
            case .storageUnavailable: metrics.send(purpose, .storageError)
            case .recipientCannotReceiveSMS: metrics.send(purpose, .undeliverable)
            case .smsUnavailable: metrics.send(purpose, .providerError)
            case .notAuthenticated, .invalidOrExpiredCode, .stepUpDenied: break
            }
            throw error
        }
    }

    func performSend(to phone: PhoneNumber, purpose: Purpose, user: String?) throws(OTPError) -> SendOutcome {
        if purpose == .stepUp && user == nil { throw .notAuthenticated }
        let phoneHash = hasher.phoneHash(phone)
        var log = logger
        log[metadataKey: "phone"] = "\(SecretHasher.logReference(phoneHash: phoneHash))"
        log[metadataKey: "purpose"] = "\(purpose.rawValue)"

        let code = generator.code(length: rules.codeLength)
        let pendingHash = hasher.codeHash(code)
        let message = SMSMessage(to: phone, purpose: purpose, body: templates.template(for: purpose).render(code: code, minutes: rules.codeTTLMinutes))
        if sender.deliversImmediately {
            return try sendInOneTransaction(message, phoneHash: phoneHash, pendingHash: pendingHash, log: log)
        }

        let reservedAt = clock.now()
        let suppression: SendSuppression? = try storing(log) { transaction throws(StoreError) in
            let stored = try transaction.codeRecord(phoneHash: phoneHash, purpose: purpose)
            if let reason = sendPolicy.suppression(of: stored, at: reservedAt) { return reason }
            try transaction.save(sendPolicy.reserve(stored, phoneHash: phoneHash, purpose: purpose, pendingHash: pendingHash, at: reservedAt))
            return nil
        }
        if let suppression { return suppressed(suppression, log: log) }

        do {
            try deliver(message)
        } catch {
            releaseReservation(phoneHash: phoneHash, purpose: purpose, pendingHash: pendingHash, log: log)
            throw providerFailure(error, log: log)
        }

        let confirmed: Bool = try storing(log) { transaction throws(StoreError) in
            let stored = try transaction.codeRecord(phoneHash: phoneHash, purpose: purpose)
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
    func sendInOneTransaction(_ message: SMSMessage, phoneHash: String, pendingHash: String, log: Logger) throws(OTPError) -> SendOutcome {
        enum Attempt {
            case suppressed(SendSuppression)
            case delivered
            case failed(SMSError)
        }
        let attempt: Attempt = try storing(log) { transaction throws(StoreError) in
            let now = clock.now()
            let stored = try transaction.codeRecord(phoneHash: phoneHash, purpose: message.purpose)
            if let reason = sendPolicy.suppression(of: stored, at: now) { return .suppressed(reason) }
            do throws(SMSError) {
                try deliver(message)
            } catch {
                return .failed(error)
            }
            let reserved = sendPolicy.reserve(stored, phoneHash: phoneHash, purpose: message.purpose, pendingHash: pendingHash, at: now)
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

    func releaseReservation(phoneHash: String, purpose: Purpose, pendingHash: String, log: Logger) {
        do {
            try store.writeTransaction { transaction throws(StoreError) in
                let stored = try transaction.codeRecord(phoneHash: phoneHash, purpose: purpose)
                if let released = sendPolicy.release(stored, pendingHash: pendingHash) { try transaction.save(released) }
            }
        } catch {
            // The reservation then expires by itself after `sendInFlightSeconds`.
            log.error("could not release a failed send", metadata: ["event": "otp.send", "error": "\(error)"])
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
