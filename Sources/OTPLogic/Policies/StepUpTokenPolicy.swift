/// Why a step-up token was refused (log only; the client sees one answer).
public enum StepUpRefusal: String, Sendable, CaseIterable {
    case noUser = "no_user"
    case noToken = "no_token"
    case malformedToken = "malformed_token"
    case unknown
    case expired
    case alreadyUsed = "already_used"
    case otherUser = "other_user"
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

    /// A token minted for `userID` now.
    public func mint(for userID: String, at now: UnixTime, boot: BootClockReading?) -> StepUpTokenRecord {
        StepUpTokenRecord(userID: userID, createdAt: now, expiresAt: now + rules.stepUpTokenTTLSeconds, createdBoot: boot)
    }

    /// Why `record` (as stored before this request) does not admit `userID` now; nil when it
    /// admits. Checked in this order: the token exists, belongs to the user, is unused, and is
    /// within its lifetime on the wall clock and, within one boot, on the boot-time clock.
    public func refusal(of record: StepUpTokenRecord?, userID: String, at now: UnixTime, boot: BootClockReading?) -> StepUpRefusal? {
        guard let record else { return .unknown }
        if record.userID != userID { return .otherUser }
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
