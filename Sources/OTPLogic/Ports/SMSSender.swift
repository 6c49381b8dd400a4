/// One text message to deliver. `description` hides the number and the body (it holds the code).
public struct SMSMessage: Sendable, CustomStringConvertible {
    public var to: PhoneNumber
    public var purpose: Purpose
    public var body: String
    /// Our key for the message, for the providers that return one with its status callbacks.
    public var reference: DeliveryReference?

    public init(to: PhoneNumber, purpose: Purpose, body: String, reference: DeliveryReference? = nil) {
        self.to = to
        self.purpose = purpose
        self.body = body
        self.reference = reference
    }

    public var description: String { "SMSMessage(purpose: \(purpose.rawValue))" }
}

/// What a provider gave back for a message it accepted: which provider, and its id for the
/// message (Twilio's `sid`, SNS's `MessageId`, Vonage's `message-id`), the key its delivery
/// status callbacks arrive with. Never the number or the body.
public struct SMSReceipt: Sendable, Equatable, Hashable {
    /// The provider's name as `OTP_SMS_PROVIDER` spells it (`twilio`, `sns`, `vonage`, `file`).
    public var provider: String
    public var messageID: String

    public init(provider: String, messageID: String) {
        self.provider = provider
        self.messageID = messageID
    }
}

/// Delivers messages to the SMS provider. One instance per worker thread.
public protocol SMSSender: AnyObject {
    /// Returns the provider's receipt once it has accepted the message into its queue; throws
    /// otherwise. Must not put the message body, the number or a credential in the error.
    func send(_ message: SMSMessage) throws(SMSError) -> SMSReceipt

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
    /// The provider is down, slow, overloaded, or answered something we cannot read, and certainly
    /// did not take the message; try later.
    case unavailable(SMSUnavailableReason, retryAfterSeconds: Int)
    /// The request left and no answer came (a timeout, a reset): the provider may have taken the
    /// message. It counts as sent for every budget, cooldown and cap; its code never verifies.
    case outcomeUnknown(SMSUnavailableReason, retryAfterSeconds: Int)
    /// The provider rejected our credentials (Twilio 20003): an operator must act.
    case credentialsRejected(retryAfterSeconds: Int)
    /// The provider refused our request for another reason of ours (a bad Messaging Service SID,
    /// say), with the provider's error code: an operator must act.
    case misconfigured(providerCode: Int, retryAfterSeconds: Int)

    /// A short label for logs.
    public var logReason: String {
        switch self {
        case .recipientCannotReceive(let code): "recipient_cannot_receive_\(code)"
        case .unavailable(let reason, _): reason.label
        case .outcomeUnknown(let reason, _): reason.label + "_after_sending"
        case .credentialsRejected: "provider_credentials_rejected"
        case .misconfigured(let code, _): "provider_rejected_request_\(code)"
        }
    }

    /// The class reported in metrics.
    public var failureClass: SMSFailureClass {
        switch self {
        case .recipientCannotReceive: .recipientCannotReceive
        case .unavailable(.rateLimited, _): .rateLimited
        case .unavailable(.inFlightLimit, _): .inFlightLimit
        case .unavailable: .unavailable
        case .outcomeUnknown: .outcomeUnknown
        case .credentialsRejected: .credentialsRejected
        case .misconfigured: .requestRejected
        }
    }
}

/// Why a provider was unavailable: what the log line says.
public enum SMSUnavailableReason: Sendable, Equatable {
    /// DNS failure or connection refused: the request certainly did not reach the provider.
    case unreachable
    case timeout
    case rateLimited
    case unparseableAnswer
    /// An HTTP status the provider answered without an error we know.
    case status(Int)
    case tlsFailed(curlCode: Int)
    /// Reset, empty reply, read error: the request may have been processed.
    case transport(curlCode: Int)
    /// Every in-flight slot of this process is taken (`OTP_SMS_MAX_INFLIGHT`).
    case inFlightLimit
    /// The file sink could not open or write its file.
    case sinkOpenFailed(errno: Int32)
    case sinkWriteFailed(errno: Int32)

    public var label: String {
        switch self {
        case .unreachable: "provider_unreachable"
        case .timeout: "provider_timeout"
        case .rateLimited: "provider_rate_limited"
        case .unparseableAnswer: "provider_unparseable_answer"
        case .status(let status): "provider_status_\(status)"
        case .tlsFailed(let code): "provider_tls_failed_curl_\(code)"
        case .transport(let code): "provider_transport_curl_\(code)"
        case .inFlightLimit: "sms_in_flight_limit"
        case .sinkOpenFailed(let number): "sms_file_open_failed_errno_\(number)"
        case .sinkWriteFailed(let number): "sms_file_write_failed_errno_\(number)"
        }
    }
}

/// Provider failures as `otp_sms_provider_errors_total{class}` counts them.
public enum SMSFailureClass: String, Sendable, CaseIterable {
    case unavailable
    case rateLimited = "rate_limited"
    case inFlightLimit = "in_flight_limit"
    case credentialsRejected = "credentials_rejected"
    case requestRejected = "request_rejected"
    case recipientCannotReceive = "recipient_cannot_receive"
    case outcomeUnknown = "outcome_unknown"
}

extension SMSError {
    /// Twilio's SMS pumping protection (Fraud Guard 30450, SMS Pumping Protection 30453): the
    /// number is being pumped. A "cannot receive" answer, and a signal for the country's tripwire.
    public static let pumpingCodes: Set<Int> = [30450, 30453]

    public var isPumpingSignal: Bool {
        if case .recipientCannotReceive(let code) = self { return SMSError.pumpingCodes.contains(code) }
        return false
    }
}
