/// Why a well-formed send was answered "sent" without an SMS. Only the log sees the difference.
public enum SendSuppression: String, Sendable {
    case lockedOut = "locked_out"
    case sendInFlight = "send_in_flight"
    case cooldown
    case hourlyCap = "hourly_cap"
}

/// The send rules, as pure functions of the stored record and the time.
///
/// A send is two steps so that no database lock is held while the provider answers:
/// `reserve` records the new code as pending, and only `confirm` (the provider accepted the
/// message) makes it the live code, starts the cooldown and counts toward the hourly cap.
/// `release` drops a reservation whose SMS did not reach the provider.
public struct SendPolicy: Sendable {
    public let rules: RulesConfiguration

    public init(rules: RulesConfiguration) {
        self.rules = rules
    }

    /// Checked in this order: lockout, a send already in flight, cooldown, hourly cap. A clock that
    /// went backwards keeps each of them in force rather than lifting it.
    public func suppression(of stored: CodeRecord?, at now: UnixTime) -> SendSuppression? {
        guard let stored else { return nil }
        let record = stored.current(at: now)
        if record.attempts >= rules.maxAttempts && now < record.expiresAt {
            return .lockedOut
        }
        if let since = record.pendingSince, now < since + rules.sendInFlightSeconds {
            return .sendInFlight
        }
        if let last = record.lastSentAt, now < last + rules.resendCooldownSeconds {
            return .cooldown
        }
        if let start = record.sendWindowStart, now < start + rules.sendWindowSeconds,
           record.sendCount >= rules.maxSendsPerHour {
            return .hourlyCap
        }
        return nil
    }

    /// The record with `pendingHash` (a code for `action`) reserved; the live code, if any, is untouched.
    public func reserve(
        _ stored: CodeRecord?, phoneHash: String, purpose: Purpose, owner: String = "", action: String? = nil, country: String? = nil,
        pendingHash: String, at now: UnixTime
    ) -> CodeRecord {
        var record = stored ?? CodeRecord(phoneHash: phoneHash, purpose: purpose, owner: owner)
        record.country = country
        record.pendingCodeHash = pendingHash
        record.pendingSince = now
        record.pendingAction = action
        return record
    }

    /// The record once the provider accepted the message; nil if the reservation is no longer ours.
    public func confirm(_ stored: CodeRecord?, pendingHash: String, at now: UnixTime, boot: BootClockReading? = nil) -> CodeRecord? {
        guard let stored, stored.pendingCodeHash == pendingHash else { return nil }
        // NIST SP 800-63B-4 §3.1.3.2: a new code does not reset the failure count.
        var record = stored.current(at: now)
        record.codeHash = pendingHash
        record.action = stored.pendingAction
        record.issuedAt = now
        record.issuedBoot = boot
        record.expiresAt = now + rules.codeTTLSeconds
        record.verifiedAt = nil
        record.lastSentAt = now
        if let start = record.sendWindowStart, now < start + rules.sendWindowSeconds {
            record.sendCount += 1
        } else {
            record.sendWindowStart = now
            record.sendCount = 1
        }
        record.pendingCodeHash = nil
        record.pendingSince = nil
        record.pendingAction = nil
        return record
    }

    /// The record after a send whose outcome is unknown (a timeout or reset after the request
    /// left): the provider may have sent it, so it counts toward the cooldown and the hourly cap
    /// like a delivered one; but its code never verifies, and an earlier code stays as it was.
    /// Nil if the reservation is no longer ours.
    public func confirmUnknown(_ stored: CodeRecord?, pendingHash: String, at now: UnixTime) -> CodeRecord? {
        guard let stored, stored.pendingCodeHash == pendingHash else { return nil }
        var record = stored.current(at: now)
        record.lastSentAt = now
        if let start = record.sendWindowStart, now < start + rules.sendWindowSeconds {
            record.sendCount += 1
        } else {
            record.sendWindowStart = now
            record.sendCount = 1
        }
        record.pendingCodeHash = nil
        record.pendingSince = nil
        record.pendingAction = nil
        return record
    }

    /// The record after the provider did not take the message; nil if the reservation is no longer ours.
    public func release(_ stored: CodeRecord?, pendingHash: String) -> CodeRecord? {
        guard var record = stored, record.pendingCodeHash == pendingHash else { return nil }
        record.pendingCodeHash = nil
        record.pendingSince = nil
        record.pendingAction = nil
        return record
    }
}
