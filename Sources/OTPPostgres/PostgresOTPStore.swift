import OTPLogic

/// `OTPStore` on one PostgreSQL connection, shared by every node of a portal. One instance per
/// worker thread. It fetches and writes; every rule is in `OTPLogic`. Exactness across nodes
/// comes from the database alone, at READ COMMITTED: rows a transaction will change are read
/// `FOR UPDATE`, and one-time use is one conditional `UPDATE`.
public final class PostgresOTPStore: VersionedStore {
    let connection: PostgresConnection

    public let migration: (from: Int, to: Int)

    /// Connects, refuses a newer schema and applies pending migrations. `clock` paces reconnection.
    public init(configuration: PostgresConfiguration, clock: any MonotonicClock) throws(StoreError) {
        connection = try PostgresConnection(configuration: configuration, clock: clock)
        migration = try PostgresSchema.migrate(connection)
    }

    /// The schema version this binary writes.
    public static var currentSchemaVersion: Int { PostgresSchema.currentVersion }

    public func writeTransaction<T>(_ body: (any OTPStoreTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
        try connection.begin()
        do {
            let transaction = PostgresTransaction(connection: connection)
            let result = try body(transaction)
            try transaction.removePlaceholders()
            try connection.commit()
            return result
        } catch {
            connection.rollback()
            throw error
        }
    }

    public func consumeStepUpToken(hash: String, userID: String, action: String?, within bounds: StepUpTokenBounds) throws(StoreError) -> Bool {
        // Autocommit: one statement needs no transaction around it.
        try PostgresTransaction(connection: connection).consumeStepUpToken(hash: hash, userID: userID, action: action, within: bounds)
    }

    public func stepUpToken(hash: String) throws(StoreError) -> StepUpTokenRecord? {
        try PostgresTransaction(connection: connection).stepUpToken(hash: hash)
    }

    public func verifiedPhone(userID: String) throws(StoreError) -> PhoneNumber? {
        let result = try connection.run(PostgresStatements.verifiedPhone, [.text(userID)])
        return result.count == 0 ? nil : result.row(0).text(0).flatMap(PhoneNumber.init)
    }

    public func resetPhone(userID: String) throws(StoreError) -> Bool {
        try connection.run(PostgresStatements.resetPhone, [.text(userID)]).changes == 1
    }

    public func ping() throws(StoreError) {
        try connection.run(PostgresStatements.ping)
    }

    public func purge(_ cutoffs: PurgeCutoffs) throws(StoreError) -> PurgeCounts {
        try writeTransaction { _ throws(StoreError) -> PurgeCounts in
            guard try connection.run(PostgresStatements.purgeLock).row(0).boolean(0) else { return PurgeCounts(codes: 0, tokens: 0) }
            let codes = try connection.run(PostgresStatements.purgeCodes, cutoffs.storedCodeValues).changes
            let tokens = try connection.run(PostgresStatements.purgeTokens, [.integer(cutoffs.tokenExpiredBy)]).changes
            let deliveries = try connection.run(PostgresStatements.purgeDeliveries, [.integer(cutoffs.deliverySentBy)]).changes
            return PurgeCounts(codes: codes, tokens: tokens, deliveries: deliveries)
        }
    }

    /// Through cursors, a batch at a time: `otp-fcgi stats` on a database of millions of rows
    /// holds one batch in memory, not the tables.
    public func forEachRecord(codes: (CodeRecord) -> Void, tokens: (StepUpTokenRecord) -> Void) throws(StoreError) {
        try connection.begin()
        do {
            try connection.execute("DECLARE all_codes NO SCROLL CURSOR FOR " + PostgresStatements.allCodes.sql)
            try fetchAll("all_codes") { row in
                guard let phoneHash = row.text(15), let purpose = row.text(16).flatMap(Purpose.init(rawValue:)) else { return }
                codes(CodeRecord(storedRow: row, phoneHash: phoneHash, purpose: purpose, owner: row.text(17) ?? ""))
            }
            try connection.execute("DECLARE all_tokens NO SCROLL CURSOR FOR " + PostgresStatements.allTokens.sql)
            try fetchAll("all_tokens") { row in tokens(StepUpTokenRecord(storedRow: row)) }
            try connection.commit()
        } catch {
            connection.rollback()
            throw error
        }
    }

    private func fetchAll(_ cursor: String, _ visit: (PostgresResult.Row) -> Void) throws(StoreError) {
        while true {
            let batch = try connection.execute("FETCH 10000 FROM \(cursor)")
            if batch.count == 0 { return }
            for row in batch.rows { visit(row) }
        }
    }

    public func firewallRecords() throws(StoreError) -> [FirewallRecord] {
        try connection.run(PostgresStatements.allFirewall).rows.compactMap { FirewallRecord(storedRow: $0) }
    }

    public func smsDeliveries(sentSince since: UnixTime) throws(StoreError) -> [SMSDeliveryRecord] {
        try connection.run(PostgresStatements.deliveriesSince, [.integer(since)]).rows.compactMap { SMSDeliveryRecord(storedRow: $0) }
    }

    public func schemaVersion() throws(StoreError) -> Int {
        try PostgresSchema.version(connection)
    }

    /// Each request commits on its own connection; PostgreSQL groups the flushes of concurrent commits.
    public var writeBatches: (@Sendable () -> WriteBatchCounts)? { nil }
}
