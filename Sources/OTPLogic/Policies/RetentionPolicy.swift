/// What a stored row still means at a given time: the one definition behind the purge (what may
/// be deleted) and `otp-fcgi stats` (what is active, locked out, used or sending).
public struct RetentionPolicy: Sendable {
    public let rules: RulesConfiguration

    public init(rules: RulesConfiguration) {
        self.rules = rules
    }

    /// The state of a code record's live code.
    public enum CodeState: Sendable, Equatable {
        /// No code, or its lifetime is over.
        case none
        /// Can still be verified.
        case active
        /// Its attempts are used up: locked out until it expires.
        case lockedOut
        /// Already verified.
        case used
    }

    public func codeState(of record: CodeRecord, at now: UnixTime) -> CodeState {
        guard record.codeHash != nil, now < record.expiresAt else { return .none }
        if record.attempts >= rules.maxAttempts { return .lockedOut }
        if record.verifiedAt != nil { return .used }
        return .active
    }

    /// True while a send to the provider may still be under way.
    public func isSending(_ record: CodeRecord, at now: UnixTime) -> Bool {
        guard let since = record.pendingSince else { return false }
        return now < since + rules.sendInFlightSeconds
    }

    /// True once nothing of the record matters: its code expired, and its hourly window, its
    /// cooldown and any send in flight are over. Deleting it then changes no answer.
    public func isPurgeable(_ record: CodeRecord, at now: UnixTime) -> Bool {
        let cutoffs = purgeCutoffs(at: now)
        return record.expiresAt <= cutoffs.codeExpiredBy
            && (record.sendWindowStart ?? cutoffs.windowOpenedBy) <= cutoffs.windowOpenedBy
            && (record.lastSentAt ?? cutoffs.lastSentBy) <= cutoffs.lastSentBy
            && (record.pendingSince ?? cutoffs.pendingSinceBy) <= cutoffs.pendingSinceBy
    }

    /// True once a token can admit nothing any more (expired on the wall clock).
    public func isPurgeable(_ token: StepUpTokenRecord, at now: UnixTime) -> Bool {
        token.expiresAt <= purgeCutoffs(at: now).tokenExpiredBy
    }

    /// How long a message's delivery status is kept (for `stats` and the operator's questions).
    public static let deliveryRetentionSeconds: Int64 = 7 * 86_400

    /// `isPurgeable` as bounds a store applies in one statement: a row goes when each of its
    /// times is at or before its bound (a missing time counts as before).
    public func purgeCutoffs(at now: UnixTime) -> PurgeCutoffs {
        PurgeCutoffs(
            codeExpiredBy: now, windowOpenedBy: now - rules.sendWindowSeconds, lastSentBy: now - rules.resendCooldownSeconds,
            pendingSinceBy: now - rules.sendInFlightSeconds, tokenExpiredBy: now,
            deliverySentBy: now - RetentionPolicy.deliveryRetentionSeconds, firewallEmptyAt: now
        )
    }
}

/// The bounds of one purge, from `RetentionPolicy.purgeCutoffs(at:)`.
public struct PurgeCutoffs: Sendable, Equatable {
    public var codeExpiredBy: UnixTime
    public var windowOpenedBy: UnixTime
    public var lastSentBy: UnixTime
    public var pendingSinceBy: UnixTime
    public var tokenExpiredBy: UnixTime
    /// Delivery statuses of messages sent at or before then.
    public var deliverySentBy: UnixTime
    /// SMS firewall records in which nothing counts any more then (`FirewallRecord.isEmpty`).
    public var firewallEmptyAt: UnixTime
}
