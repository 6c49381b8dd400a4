import OTPLogic

/// The `sms_deliveries` table: one row per message a provider accepted (provider, its message id,
/// purpose, times, last status). No phone, no body.
enum DeliveryRows {
    static func insert(_ record: SMSDeliveryRecord, on connection: SQLiteConnection) throws(StoreError) {
        try connection.statement(
            """
            INSERT OR REPLACE INTO sms_deliveries (provider, message_id, purpose, sent_at, status, status_at, error_code)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """
        ).run(record.storedValues)
    }

    static func find(provider: String, messageID: String, on connection: SQLiteConnection) throws(StoreError) -> SMSDeliveryRecord? {
        try connection.statement(
            "SELECT provider, message_id, purpose, sent_at, status, status_at, error_code FROM sms_deliveries WHERE provider = ?1 AND message_id = ?2"
        ).first([.text(provider), .text(messageID)]) { row in SMSDeliveryRecord(storedRow: row) } ?? nil
    }

    static func saveStatus(_ record: SMSDeliveryRecord, on connection: SQLiteConnection) throws(StoreError) {
        try connection.statement(
            "UPDATE sms_deliveries SET status = ?3, status_at = ?4, error_code = ?5 WHERE provider = ?1 AND message_id = ?2"
        ).run(record.storedStatusValues)
    }

    static func sent(since: UnixTime, on connection: SQLiteConnection) throws(StoreError) -> [SMSDeliveryRecord] {
        var records: [SMSDeliveryRecord] = []
        try connection.statement(
            "SELECT provider, message_id, purpose, sent_at, status, status_at, error_code FROM sms_deliveries WHERE sent_at >= ?1"
        ).each([.integer(since)]) { row in
            if let record = SMSDeliveryRecord(storedRow: row) { records.append(record) }
        }
        return records
    }

    static func purge(sentBy: UnixTime, on connection: SQLiteConnection) throws(StoreError) -> Int {
        try connection.statement("DELETE FROM sms_deliveries WHERE sent_at <= ?1").run([.integer(sentBy)])
    }
}
