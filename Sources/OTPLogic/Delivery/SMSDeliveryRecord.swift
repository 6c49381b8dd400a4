/// One message a provider accepted, as stored for its delivery status: which provider, its id
/// there, the purpose and times. Never the phone or the body.
public struct SMSDeliveryRecord: Sendable, Equatable {
    public var provider: String
    public var messageID: String
    public var purpose: Purpose
    /// When the provider accepted it.
    public var sentAt: UnixTime
    public var status: DeliveryStatus
    /// When the last status arrived; nil while none has.
    public var statusAt: UnixTime?
    /// The provider's error code with a failed or undelivered status (Twilio 30003, Vonage err-code).
    public var errorCode: String?
    /// Our key for the message, which its callbacks carry; nil for a message stored before there
    /// were references (found by its provider's id instead).
    public var reference: DeliveryReference?

    public init(
        provider: String, messageID: String, purpose: Purpose, sentAt: UnixTime, status: DeliveryStatus = .sent,
        statusAt: UnixTime? = nil, errorCode: String? = nil, reference: DeliveryReference? = nil
    ) {
        self.provider = provider
        self.messageID = messageID
        self.purpose = purpose
        self.sentAt = sentAt
        self.status = status
        self.statusAt = statusAt
        self.errorCode = errorCode
        self.reference = reference
    }
}

/// Where a message is, in the providers' common terms (`otp_sms_delivery_total{status}`).
public enum DeliveryStatus: String, Sendable, CaseIterable {
    /// Accepted, queued or on its way to the carrier.
    case sent
    case delivered
    /// The carrier could not deliver it (phone off for too long, unknown, blocked; expired).
    case undelivered
    /// The provider could not send it (refused, filtered, canceled).
    case failed
    /// The provider does not know (Vonage's `unknown`).
    case unknown

    /// A status no later callback changes.
    public var isFinal: Bool { self == .delivered || self == .undelivered || self == .failed }

    /// Twilio's `MessageStatus` (queued, sending, sent, delivered, undelivered, failed, read, …).
    public init?(twilio status: String) {
        switch status {
        case "accepted", "scheduled", "queued", "sending", "sent": self = .sent
        case "delivered", "read": self = .delivered
        case "undelivered": self = .undelivered
        case "failed", "canceled": self = .failed
        default: return nil
        }
    }

    /// Vonage's delivery receipt `status` (delivered, expired, failed, rejected, accepted, buffered, unknown).
    public init?(vonage status: String) {
        switch status {
        case "accepted", "buffered": self = .sent
        case "delivered": self = .delivered
        case "expired": self = .undelivered
        case "failed", "rejected": self = .failed
        case "unknown": self = .unknown
        default: return nil
        }
    }
}
