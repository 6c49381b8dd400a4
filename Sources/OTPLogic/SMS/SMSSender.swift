/// One text message to deliver. `description` hides the number and the body (it holds the code).
public struct SMSMessage: Sendable, CustomStringConvertible {
    public var to: PhoneNumber
    public var purpose: Purpose
    public var body: String

    public init(to: PhoneNumber, purpose: Purpose, body: String) {
        self.to = to
        self.purpose = purpose
        self.body = body
    }

    public var description: String { "SMSMessage(purpose: \(purpose.rawValue))" }
}

/// Delivers messages to the SMS provider. One instance per worker thread.
public protocol SMSSender: AnyObject {
    /// Returns once the provider has accepted the message into its queue; throws otherwise.
    /// Must not put the message body, the number or a credential in the error.
    func send(_ message: SMSMessage) throws(SMSError)

    /// True when `send` completes locally and at once (no network, nothing that can hang): the
    /// send may then run inside the database transaction that records it.
    var deliversImmediately: Bool { get }
}

extension SMSSender {
    public var deliversImmediately: Bool { false }
}

/// Why a message did not reach the provider's queue.
public enum SMSError: Error, Sendable, Equatable {
    /// The provider says this recipient cannot get SMS (invalid, landline, opted out, blocked country).
    case recipientCannotReceive(providerCode: Int)
    /// The provider is down, slow, overloaded, or answered something we cannot read; try later.
    case unavailable(reason: String, retryAfterSeconds: Int)
    /// The provider rejected our credentials (Twilio 20003): an operator must act.
    case credentialsRejected(retryAfterSeconds: Int)
    /// The provider refused our request for another reason of ours (a bad Messaging Service SID,
    /// say): an operator must act.
    case misconfigured(reason: String, retryAfterSeconds: Int)

    /// A short label for logs and metrics.
    public var logReason: String {
        switch self {
        case .recipientCannotReceive(let code): "recipient_cannot_receive_\(code)"
        case .unavailable(let reason, _): reason
        case .credentialsRejected: "provider_credentials_rejected"
        case .misconfigured(let reason, _): reason
        }
    }
}
