/// Why a step-up token was refused (log only; the client sees one answer).
public enum StepUpRefusal: String, Sendable, CaseIterable {
    case noUser = "no_user"
    case noToken = "no_token"
    case malformedToken = "malformed_token"
    case unknown
    case expired
    case alreadyUsed = "already_used"
    case otherUser = "other_user"
    /// A token of another action than the location asks for: refused, and not spent.
    case otherAction = "other_action"
    /// The location asks for an action the operator did not list (a configuration error).
    case unknownAction = "unknown_action"
    /// A principal that is not a listed delegate named a subject (answered 403).
    case notDelegate = "not_delegate"
    /// Consumed by a concurrent request between the conditional write and the read that looked
    /// for the reason.
    case raced
}

/// The step-up token rules, as pure functions of the stored token and the time: how long a
/// token lives, and why one does not admit a request.
public struct StepUpTokenPolicy: Sendable {
    public let rules: RulesConfiguration

    public init(rules: RulesConfiguration) {
        self.rules = rules
    }

    /// A token minted for `userID` and `action` now.
    public func mint(for userID: String, action: String? = nil, at now: UnixTime, boot: BootClockReading?) -> StepUpTokenRecord {
        StepUpTokenRecord(userID: userID, action: action, createdAt: now, expiresAt: now + rules.stepUpTokenTTLSeconds, createdBoot: boot)
    }

    /// `refusal`'s lifetime checks as bounds a store applies in the one conditional write that
    /// spends a token (only the database can make that write exclusive across processes).
    public func admissionBounds(at now: UnixTime, boot: BootClockReading?) -> StepUpTokenBounds {
        StepUpTokenBounds(
            now: now, bootID: boot?.bootID, bootCreatedBy: boot?.milliseconds ?? 0,
            bootCreatedAfter: (boot?.milliseconds ?? 0) - rules.stepUpTokenTTLSeconds * 1000
        )
    }

    /// Why `record` (as stored before this request) does not admit `userID` for `action` now; nil
    /// when it admits. Checked in this order: the token exists, belongs to the user, is for exactly
    /// this action (none for none), is unused, and is within its lifetime on the wall clock and,
    /// within one boot, on the boot-time clock.
    public func refusal(
        of record: StepUpTokenRecord?, userID: String, action: String? = nil, at now: UnixTime, boot: BootClockReading?
    ) -> StepUpRefusal? {
        guard let record else { return .unknown }
        if record.userID != userID { return .otherUser }
        if record.action != action { return .otherAction }
        if record.usedAt != nil { return .alreadyUsed }
        // A clock that went back before the token was minted proves nothing about its age.
        if now >= record.expiresAt || now < record.createdAt { return .expired }
        if let boot, let created = record.createdBoot, let elapsed = boot.milliseconds(since: created),
           elapsed < 0 || elapsed >= rules.stepUpTokenTTLSeconds * 1000 {
            return .expired
        }
        return nil
    }
}

/// The lifetime a token must be within to be spent now, from `StepUpTokenPolicy.admissionBounds`:
/// minted at or before `now` and expiring after it; and when the token and this reading share a
/// boot (`bootID`), minted on the boot-time clock after `bootCreatedAfter` and by `bootCreatedBy`.
public struct StepUpTokenBounds: Sendable, Equatable {
    public var now: UnixTime
    public var bootID: String?
    public var bootCreatedBy: Int64
    public var bootCreatedAfter: Int64

    /// The bounds as a predicate on a token, for stores that hold tokens in memory and for tests.
    public func contain(_ token: StepUpTokenRecord) -> Bool {
        guard token.createdAt <= now, token.expiresAt > now else { return false }
        guard let bootID, let created = token.createdBoot, created.bootID == bootID else { return true }
        return created.milliseconds > bootCreatedAfter && created.milliseconds <= bootCreatedBy
    }
}
