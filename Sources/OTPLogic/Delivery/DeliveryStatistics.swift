/// The delivery rate per provider over a time span, for `otp-fcgi stats`.
public struct DeliveryStatistics: Sendable, Equatable {
    public struct Counts: Sendable, Equatable {
        /// Messages the provider accepted in the span.
        public var accepted = 0
        public var delivered = 0
        /// Undelivered or failed.
        public var notDelivered = 0
        /// No final status yet.
        public var pending = 0

        public init() {}

        /// Delivered per accepted message with a final status, in percent; nil with none.
        public var deliveryRatePercent: Double? {
            let settled = delivered + notDelivered
            return settled == 0 ? nil : Double(delivered) * 100 / Double(settled)
        }
    }

    /// Counts by provider name.
    public var providers: [String: Counts] = [:]

    public init(_ records: [SMSDeliveryRecord]) {
        for record in records {
            var counts = providers[record.provider] ?? Counts()
            counts.accepted += 1
            switch record.status {
            case .delivered: counts.delivered += 1
            case .undelivered, .failed: counts.notDelivered += 1
            case .sent, .unknown: counts.pending += 1
            }
            providers[record.provider] = counts
        }
    }
}
