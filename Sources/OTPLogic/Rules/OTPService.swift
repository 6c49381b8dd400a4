import Logging

/// The product: send and verify codes, mint and consume step-up tokens. One instance per worker
/// thread, with that thread's store and SMS sender; the clock and random source are injected.
public final class OTPService {
    public let rules: RulesConfiguration
    private let templates: MessageTemplates
    private let hasher: SecretHasher
    private let store: any OTPStore
    private let sender: any SMSSender
    private let clock: any UnixClock
    private var generator: SecretGenerator
    private let sendPolicy: SendPolicy
    private let verifyPolicy: VerifyPolicy
    private let logger: Logger
    private let metrics: OTPMetrics

    public init(
        rules: RulesConfiguration, templates: MessageTemplates, hasher: SecretHasher, store: any OTPStore,
        sender: any SMSSender, clock: any UnixClock, generator: SecretGenerator = SecretGenerator(), logger: Logger,
        metrics: OTPMetrics = OTPMetrics()
    ) {
        self.rules = rules
        self.templates = templates
        self.hasher = hasher
        self.store = store
        self.sender = sender
        self.clock = clock
        self.generator = generator
        self.sendPolicy = SendPolicy(rules: rules)
        self.verifyPolicy = VerifyPolicy(rules: rules)
        self.logger = logger
        self.metrics = metrics
    }

    /// What happened to a well-formed send. The client sees "sent" for both.
    public enum SendOutcome: Sendable, Equatable {
        case sent
        case suppressed(SendSuppression)
    }

    /// Sends a new code unless a rule suppresses it. The new code becomes live only once the
    /// provider has accepted the message; until then an earlier code stays as it was.
    public func send(to phone: PhoneNumber, purpose: Purpose, user: String?) throws(OTPError) -> SendOutcome {
        do {
            let outcome = try performSend(to: phone, purpose: purpose, user: user)
            switch outcome {
            case .sent: metrics.send(purpose, .sent)
            case .suppressed(.cooldown): metrics.send(purpose, .suppressedCooldown)
            case .suppressed(.hourlyCap): metrics.send(purpose, .suppressedCap)
            case .suppressed(.lockedOut): metrics.send(purpose, .suppressedLockout)
            case .suppressed(.sendInFlight): metrics.send(purpose, .suppressedInFlight)
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

    private func performSend(to phone: PhoneNumber, purpose: Purpose, user: String?) throws(OTPError) -> SendOutcome {
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
        let suppression: SendSuppression? = try storing(log) { transaction in
            let stored = try transaction.codeRecord(phoneHash: phoneHash, purpose: purpose)
            if let reason = sendPolicy.suppression(of: stored, at: reservedAt) { return reason }
            try transaction.save(sendPolicy.reserve(stored, phoneHash: phoneHash, purpose: purpose, pendingHash: pendingHash, at: reservedAt))
            return nil
        }
        if let suppression {
            log.info("send suppressed", metadata: ["event": "otp.send", "outcome": "suppressed", "reason": "\(suppression.rawValue)"])
            return .suppressed(suppression)
        }

        do {
            try deliver(message)
        } catch {
            releaseReservation(phoneHash: phoneHash, purpose: purpose, pendingHash: pendingHash, log: log)
            throw providerFailure(error, log: log)
        }

        let confirmed: Bool = try storing(log) { transaction in
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
    /// and record happen in one transaction, and a failed delivery rolls it all back.
    private func sendInOneTransaction(_ message: SMSMessage, phoneHash: String, pendingHash: String, log: Logger) throws(OTPError) -> SendOutcome {
        let suppression: SendSuppression? = try storing(log) { transaction in
            let now = clock.now()
            let stored = try transaction.codeRecord(phoneHash: phoneHash, purpose: message.purpose)
            if let reason = sendPolicy.suppression(of: stored, at: now) { return reason }
            do {
                try deliver(message)
            } catch let error as SMSError {
                throw providerFailure(error, log: log)
            }
            let reserved = sendPolicy.reserve(stored, phoneHash: phoneHash, purpose: message.purpose, pendingHash: pendingHash, at: now)
            if let confirmed = sendPolicy.confirm(reserved, pendingHash: pendingHash, at: now, boot: clock.bootClock()) {
                try transaction.save(confirmed)
            }
            return nil
        }
        if let suppression {
            log.info("send suppressed", metadata: ["event": "otp.send", "outcome": "suppressed", "reason": "\(suppression.rawValue)"])
            return .suppressed(suppression)
        }
        log.info("code sent", metadata: ["event": "otp.send", "outcome": "sent"])
        return .sent
    }

    /// Hands the message to the sender, timing it for the provider latency histogram.
    private func deliver(_ message: SMSMessage) throws(SMSError) {
        let started = MonotonicClock.nanoseconds()
        defer { metrics.providerCall(seconds: MonotonicClock.seconds(since: started)) }
        do {
            try sender.send(message)
        } catch {
            metrics.providerError(error)
            throw error
        }
    }

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

    /// True when the database answers.
    public func isHealthy() -> Bool {
        do {
            try store.ping()
            return true
        } catch {
            logger.error("health check failed", metadata: ["event": "health", "error": "\(error)"])
            metrics.storageError(error.kind)
            return false
        }
    }

    private func releaseReservation(phoneHash: String, purpose: Purpose, pendingHash: String, log: Logger) {
        do {
            try store.writeTransaction { transaction in
                let stored = try transaction.codeRecord(phoneHash: phoneHash, purpose: purpose)
                if let released = sendPolicy.release(stored, pendingHash: pendingHash) { try transaction.save(released) }
            }
        } catch {
            // The reservation then expires by itself after `sendInFlightSeconds`.
            log.error("could not release a failed send", metadata: ["event": "otp.send", "error": "\(error)"])
        }
    }

    private func providerFailure(_ error: SMSError, log: Logger) -> OTPError {
        switch error {
        case .recipientCannotReceive:
            log.info("recipient cannot receive SMS", metadata: ["event": "otp.send", "outcome": "undeliverable", "reason": "\(error.logReason)"])
            return .recipientCannotReceiveSMS
        case .unavailable(_, let retryAfter):
            log.warning("SMS provider unavailable", metadata: ["event": "otp.send", "outcome": "provider_error", "reason": "\(error.logReason)"])
            return .smsUnavailable(retryAfterSeconds: retryAfter)
        case .credentialsRejected(let retryAfter):
            log.error(
                "SMS provider rejected our credentials: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
                metadata: ["event": "otp.send", "outcome": "provider_error", "reason": "\(error.logReason)"]
            )
            return .smsUnavailable(retryAfterSeconds: retryAfter)
        case .misconfigured(_, let retryAfter):
            log.error(
                "SMS provider refused our request: check the Twilio settings (TWILIO_MESSAGING_SERVICE_SID, templates)",
                metadata: ["event": "otp.send", "outcome": "provider_error", "reason": "\(error.logReason)"]
            )
            return .smsUnavailable(retryAfterSeconds: retryAfter)
        }
    }

    /// Runs a write transaction, turning a storage failure into `OTPError` with one log line. An
    /// `OTPError` thrown by `body` rolls the transaction back and passes through unchanged.
    private func storing<T>(_ log: Logger, _ body: (any OTPStoreTransaction) throws -> T) throws(OTPError) -> T {
        do {
            return try store.writeTransaction(body)
        } catch let error as OTPError {
            throw error
        } catch let error as StoreError {
            log.error("database unavailable", metadata: ["event": "storage", "error": "\(error)"])
            metrics.storageError(error.kind)
            throw .storageUnavailable(error)
        } catch {
            let wrapped = StoreError(kind: .other, code: 0, message: "\(type(of: error))")
            log.error("database unavailable", metadata: ["event": "storage", "error": "\(wrapped)"])
            metrics.storageError(wrapped.kind)
            throw .storageUnavailable(wrapped)
        }
    }
}
