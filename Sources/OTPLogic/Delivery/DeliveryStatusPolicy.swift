/// A status callback for one message, as the delivery-status endpoint read it.
public struct DeliveryUpdate: Sendable, Equatable {
    public var provider: String
    public var messageID: String
    public var status: DeliveryStatus
    public var errorCode: String?
    /// The reference we sent the message with, when the callback carries one.
    public var reference: DeliveryReference?

    public init(provider: String, messageID: String, status: DeliveryStatus, errorCode: String? = nil, reference: DeliveryReference? = nil) {
        self.provider = provider
        self.messageID = messageID
        self.status = status
        self.errorCode = errorCode
        self.reference = reference
    }
}

/// What a status callback does to the stored message. Callbacks arrive late, twice and out of
/// order (Twilio sends `sent` and `delivered` within a second), so in this order:
/// 1. a message that already has a final status keeps it;
/// 2. the same status again changes nothing;
/// 3. anything else is stored with its time; a delivery has a latency (accepted → delivered).
public enum DeliveryStatusPolicy {
    public struct Change: Sendable, Equatable {
        public var record: SMSDeliveryRecord
        /// Seconds from acceptance to delivery, for a delivery.
        public var latencySeconds: Int64?
    }

    /// The record as it becomes, or nil when the callback changes nothing.
    public static func apply(_ update: DeliveryUpdate, to stored: SMSDeliveryRecord, at now: UnixTime) -> Change? {
        guard !stored.status.isFinal, update.status != stored.status else { return nil }
        var record = stored
        record.status = update.status
        record.statusAt = now
        record.errorCode = update.errorCode.flatMap { $0.isEmpty || $0 == "0" ? nil : $0 }
        let latency = update.status == .delivered ? max(0, now - stored.sentAt) : nil
        return Change(record: record, latencySeconds: latency)
    }
}
