/// Counts for `otp-fcgi stats`: never a phone, a hash, a code or a token.
public struct StoreStatistics: Sendable, Equatable {
    public struct CodeCounts: Sendable, Equatable {
        /// A live code that can still be verified.
        public var active = 0
        /// Live codes whose attempts are used up (locked out until they expire).
        public var lockedOut = 0
        /// Live codes already used.
        public var used = 0
        /// Sends waiting on the SMS provider.
        public var pending = 0

        public init(active: Int = 0, lockedOut: Int = 0, used: Int = 0, pending: Int = 0) {
            self.active = active
            self.lockedOut = lockedOut
            self.used = used
            self.pending = pending
        }
    }

    public var codes: [Purpose: CodeCounts] = [:]
    public var liveTokens = 0
    public var usedLiveTokens = 0
    /// SMS delivered in the last hour (by `last_sent_at`), all purposes.
    public var sendsLastHour = 0

    public init() {}

    /// Counts every stored row by `RetentionPolicy`'s definitions.
    public static func collect(from store: any OTPStore, at now: UnixTime, rules: RulesConfiguration) throws(StoreError) -> StoreStatistics {
        let retention = RetentionPolicy(rules: rules)
        var statistics = StoreStatistics()
        for purpose in Purpose.allCases { statistics.codes[purpose] = CodeCounts() }
        try store.forEachRecord(
            codes: { record in
                var counts = statistics.codes[record.purpose] ?? CodeCounts()
                switch retention.codeState(of: record, at: now) {
                case .active: counts.active += 1
                case .lockedOut: counts.lockedOut += 1
                case .used: counts.used += 1
                case .none: break
                }
                if retention.isSending(record, at: now) { counts.pending += 1 }
                statistics.codes[record.purpose] = counts
                if let sent = record.lastSentAt, sent > now - 3600 { statistics.sendsLastHour += 1 }
            },
            tokens: { token in
                guard !retention.isPurgeable(token, at: now) else { return }
                statistics.liveTokens += 1
                if token.usedAt != nil { statistics.usedLiveTokens += 1 }
            }
        )
        return statistics
    }
}
