import OTPLogic
import Synchronization

/// `OTPStore` on SQLite. One instance per worker thread: its own connection for reads outside a
/// transaction, and the file's group commit (one writing connection per process) for writes. It
/// fetches and writes; every rule is in `OTPLogic`.
public final class SQLiteOTPStore: VersionedStore {
    let connection: SQLiteConnection
    let commits: CommitGroup

    /// The schema versions before and after opening (equal when nothing was migrated).
    public let migration: (from: Int, to: Int)

    /// Opens the database and applies pending migrations. `clock` paces the retries of the switch
    /// to WAL while another connection writes.
    public init(configuration: SQLiteConfiguration, clock: any MonotonicClock) throws(StoreError) {
        connection = try SQLiteConnection(path: configuration.path, busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds)
        // A database from a newer otp-fcgi is refused before anything is written to it.
        try Schema.refuseNewer(connection)
        try connection.configureForWriting(synchronous: configuration.synchronous, clock: clock)
        migration = try Schema.migrate(connection)
        commits = try CommitGroup.forDatabase(at: configuration.path) { () throws(StoreError) -> SQLiteConnection in
            let writer = try SQLiteConnection(path: configuration.path, busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds)
            try writer.configureForWriting(synchronous: configuration.synchronous, clock: clock)
            return writer
        }
    }

    /// Where a failed background checkpoint of the write-ahead log is reported (see
    /// `WALCheckpointer`): once when checkpoints start failing, not again until one succeeds.
    public static func reportCheckpointFailures(to report: @escaping @Sendable (StoreError) -> Void) {
        WALCheckpointer.failureReporter.withLock { $0 = report }
    }

    /// The file's group commit in this process: every store open on the file shares it.
    public var writeBatches: (@Sendable () -> WriteBatchCounts)? {
        { [commits] in WriteBatchCounts(batches: commits.batches.load(ordering: .relaxed), writes: commits.jobs.load(ordering: .relaxed)) }
    }

    /// The schema version this binary writes.
    public static var currentSchemaVersion: Int { Schema.currentVersion }

    /// Joins the group commit of the database file: the body runs on the group's connection, in a
    /// batch with other requests' bodies (see `CommitGroup`).
    public func writeTransaction<T>(_ body: (any OTPStoreTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
        try commits.perform { transaction throws(StoreError) in try body(transaction) }
    }

    public func consumeStepUpToken(hash: String, userID: String, action: String?, within bounds: StepUpTokenBounds) throws(StoreError) -> Bool {
        try commits.perform(statement: SQLiteTransaction.consumeStepUpTokenStatement, bounds.storedValues(hash: hash, userID: userID, action: action)) == 1
    }

    public func stepUpToken(hash: String) throws(StoreError) -> StepUpTokenRecord? {
        try SQLiteTransaction(connection: connection).stepUpToken(hash: hash)
    }

    public func verifiedPhone(userID: String) throws(StoreError) -> PhoneNumber? {
        try SQLiteTransaction(connection: connection).verifiedPhone(userID: userID)
    }

    public func resetPhone(userID: String) throws(StoreError) -> Bool {
        try commits.perform { transaction throws(StoreError) -> Bool in
            try transaction.connection.statement(
                "UPDATE users SET phone_e164 = NULL, phone_verified = 0, phone_verified_at = NULL WHERE user_id = ?1 AND phone_verified = 1"
            ).run([.text(userID)]) == 1
        }
    }

    public func ping() throws(StoreError) {
        _ = try connection.statement("SELECT count(*) FROM sqlite_schema").first { row in row.integer(0) }
    }

    public func purge(_ cutoffs: PurgeCutoffs) throws(StoreError) -> PurgeCounts {
        try commits.perform { transaction throws(StoreError) -> PurgeCounts in
            let connection = transaction.connection
            let codes = try connection.statement(
                """
                DELETE FROM otp_codes WHERE expires_at <= ?1 AND coalesce(send_window_start, ?2) <= ?2
                  AND coalesce(last_sent_at, ?3) <= ?3 AND coalesce(pending_since, ?4) <= ?4
                """
            ).run(cutoffs.storedCodeValues)
            // No index on expires_at (schema 7): the oldest rows up to the first one not expired.
            let tokens = try connection.statement(
                """
                DELETE FROM step_up_tokens
                WHERE rowid <= coalesce((SELECT rowid - 1 FROM step_up_tokens WHERE expires_at > ?1 ORDER BY rowid LIMIT 1), 9223372036854775807)
                  AND expires_at <= ?1
                """
            ).run([.integer(cutoffs.tokenExpiredBy)])
            let deliveries = try DeliveryRows.purge(sentBy: cutoffs.deliverySentBy, on: connection)
            try transaction.firewall?.compact(at: cutoffs.firewallEmptyAt, on: connection)
            return PurgeCounts(codes: codes, tokens: tokens, deliveries: deliveries)
        }
    }

    public func forEachRecord(codes: (CodeRecord) -> Void, tokens: (StepUpTokenRecord) -> Void) throws(StoreError) {
        try connection.statement(
            """
            SELECT code_hash, issued_at, expires_at, attempts, send_count, send_window_start,
                   last_sent_at, verified_at, pending_code_hash, pending_since, issued_boot_id, issued_boot_ms,
                   action, pending_action, country, phone_hash, purpose, owner
            FROM otp_codes
            """
        ).each { row in
            guard let phoneHash = row.text(15), let purpose = row.text(16).flatMap(Purpose.init(rawValue:)) else { return }
            codes(CodeRecord(storedRow: row, phoneHash: phoneHash, purpose: purpose, owner: row.text(17) ?? ""))
        }
        try connection.statement(
            "SELECT user_id, created_at, expires_at, created_boot_id, created_boot_ms, used_at, action FROM step_up_tokens"
        ).each { row in tokens(StepUpTokenRecord(storedRow: row)) }
    }

    public func firewallRecords() throws(StoreError) -> [FirewallRecord] {
        try FirewallLedger.allRecords(on: connection)
    }

    public func smsDeliveries(sentSince since: UnixTime) throws(StoreError) -> [SMSDeliveryRecord] {
        try DeliveryRows.sent(since: since, on: connection)
    }

    /// The schema version the database is at.
    public func schemaVersion() throws(StoreError) -> Int {
        try Schema.version(connection)
    }
}

/// The operations of one write transaction, on whichever connection runs it.
struct SQLiteTransaction: OTPStoreTransaction {
    let connection: SQLiteConnection
    /// The firewall's records in this transaction; nil for the reads outside one.
    var firewall: FirewallBatch? = nil

    func codeRecord(phoneHash: String, purpose: Purpose, owner: String) throws(StoreError) -> CodeRecord? {
        try connection.statement(
            """
            SELECT code_hash, issued_at, expires_at, attempts, send_count, send_window_start,
                   last_sent_at, verified_at, pending_code_hash, pending_since, issued_boot_id, issued_boot_ms,
                   action, pending_action, country
            FROM otp_codes WHERE phone_hash = ?1 AND purpose = ?2 AND owner = ?3
            """
        ).first([.text(phoneHash), .text(purpose.rawValue), .text(owner)]) { row in
            CodeRecord(storedRow: row, phoneHash: phoneHash, purpose: purpose, owner: owner)
        }
    }

    func save(_ record: CodeRecord) throws(StoreError) {
        try connection.statement(
            """
            INSERT INTO otp_codes (phone_hash, purpose, code_hash, issued_at, expires_at, attempts, send_count,
                                   send_window_start, last_sent_at, verified_at, pending_code_hash, pending_since,
                                   issued_boot_id, issued_boot_ms, owner, action, pending_action, country)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
            ON CONFLICT (phone_hash, purpose, owner) DO UPDATE SET
                code_hash = excluded.code_hash, issued_at = excluded.issued_at, expires_at = excluded.expires_at,
                attempts = excluded.attempts, send_count = excluded.send_count,
                send_window_start = excluded.send_window_start, last_sent_at = excluded.last_sent_at,
                verified_at = excluded.verified_at, pending_code_hash = excluded.pending_code_hash,
                pending_since = excluded.pending_since, issued_boot_id = excluded.issued_boot_id,
                issued_boot_ms = excluded.issued_boot_ms, action = excluded.action, pending_action = excluded.pending_action,
                country = excluded.country
            """
        ).run(record.storedValues)
    }

    func saveVerificationState(_ record: CodeRecord) throws(StoreError) {
        let changed = try connection.statement(
            "UPDATE otp_codes SET attempts = ?3, verified_at = ?4 WHERE phone_hash = ?1 AND purpose = ?2 AND owner = ?5"
        ).run(record.storedVerificationValues)
        if changed != 1 { try save(record) }
    }

    func insertStepUpToken(hash: String, _ token: StepUpTokenRecord) throws(StoreError) {
        try connection.statement(
            """
            INSERT INTO step_up_tokens (token_hash, user_id, created_at, expires_at, created_boot_id, created_boot_ms, action)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """
        ).run(token.storedValues(hash: hash))
    }

    func consumeStepUpToken(hash: String, userID: String, action: String?, within bounds: StepUpTokenBounds) throws(StoreError) -> Bool {
        try connection.statement(Self.consumeStepUpTokenStatement).run(bounds.storedValues(hash: hash, userID: userID, action: action)) == 1
    }

    /// One statement: the check for an unused token of this user and action within the policy's
    /// bounds and its consumption cannot be separated by another request.
    static let consumeStepUpTokenStatement: StaticString = """
        UPDATE step_up_tokens SET used_at = ?1
        WHERE token_hash = ?2 AND user_id = ?3 AND action IS ?4 AND used_at IS NULL AND created_at <= ?1 AND expires_at > ?1
          AND (?5 IS NULL OR created_boot_id IS NOT ?5 OR (created_boot_ms > ?6 AND created_boot_ms <= ?7))
        """

    func stepUpToken(hash: String) throws(StoreError) -> StepUpTokenRecord? {
        try connection.statement(
            "SELECT user_id, created_at, expires_at, created_boot_id, created_boot_ms, used_at, action FROM step_up_tokens WHERE token_hash = ?1"
        ).first([.text(hash)]) { row in StepUpTokenRecord(storedRow: row) }
    }

    func firewallRecords(_ keys: [BudgetKey]) throws(StoreError) -> [FirewallRecord] {
        try requireFirewall().records(keys, on: connection)
    }

    func saveFirewallRecords(_ records: FirewallRecords) throws(StoreError) {
        try requireFirewall().save(records, on: connection)
    }

    private func requireFirewall() throws(StoreError) -> FirewallBatch {
        guard let firewall else { throw StoreError(kind: .other, detail: "(firewall): records are read and written only in a write transaction") }
        return firewall
    }

    func insertSMSDelivery(_ record: SMSDeliveryRecord) throws(StoreError) {
        try DeliveryRows.insert(record, on: connection)
    }

    func smsDelivery(reference: DeliveryReference) throws(StoreError) -> SMSDeliveryRecord? {
        try DeliveryRows.find(reference: reference, on: connection)
    }

    func smsDelivery(provider: String, messageID: String) throws(StoreError) -> SMSDeliveryRecord? {
        try DeliveryRows.find(provider: provider, messageID: messageID, on: connection)
    }

    func saveSMSDeliveryStatus(_ record: SMSDeliveryRecord) throws(StoreError) {
        try DeliveryRows.saveStatus(record, on: connection)
    }

    func verifiedPhone(userID: String) throws(StoreError) -> PhoneNumber? {
        try connection.statement(
            "SELECT phone_e164 FROM users WHERE user_id = ?1 AND phone_verified = 1"
        ).first([.text(userID)]) { row in row.text(0).flatMap(PhoneNumber.init) } ?? nil
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
