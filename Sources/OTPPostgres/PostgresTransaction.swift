import OTPLogic

/// The operations of one `BEGIN … COMMIT` on the worker's connection. A row the rules will
/// decide on is read `FOR UPDATE`; a row that does not exist yet is created as a placeholder
/// (`INSERT … ON CONFLICT DO NOTHING`), which another node creating the same key waits on like
/// on a locked row. A placeholder the rules did not fill is deleted before COMMIT, so no other
/// session ever sees one.
final class PostgresTransaction: OTPStoreTransaction {
    private let connection: PostgresConnection
    private var codePlaceholders: Set<CodeKey> = []
    private var firewallPlaceholders: Set<BudgetKey> = []
    private var userPlaceholders: Set<String> = []

    /// How many times a lock is retried when the row it waited for was deleted meanwhile (a purge).
    private static let lockAttempts = 3

    private struct CodeKey: Hashable {
        let phoneHash: String
        let purpose: Purpose
        let owner: String

        var values: [StoredValue] { [.text(phoneHash), .text(purpose.rawValue), .text(owner)] }
    }

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Deletes the placeholders nothing was saved into. Called right before COMMIT.
    func removePlaceholders() throws(StoreError) {
        for key in codePlaceholders { try connection.run(PostgresStatements.deleteCodePlaceholder, key.values) }
        for key in firewallPlaceholders {
            try connection.run(PostgresStatements.deleteFirewallPlaceholder, [.text(key.scope.rawValue), .text(key.key)])
        }
        for user in userPlaceholders { try connection.run(PostgresStatements.deleteUserPlaceholder, [.text(user)]) }
        codePlaceholders.removeAll()
        firewallPlaceholders.removeAll()
        userPlaceholders.removeAll()
    }

    func codeRecord(phoneHash: String, purpose: Purpose, owner: String) throws(StoreError) -> CodeRecord? {
        let key = CodeKey(phoneHash: phoneHash, purpose: purpose, owner: owner)
        if codePlaceholders.contains(key) { return nil }
        for _ in 0..<PostgresTransaction.lockAttempts {
            let locked = try connection.run(PostgresStatements.lockCode, key.values)
            if locked.count > 0 { return CodeRecord(storedRow: locked.row(0), phoneHash: phoneHash, purpose: purpose, owner: owner) }
            if try connection.run(PostgresStatements.placeholderCode, key.values).count > 0 {
                codePlaceholders.insert(key)
                return nil
            }
        }
        throw StoreError(kind: .busy, detail: "(postgres): the code row kept disappearing while it was being locked")
    }

    func save(_ record: CodeRecord) throws(StoreError) {
        try connection.run(PostgresStatements.saveCode, record.storedValues)
        codePlaceholders.remove(CodeKey(phoneHash: record.phoneHash, purpose: record.purpose, owner: record.owner))
    }

    func saveVerificationState(_ record: CodeRecord) throws(StoreError) {
        let key = CodeKey(phoneHash: record.phoneHash, purpose: record.purpose, owner: record.owner)
        if codePlaceholders.contains(key) {
            try save(record)
        } else if try connection.run(PostgresStatements.saveVerificationState, record.storedVerificationValues).changes != 1 {
            try save(record)
        }
    }

    func insertStepUpToken(hash: String, _ token: StepUpTokenRecord) throws(StoreError) {
        try connection.run(PostgresStatements.insertToken, token.storedValues(hash: hash))
    }

    func consumeStepUpToken(hash: String, userID: String, action: String?, within bounds: StepUpTokenBounds) throws(StoreError) -> Bool {
        try connection.run(PostgresStatements.consumeToken, bounds.storedValues(hash: hash, userID: userID, action: action)).changes == 1
    }

    func stepUpToken(hash: String) throws(StoreError) -> StepUpTokenRecord? {
        let result = try connection.run(PostgresStatements.token, [.text(hash)])
        return result.count == 0 ? nil : StepUpTokenRecord(storedRow: result.row(0))
    }

    func insertSMSDelivery(_ record: SMSDeliveryRecord) throws(StoreError) {
        let statement = record.reference == nil ? PostgresStatements.insertUnreferencedDelivery : PostgresStatements.insertDelivery
        try connection.run(statement, record.storedValues)
    }

    func smsDelivery(reference: DeliveryReference) throws(StoreError) -> SMSDeliveryRecord? {
        let result = try connection.run(PostgresStatements.delivery, [.text(reference.text)])
        return result.count == 0 ? nil : SMSDeliveryRecord(storedRow: result.row(0))
    }

    func smsDelivery(provider: String, messageID: String) throws(StoreError) -> SMSDeliveryRecord? {
        let result = try connection.run(PostgresStatements.unreferencedDelivery, [.text(provider), .text(messageID)])
        return result.count == 0 ? nil : SMSDeliveryRecord(storedRow: result.row(0))
    }

    func saveSMSDeliveryStatus(_ record: SMSDeliveryRecord) throws(StoreError) {
        let statement = record.reference == nil ? PostgresStatements.saveUnreferencedDeliveryStatus : PostgresStatements.saveDeliveryStatus
        try connection.run(statement, record.storedStatusValues)
    }

    func firewallRecords(_ keys: [BudgetKey]) throws(StoreError) -> [FirewallRecord] {
        // Keys in one order everywhere, so two transactions lock them in the same order.
        let sorted = Set(keys).subtracting(firewallPlaceholders).sorted { ($0.scope.rawValue, $0.key) < ($1.scope.rawValue, $1.key) }
        var records: [FirewallRecord] = []
        for start in stride(from: 0, to: sorted.count, by: 4) {
            let batch = sorted[start..<min(start + 4, sorted.count)]
            let values = batch.flatMap { key -> [StoredValue] in [.text(key.scope.rawValue), .text(key.key)] }
            for row in try connection.run(PostgresStatements.lockFirewall[batch.count - 1], values).rows {
                if row.boolean(6) {
                    if let scope = row.text(0).flatMap(BudgetScope.init(rawValue:)), let key = row.text(1) { firewallPlaceholders.insert(BudgetKey(scope, key)) }
                } else if let record = FirewallRecord(storedRow: row) {
                    records.append(record)
                }
            }
        }
        return records
    }

    func saveFirewallRecords(_ records: FirewallRecords) throws(StoreError) {
        try records.forEachChanged { record throws(StoreError) in
            try connection.run(PostgresStatements.saveFirewall, record.storedValues)
            firewallPlaceholders.remove(record.key)
        }
    }

    /// Inside a transaction the phone on record decides a phone change: the user's row is locked
    /// (or a placeholder taken), so two nodes cannot both find "no phone" and both set one.
    func verifiedPhone(userID: String) throws(StoreError) -> PhoneNumber? {
        if userPlaceholders.contains(userID) { return nil }
        for _ in 0..<PostgresTransaction.lockAttempts {
            let locked = try connection.run(PostgresStatements.lockUser, [.text(userID)])
            if locked.count > 0 {
                let row = locked.row(0)
                return row.boolean(1) ? row.text(0).flatMap(PhoneNumber.init) : nil
            }
            if try connection.run(PostgresStatements.placeholderUser, [.text(userID)]).count > 0 {
                userPlaceholders.insert(userID)
                return nil
            }
        }
        throw StoreError(kind: .busy, detail: "(postgres): the user row kept disappearing while it was being locked")
    }

    func markPhoneVerified(userID: String?, phone: PhoneNumber, at now: UnixTime) throws(StoreError) {
        if let userID {
            try connection.run(PostgresStatements.markUserVerified, [.text(userID), .text(phone.e164), .integer(now)])
            userPlaceholders.remove(userID)
        }
        try connection.run(PostgresStatements.markPreferencesVerified, [.text(phone.e164)])
    }
}
