/// `OTPStore` on one SQLite connection. One instance per worker thread.
public final class SQLiteOTPStore: OTPStore {
    let connection: SQLiteConnection
    private let writerLock: WriterLock

    /// The schema versions before and after opening (equal when nothing was migrated).
    public let migration: (from: Int, to: Int)

    /// Opens the database and applies pending migrations.
    public init(configuration: DatabaseConfiguration) throws(StoreError) {
        connection = try SQLiteConnection(path: configuration.path, busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds)
        writerLock = WriterLock.forDatabase(at: configuration.path)
        // A database from a newer otp-fcgi is refused before anything is written to it.
        try Schema.refuseNewer(connection)
        try connection.configureForWriting(synchronous: configuration.synchronous)
        migration = try Schema.migrate(connection)
    }

    /// The schema version this binary writes.
    public static var currentSchemaVersion: Int { Schema.currentVersion }

    public func writeTransaction<T>(_ body: (any OTPStoreTransaction) throws -> T) throws -> T {
        try writerLock.withLock { () throws -> T in
            try connection.statement("BEGIN IMMEDIATE").run()
            do {
                let result = try body(Transaction(connection: connection))
                try connection.statement("COMMIT").run()
                return result
            } catch {
                _ = try? connection.statement("ROLLBACK").run()
                throw error
            }
        }
    }

    public func consumeStepUpToken(
        hash: String, userID: String, at now: UnixTime, boot: BootClockReading?, lifetimeSeconds: Int64
    ) throws(StoreError) -> Bool {
        // One statement: the check and the consumption cannot be separated by another request.
        let statement = try connection.statement(
            """
            UPDATE step_up_tokens SET used_at = ?1
            WHERE token_hash = ?2 AND user_id = ?3 AND used_at IS NULL AND expires_at > ?1 AND created_at <= ?1
              AND (?4 IS NULL OR created_boot_id IS NOT ?4 OR (?5 >= created_boot_ms AND ?5 - created_boot_ms < ?6))
            """
        )
        let changed = try writerLock.withLock { () throws(StoreError) -> Int in
            try statement.run([
                .integer(now), .text(hash), .text(userID), boot.map { .text($0.bootID) } ?? .null,
                .integer(boot?.milliseconds ?? 0), .integer(lifetimeSeconds * 1000),
            ])
        }
        return changed == 1
    }

    public func stepUpTokenRefusal(hash: String, userID: String, at now: UnixTime) throws(StoreError) -> StepUpRefusal {
        let refusal = try connection.statement(
            "SELECT user_id, expires_at, used_at, created_at FROM step_up_tokens WHERE token_hash = ?1"
        ).first([.text(hash)]) { row -> StepUpRefusal in
            if row.text(0) != userID { return .otherUser }
            if !row.isNull(2) { return .alreadyUsed }
            if row.integer(1) <= now || row.integer(3) > now { return .expired }
            return .raced
        }
        return refusal ?? .unknown
    }

    public func ping() throws(StoreError) {
        _ = try connection.statement("SELECT count(*) FROM sqlite_schema").first { row in row.integer(0) }
    }

    public func purgeExpired(at now: UnixTime, rules: RulesConfiguration) throws(StoreError) -> PurgeCounts {
        try writerLock.withLock { () throws(StoreError) -> PurgeCounts in try purge(at: now, rules: rules) }
    }

    private func purge(at now: UnixTime, rules: RulesConfiguration) throws(StoreError) -> PurgeCounts {
        let codes = try connection.statement(
            """
            DELETE FROM otp_codes WHERE expires_at <= ?1
              AND (send_window_start IS NULL OR send_window_start + ?2 <= ?1)
              AND (last_sent_at IS NULL OR last_sent_at + ?3 <= ?1)
              AND (pending_since IS NULL OR pending_since + ?4 <= ?1)
            """
        ).run([.integer(now), .integer(rules.sendWindowSeconds), .integer(rules.resendCooldownSeconds), .integer(rules.sendInFlightSeconds)])
        let tokens = try connection.statement("DELETE FROM step_up_tokens WHERE expires_at <= ?1").run([.integer(now)])
        return PurgeCounts(codes: codes, tokens: tokens)
    }

    /// The schema version the database is at.
    public func schemaVersion() throws(StoreError) -> Int {
        try Schema.version(connection)
    }
}

private struct Transaction: OTPStoreTransaction {
    let connection: SQLiteConnection

    func codeRecord(phoneHash: String, purpose: Purpose) throws(StoreError) -> CodeRecord? {
        try connection.statement(
            """
            SELECT code_hash, issued_at, expires_at, attempts, send_count, send_window_start,
                   last_sent_at, verified_at, pending_code_hash, pending_since, issued_boot_id, issued_boot_ms
            FROM otp_codes WHERE phone_hash = ?1 AND purpose = ?2
            """
        ).first([.text(phoneHash), .text(purpose.rawValue)]) { row in
            CodeRecord(
                phoneHash: phoneHash, purpose: purpose,
                codeHash: row.text(0), issuedAt: row.optionalInteger(1),
                issuedBoot: row.text(10).map { BootClockReading(bootID: $0, milliseconds: row.integer(11)) },
                expiresAt: row.integer(2),
                attempts: Int(row.integer(3)), sendCount: Int(row.integer(4)),
                sendWindowStart: row.optionalInteger(5), lastSentAt: row.optionalInteger(6),
                verifiedAt: row.optionalInteger(7), pendingCodeHash: row.text(8), pendingSince: row.optionalInteger(9)
            )
        }
    }

    func save(_ record: CodeRecord) throws(StoreError) {
        func optional(_ value: Int64?) -> SQLiteStatement.Value { value.map { .integer($0) } ?? .null }
        func optional(_ value: String?) -> SQLiteStatement.Value { value.map { .text($0) } ?? .null }
        try connection.statement(
            """
            INSERT INTO otp_codes (phone_hash, purpose, code_hash, issued_at, expires_at, attempts, send_count,
                                   send_window_start, last_sent_at, verified_at, pending_code_hash, pending_since,
                                   issued_boot_id, issued_boot_ms)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
            ON CONFLICT (phone_hash, purpose) DO UPDATE SET
                code_hash = excluded.code_hash, issued_at = excluded.issued_at, expires_at = excluded.expires_at,
                attempts = excluded.attempts, send_count = excluded.send_count,
                send_window_start = excluded.send_window_start, last_sent_at = excluded.last_sent_at,
                verified_at = excluded.verified_at, pending_code_hash = excluded.pending_code_hash,
                pending_since = excluded.pending_since, issued_boot_id = excluded.issued_boot_id,
                issued_boot_ms = excluded.issued_boot_ms
            """
        ).run([
            .text(record.phoneHash), .text(record.purpose.rawValue), optional(record.codeHash), optional(record.issuedAt),
            .integer(record.expiresAt), .integer(Int64(record.attempts)), .integer(Int64(record.sendCount)),
            optional(record.sendWindowStart), optional(record.lastSentAt), optional(record.verifiedAt),
            optional(record.pendingCodeHash), optional(record.pendingSince),
            optional(record.issuedBoot?.bootID), optional(record.issuedBoot?.milliseconds),
        ])
    }

    func saveVerificationState(_ record: CodeRecord) throws(StoreError) {
        let changed = try connection.statement(
            "UPDATE otp_codes SET attempts = ?3, verified_at = ?4 WHERE phone_hash = ?1 AND purpose = ?2"
        ).run([
            .text(record.phoneHash), .text(record.purpose.rawValue), .integer(Int64(record.attempts)),
            record.verifiedAt.map { .integer($0) } ?? .null,
        ])
        if changed != 1 { try save(record) }
    }

    func insertStepUpToken(
        hash: String, userID: String, createdAt: UnixTime, expiresAt: UnixTime, createdBoot: BootClockReading?
    ) throws(StoreError) {
        try connection.statement(
            "INSERT INTO step_up_tokens (token_hash, user_id, created_at, expires_at, created_boot_id, created_boot_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        ).run([
            .text(hash), .text(userID), .integer(createdAt), .integer(expiresAt),
            createdBoot.map { .text($0.bootID) } ?? .null, createdBoot.map { .integer($0.milliseconds) } ?? .null,
        ])
    }

    func markPhoneVerified(userID: String?, phone: PhoneNumber, at now: UnixTime) throws(StoreError) {
        if let userID {
            try connection.statement(
                """
                INSERT INTO users (user_id, phone_e164, phone_verified, phone_verified_at) VALUES (?1, ?2, 1, ?3)
                ON CONFLICT (user_id) DO UPDATE SET
                    phone_e164 = excluded.phone_e164, phone_verified = 1, phone_verified_at = excluded.phone_verified_at
                """
            ).run([.text(userID), .text(phone.e164), .integer(now)])
        }
        try connection.statement(
            "UPDATE notification_preferences SET sms_phone_verified = 1 WHERE sms_phone_number = ?1"
        ).run([.text(phone.e164)])
    }
}
