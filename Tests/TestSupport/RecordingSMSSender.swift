import OTPLogic
import Synchronization

/// The SMS provider as a test sees it: records every message handed to it, and fails the next
/// send (`failNextSend(with:)`) or every send (`failEverySend(with:)`) when told to.
public final class RecordingSMSSender: SMSSender, @unchecked Sendable {
    private struct State {
        var attempted: [SMSMessage] = []
        var delivered: [SMSMessage] = []
        var receipts: [SMSReceipt] = []
        var nextFailure: SMSError?
        var everyFailure: SMSError?
        var hook: (@Sendable (SMSMessage) -> Void)?
    }

    private let state = Mutex(State())

    /// The provider name its receipts carry.
    public let providerName: String

    public init(deliversImmediately: Bool = false, providerName: String = "recording") {
        self.deliversImmediately = deliversImmediately
        self.providerName = providerName
    }

    /// Every message `send` was called with, delivered or not.
    public var attempted: [SMSMessage] { state.withLock { $0.attempted } }
    /// The messages the "provider" accepted.
    public var delivered: [SMSMessage] { state.withLock { $0.delivered } }
    /// The receipts of the accepted messages, in order (ids `msg-1`, `msg-2`, …).
    public var receipts: [SMSReceipt] { state.withLock { $0.receipts } }

    public func failNextSend(with error: SMSError) { state.withLock { $0.nextFailure = error } }
    /// Every later send fails with `error` (nil: they succeed again).
    public func failEverySend(with error: SMSError?) { state.withLock { $0.everyFailure = error } }

    /// What the sender claims; with true the service sends inside the recording transaction.
    public var deliversImmediately: Bool

    /// Runs `body` inside every later send, while the message is "with the provider".
    public func whileSending(_ body: @escaping @Sendable (SMSMessage) -> Void) { state.withLock { $0.hook = body } }

    /// Forgets every message and failure.
    public func reset() { state.withLock { $0 = State() } }

    public func send(_ message: SMSMessage) throws(SMSError) -> SMSReceipt {
        if let hook = state.withLock({ $0.hook }) { hook(message) }
        let outcome: Result<SMSReceipt, SMSError> = state.withLock {
            $0.attempted.append(message)
            let failure = $0.nextFailure ?? $0.everyFailure
            $0.nextFailure = nil
            if let failure { return .failure(failure) }
            $0.delivered.append(message)
            let receipt = SMSReceipt(provider: providerName, messageID: "msg-\($0.delivered.count)")
            $0.receipts.append(receipt)
            return .success(receipt)
        }
        return try outcome.get()
    }
}
