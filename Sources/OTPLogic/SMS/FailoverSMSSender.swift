import Logging

/// When the next provider of `OTP_SMS_PROVIDER` may have the message: only when the one before
/// certainly did not accept it. Never after an unknown outcome (it may be on its way: a second
/// provider would send a second code), never after "cannot receive" (final: no provider will
/// reach that phone).
public enum SMSFailoverPolicy {
    public static func mayTryNext(after error: SMSError) -> Bool {
        switch error {
        case .unavailable, .credentialsRejected, .misconfigured: true
        case .outcomeUnknown, .recipientCannotReceive: false
        }
    }
}

/// Hands a message to the providers in order, under `SMSFailoverPolicy`, with one log line per
/// attempt (provider, outcome, latency; never the phone, the body or a credential). It does no
/// I/O itself. Wrap the whole chain in one `BoundedSMSSender`, so the in-flight limit counts a
/// send once however many providers it tries.
public final class FailoverSMSSender: SMSSender {
    public struct Link {
        public let name: String
        public let sender: any SMSSender

        public init(name: String, sender: any SMSSender) {
            self.name = name
            self.sender = sender
        }
    }

    private let chain: [Link]
    private let clock: any MonotonicClock
    private let logger: Logger

    public init(_ chain: [Link], clock: any MonotonicClock, logger: Logger) {
        precondition(!chain.isEmpty)
        self.chain = chain
        self.clock = clock
        self.logger = logger
    }

    public var deliversImmediately: Bool { chain.allSatisfy(\.sender.deliversImmediately) }

    public func send(_ message: SMSMessage) throws(SMSError) -> SMSReceipt {
        var lastError: SMSError?
        for (index, link) in chain.enumerated() {
            let started = clock.nanoseconds()
            do {
                let receipt = try link.sender.send(message)
                log(link, started: started, outcome: "accepted", level: .info)
                return receipt
            } catch {
                lastError = error
                let next = index + 1 < chain.count && SMSFailoverPolicy.mayTryNext(after: error)
                log(link, started: started, outcome: error.logReason, level: .warning, next: next ? chain[index + 1].name : nil)
                guard next else { throw error }
            }
        }
        throw lastError ?? .unavailable(.unreachable, retryAfterSeconds: 30)
    }

    private func log(_ link: Link, started: UInt64, outcome: String, level: Logger.Level, next: String? = nil) {
        var metadata: Logger.Metadata = [
            "event": "sms.attempt", "provider": .string(link.name), "outcome": .string(outcome),
            "latency_ms": .string(String(Int(clock.seconds(since: started) * 1000))),
        ]
        if let next { metadata["failover_to"] = .string(next) }
        logger.log(level: level, "SMS provider attempt", metadata: metadata)
    }
}
