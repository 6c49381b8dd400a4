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
}

extension SQLiteOTPStore {
    public func statistics(at now: UnixTime, rules: RulesConfiguration) throws(StoreError) -> StoreStatistics {
        var statistics = StoreStatistics()
        for purpose in Purpose.allCases {
            let counts = try connection.statement(
                """
                SELECT
                  coalesce(sum(code_hash IS NOT NULL AND expires_at > ?1 AND verified_at IS NULL AND attempts < ?3), 0),
                  coalesce(sum(code_hash IS NOT NULL AND expires_at > ?1 AND attempts >= ?3), 0),
                  coalesce(sum(code_hash IS NOT NULL AND expires_at > ?1 AND verified_at IS NOT NULL), 0),
                  coalesce(sum(pending_code_hash IS NOT NULL AND pending_since + ?4 > ?1), 0)
                FROM otp_codes WHERE purpose = ?2
                """
            ).first([.integer(now), .text(purpose.rawValue), .integer(Int64(rules.maxAttempts)), .integer(rules.sendInFlightSeconds)]) { row in
                StoreStatistics.CodeCounts(
                    active: Int(row.integer(0)), lockedOut: Int(row.integer(1)), used: Int(row.integer(2)), pending: Int(row.integer(3))
                )
            }
            statistics.codes[purpose] = counts ?? .init()
        }
        let tokens = try connection.statement(
            "SELECT count(*), coalesce(sum(used_at IS NOT NULL), 0) FROM step_up_tokens WHERE expires_at > ?1"
        ).first([.integer(now)]) { row in (Int(row.integer(0)), Int(row.integer(1))) }
        statistics.liveTokens = tokens?.0 ?? 0
        statistics.usedLiveTokens = tokens?.1 ?? 0
        statistics.sendsLastHour = Int(try connection.statement(
            "SELECT count(*) FROM otp_codes WHERE last_sent_at > ?1 - 3600"
        ).first([.integer(now)]) { row in row.integer(0) } ?? 0)
        return statistics
    }
}
