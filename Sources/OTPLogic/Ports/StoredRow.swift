/// One row as a store read it, by column index. Every store maps rows to records through the
/// initialisers below, so the meaning of a column is written once, whatever the database.
public protocol StoredRow {
    func text(_ column: Int32) -> String?
    func optionalInteger(_ column: Int32) -> Int64?
    /// A blob/bytea column; empty for NULL.
    func bytes(_ column: Int32) -> [UInt8]
}

extension StoredRow {
    public func integer(_ column: Int32) -> Int64 { optionalInteger(column) ?? 0 }
}

/// A value a store binds to a statement parameter.
public enum StoredValue: Sendable, Equatable {
    case integer(Int64)
    case text(String)
    case bytes([UInt8])
    case null

    static func optional(_ value: Int64?) -> StoredValue { value.map { .integer($0) } ?? .null }
    static func optional(_ value: String?) -> StoredValue { value.map { .text($0) } ?? .null }
}

extension CodeRecord {
    /// A row whose columns are, in this order: `code_hash, issued_at, expires_at, attempts,
    /// send_count, send_window_start, last_sent_at, verified_at, pending_code_hash, pending_since,
    /// issued_boot_id, issued_boot_ms, action, pending_action, country`.
    public init(storedRow row: some StoredRow, phoneHash: String, purpose: Purpose, owner: String) {
        self.init(
            phoneHash: phoneHash, purpose: purpose, owner: owner, action: row.text(12), country: row.text(14),
            codeHash: row.text(0), issuedAt: row.optionalInteger(1),
            issuedBoot: row.text(10).map { BootClockReading(bootID: $0, milliseconds: row.integer(11)) },
            expiresAt: row.integer(2),
            attempts: Int(row.integer(3)), sendCount: Int(row.integer(4)),
            sendWindowStart: row.optionalInteger(5), lastSentAt: row.optionalInteger(6),
            verifiedAt: row.optionalInteger(7), pendingCodeHash: row.text(8), pendingSince: row.optionalInteger(9),
            pendingAction: row.text(13)
        )
    }

    /// The values of a whole row, in the order `phone_hash, purpose, code_hash, issued_at,
    /// expires_at, attempts, send_count, send_window_start, last_sent_at, verified_at,
    /// pending_code_hash, pending_since, issued_boot_id, issued_boot_ms, owner, action,
    /// pending_action, country`.
    public var storedValues: [StoredValue] {
        [
            .text(phoneHash), .text(purpose.rawValue), .optional(codeHash), .optional(issuedAt),
            .integer(expiresAt), .integer(Int64(attempts)), .integer(Int64(sendCount)),
            .optional(sendWindowStart), .optional(lastSentAt), .optional(verifiedAt),
            .optional(pendingCodeHash), .optional(pendingSince),
            .optional(issuedBoot?.bootID), .optional(issuedBoot?.milliseconds),
            .text(owner), .optional(action), .optional(pendingAction), .optional(country),
        ]
    }

    /// What a verification changes, in the order `phone_hash, purpose, attempts, verified_at, owner`.
    public var storedVerificationValues: [StoredValue] {
        [.text(phoneHash), .text(purpose.rawValue), .integer(Int64(attempts)), .optional(verifiedAt), .text(owner)]
    }
}

extension StepUpTokenRecord {
    /// A row of `user_id, created_at, expires_at, created_boot_id, created_boot_ms, used_at, action`.
    public init(storedRow row: some StoredRow) {
        self.init(
            userID: row.text(0) ?? "", action: row.text(6), createdAt: row.integer(1), expiresAt: row.integer(2),
            createdBoot: row.text(3).map { BootClockReading(bootID: $0, milliseconds: row.integer(4)) },
            usedAt: row.optionalInteger(5)
        )
    }

    /// The values of a new row, in the order `token_hash, user_id, created_at, expires_at,
    /// created_boot_id, created_boot_ms, action`.
    public func storedValues(hash: String) -> [StoredValue] {
        [
            .text(hash), .text(userID), .integer(createdAt), .integer(expiresAt),
            .optional(createdBoot?.bootID), .optional(createdBoot?.milliseconds), .optional(action),
        ]
    }
}

extension StepUpTokenBounds {
    /// The parameters of the one conditional write that spends a token, in the order `now,
    /// token_hash, user_id, action, boot_id, boot_created_after, boot_created_by`. The statement
    /// marks the token used where `user_id` and `action` match (a NULL action matches only NULL),
    /// `used_at IS NULL AND created_at <= now AND expires_at > now`, and, when `boot_id` is set and
    /// equals `created_boot_id`, `boot_created_after < created_boot_ms <= boot_created_by`:
    /// `contain(_:)` as SQL.
    public func storedValues(hash: String, userID: String, action: String?) -> [StoredValue] {
        [.integer(now), .text(hash), .text(userID), .optional(action), .optional(bootID), .integer(bootCreatedAfter), .integer(bootCreatedBy)]
    }
}

extension FirewallRecord {
    /// A row of `scope, key, window, paused_until, alerted_until, tripwire`; nil for a row no
    /// version of otp-fcgi wrote.
    public init?(storedRow row: some StoredRow) {
        guard let scope = row.text(0).flatMap(BudgetScope.init(rawValue:)), let key = row.text(1),
              let window = BudgetWindow(encoded: row.bytes(2)), let tripwire = Tripwire(encoded: row.bytes(5)) else { return nil }
        self.init(
            key: BudgetKey(scope, key), window: window, pausedUntil: row.optionalInteger(3), alertedUntil: row.optionalInteger(4), tripwire: tripwire
        )
    }

    /// The values of a whole row, in the order `scope, key, window, paused_until, alerted_until, tripwire`.
    public var storedValues: [StoredValue] {
        [.text(key.scope.rawValue), .text(key.key), .bytes(window.encoded), .optional(pausedUntil), .optional(alertedUntil), .bytes(tripwire.encoded)]
    }
}

extension PurgeCutoffs {
    /// The bounds in the order `code_expired_by, window_opened_by, last_sent_by, pending_since_by`
    /// for the code rows (`RetentionPolicy.isPurgeable` as SQL: each time at or before its bound,
    /// a missing time counts as before); the token bound is `tokenExpiredBy` alone.
    public var storedCodeValues: [StoredValue] {
        [.integer(codeExpiredBy), .integer(windowOpenedBy), .integer(lastSentBy), .integer(pendingSinceBy)]
    }
}

extension SMSDeliveryRecord {
    /// A row of `provider, message_id, purpose, sent_at, status, status_at, error_code, reference`;
    /// nil for a row no version of otp-fcgi wrote.
    public init?(storedRow row: some StoredRow) {
        guard let provider = row.text(0), let messageID = row.text(1), let purpose = row.text(2).flatMap(Purpose.init(rawValue:)),
              let status = row.text(4).flatMap(DeliveryStatus.init(rawValue:)) else { return nil }
        self.init(
            provider: provider, messageID: messageID, purpose: purpose, sentAt: row.integer(3), status: status,
            statusAt: row.optionalInteger(5), errorCode: row.text(6), reference: row.text(7).flatMap { DeliveryReference($0) }
        )
    }

    /// The values of a whole row, in the order `provider, message_id, purpose, sent_at, status,
    /// status_at, error_code, reference`.
    public var storedValues: [StoredValue] {
        [
            .text(provider), .text(messageID), .text(purpose.rawValue), .integer(sentAt), .text(status.rawValue), .optional(statusAt),
            .optional(errorCode), .optional(reference?.text),
        ]
    }

    /// What a status callback changes, in the order `provider, message_id, status, status_at,
    /// error_code`, then the reference that finds the row when it has one.
    public var storedStatusValues: [StoredValue] {
        let values: [StoredValue] = [.text(provider), .text(messageID), .text(status.rawValue), .optional(statusAt), .optional(errorCode)]
        return reference.map { values + [.text($0.text)] } ?? values
    }
}
