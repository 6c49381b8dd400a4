import OTPLogic

/// The `sms_deliveries` table: one row per message a provider accepted (provider, its message id,
/// purpose, times, last status). No phone, no body.
enum DeliveryRows {
    static let columns = "provider, message_id, purpose, sent_at, status, status_at, error_code"

    /// A row selected with `columns`, in that order; nil for a row no version wrote.
    static func record(_ row: SQLiteStatement.Row) -> SMSDeliveryRecord? {
        guard let provider = row.text(0), let messageID = row.text(1), let purpose = row.text(2).flatMap(Purpose.init(rawValue:)),
              let status = row.text(4).flatMap(DeliveryStatus.init(rawValue:)) else { return nil }
        return SMSDeliveryRecord(
            provider: provider, messageID: messageID, purpose: purpose, sentAt: row.integer(3), status: status,
            statusAt: row.optionalInteger(5), errorCode: row.text(6)
        )
    }

    static func insert(_ record: SMSDeliveryRecord, on connection: SQLiteConnection) throws(StoreError) {
        try connection.statement(
            """
            INSERT OR REPLACE INTO sms_deliveries (provider, message_id, purpose, sent_at, status, status_at, error_code)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            """
        ).run([
            .text(record.provider), .text(record.messageID), .text(record.purpose.rawValue), .integer(record.sentAt),
            .text(record.status.rawValue), record.statusAt.map { .integer($0) } ?? .null, record.errorCode.map { .text($0) } ?? .null,
        ])
    }

    static func find(provider: String, messageID: String, on connection: SQLiteConnection) throws(StoreError) -> SMSDeliveryRecord? {
        try connection.statement(
            "SELECT provider, message_id, purpose, sent_at, status, status_at, error_code FROM sms_deliveries WHERE provider = ?1 AND message_id = ?2"
        ).first([.text(provider), .text(messageID)], record) ?? nil
    }

    static func saveStatus(_ record: SMSDeliveryRecord, on connection: SQLiteConnection) throws(StoreError) {
        try connection.statement(
            "UPDATE sms_deliveries SET status = ?3, status_at = ?4, error_code = ?5 WHERE provider = ?1 AND message_id = ?2"
        ).run([
            .text(record.provider), .text(record.messageID), .text(record.status.rawValue), record.statusAt.map { .integer($0) } ?? .null,
            record.errorCode.map { .text($0) } ?? .null,
        ])
    }

    static func sent(since: UnixTime, on connection: SQLiteConnection) throws(StoreError) -> [SMSDeliveryRecord] {
        var records: [SMSDeliveryRecord] = []
        try connection.statement(
            "SELECT provider, message_id, purpose, sent_at, status, status_at, error_code FROM sms_deliveries WHERE sent_at >= ?1"
        ).each([.integer(since)]) { row in
            if let record = record(row) { records.append(record) }
        }
        return records
    }

    static func purge(sentBy: UnixTime, on connection: SQLiteConnection) throws(StoreError) -> Int {
        try connection.statement("DELETE FROM sms_deliveries WHERE sent_at <= ?1").run([.integer(sentBy)])
    }
}
