/// Why a verification failed. The client always gets the same answer; only the log sees this.
public enum VerifyFailure: String, Sendable {
    case noCode = "no_code"
    /// The live code approves another step-up action than the one asked for (its SMS said so).
    case otherAction = "other_action"
    case expired
    case lockedOut = "locked_out"
    case alreadyUsed = "already_used"
    case wrongCode = "wrong_code"
}

/// The verification rules, as a pure function of the stored record, the guess and the time.
public struct VerifyPolicy: Sendable {
    public let rules: RulesConfiguration

    public init(rules: RulesConfiguration) {
        self.rules = rules
    }

    public struct Evaluation: Sendable, Equatable {
        /// Nil when the code verified.
        public var failure: VerifyFailure?
        /// The record to store, or nil when nothing changes.
        public var updated: CodeRecord?
        /// True when this guess used up the last attempt.
        public var lockedOutNow: Bool = false
    }

    /// Checks in this order: a code exists, it approves the action asked for, it has not expired,
    /// the attempts are not used up, it was not used before, and only then compares the hash, in
    /// constant time. Only that comparison counts as an attempt, so N guesses in a row are never
    /// more than `maxAttempts` evaluations.
    public func evaluate(
        _ stored: CodeRecord?, candidateHash: String, action: String? = nil, at now: UnixTime, boot: BootClockReading? = nil
    ) -> Evaluation {
        guard let stored, stored.codeHash != nil, let issuedAt = stored.issuedAt else {
            return Evaluation(failure: .noCode)
        }
        if stored.action != action {
            return Evaluation(failure: .otherAction)
        }
        // A clock that went back before the code was issued proves nothing about its age.
        if now >= stored.expiresAt || now < issuedAt {
            return Evaluation(failure: .expired)
        }
        if let boot, let issuedBoot = stored.issuedBoot, let elapsed = boot.milliseconds(since: issuedBoot),
           elapsed < 0 || elapsed >= rules.codeTTLSeconds * 1000 {
            return Evaluation(failure: .expired)
        }
        if stored.attempts >= rules.maxAttempts {
            return Evaluation(failure: .lockedOut)
        }
        if stored.verifiedAt != nil {
            return Evaluation(failure: .alreadyUsed)
        }
        var record = stored
        guard let codeHash = stored.codeHash, SecretHasher.constantTimeEquals(codeHash, candidateHash) else {
            record.attempts += 1
            return Evaluation(failure: .wrongCode, updated: record, lockedOutNow: record.attempts == rules.maxAttempts)
        }
        record.verifiedAt = now
        record.attempts = 0
        return Evaluation(failure: nil, updated: record)
    }
}
