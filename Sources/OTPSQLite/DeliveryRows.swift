import OTPLogic

/// The `sms_deliveries` table: one row per message a provider accepted (provider, its message id,
/// purpose, times, last status, our reference). No phone, no body.
enum DeliveryRows {
    static func insert(_ record: SMSDeliveryRecord, on connection: SQLiteConnection) throws(StoreError) {
        try connection.statement(
            """
            INSERT OR REPLACE INTO sms_deliveries (provider, message_id, purpose, sent_at, status, status_at, error_code, reference)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            """
        ).run(record.storedValues)
    }

    static func find(reference: DeliveryReference, on connection: SQLiteConnection) throws(StoreError) -> SMSDeliveryRecord? {
        try connection.statement(
            "SELECT provider, message_id, purpose, sent_at, status, status_at, error_code, reference FROM sms_deliveries WHERE reference = ?1"
        ).first([.text(reference.text)]) { row in SMSDeliveryRecord(storedRow: row) } ?? nil
    }

    /// `reference IS NULL` lets SQLite use the index of exactly those rows.
    static func find(provider: String, messageID: String, on connection: SQLiteConnection) throws(StoreError) -> SMSDeliveryRecord? {
        try connection.statement(
            """
            SELECT provider, message_id, purpose, sent_at, status, status_at, error_code, reference FROM sms_deliveries
            WHERE provider = ?1 AND message_id = ?2 AND reference IS NULL
            """
        ).first([.text(provider), .text(messageID)]) { row in SMSDeliveryRecord(storedRow: row) } ?? nil
    }

    static func saveStatus(_ record: SMSDeliveryRecord, on connection: SQLiteConnection) throws(StoreError) {
        let statement = try record.reference == nil
            ? connection.statement(
                """
                UPDATE sms_deliveries SET status = ?3, status_at = ?4, error_code = ?5
                WHERE provider = ?1 AND message_id = ?2 AND reference IS NULL
                """
            )
            : connection.statement(
                "UPDATE sms_deliveries SET status = ?3, status_at = ?4, error_code = ?5 WHERE provider = ?1 AND message_id = ?2 AND reference = ?6"
            )
        try statement.run(record.storedStatusValues)
    }

    /// A scan of the table (no index on `sent_at` since schema 7): only `otp-fcgi stats` asks.
    static func sent(since: UnixTime, on connection: SQLiteConnection) throws(StoreError) -> [SMSDeliveryRecord] {
        var records: [SMSDeliveryRecord] = []
        try connection.statement(
            "SELECT provider, message_id, purpose, sent_at, status, status_at, error_code, reference FROM sms_deliveries WHERE sent_at >= ?1"
        ).each([.integer(since)]) { row in
            if let record = SMSDeliveryRecord(storedRow: row) { records.append(record) }
        }
        return records
    }

    /// The oldest rows up to the first one sent after `sentBy`: rows are appended as they are sent,
    /// and there is no index on `sent_at` (schema 7), which cost every send a page written.
    static func purge(sentBy: UnixTime, on connection: SQLiteConnection) throws(StoreError) -> Int {
        try connection.statement(
            """
            DELETE FROM sms_deliveries
            WHERE rowid <= coalesce((SELECT rowid - 1 FROM sms_deliveries WHERE sent_at > ?1 ORDER BY rowid LIMIT 1), 9223372036854775807)
              AND sent_at <= ?1
            """
        ).run([.integer(sentBy)])
    }
}
