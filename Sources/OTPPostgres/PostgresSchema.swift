import OTPLogic

/// One numbered migration: its SQL brings a database from `version - 1` to `version`. One file a
/// version under `Migrations/`; append only, never edit one that has shipped.
struct PostgresMigration: Sendable {
    let version: Int
    let name: String
    let sql: String
}

/// The schema as numbered migrations; the `schema_version` table records each one applied.
enum PostgresSchema {
    static let migrations: [PostgresMigration] = [m0001Initial, m0002DeliveryReferences]

    static var currentVersion: Int { migrations.count }

    static let hasVersionTable = PostgresStatement(name: "schema_has_version", sql: "SELECT to_regclass('schema_version') IS NOT NULL")
    static let versionQuery = PostgresStatement(name: "schema_version", sql: "SELECT coalesce(max(version), 0) FROM schema_version")

    /// The database's schema version: 0 for a database otp-fcgi never migrated.
    static func version(_ connection: PostgresConnection) throws(StoreError) -> Int {
        guard try connection.run(hasVersionTable).row(0).boolean(0) else { return 0 }
        return Int(try connection.run(versionQuery).row(0).integer(0))
    }

    /// The database's schema version; throws if it is newer than this binary knows.
    @discardableResult
    static func refuseNewer(_ connection: PostgresConnection) throws(StoreError) -> Int {
        let found = try version(connection)
        guard found <= currentVersion else { throw tooNew(found) }
        return found
    }

    static func tooNew(_ found: Int) -> StoreError {
        StoreError(
            kind: .schemaTooNew,
            detail: "(schema): database schema version \(found) is newer than this otp-fcgi knows (\(currentVersion)); refusing to touch it (a downgrade?)"
        )
    }

    /// Applies every migration the database has not seen, each in its own transaction holding
    /// `schema_version`'s table lock, so nodes starting together migrate once and in order.
    static func migrate(_ connection: PostgresConnection) throws(StoreError) -> (from: Int, to: Int) {
        let from = try refuseNewer(connection)
        var version = from
        var attempts = 0
        while version < currentVersion {
            do throws(StoreError) {
                try connection.begin()
                try connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
                try connection.execute("LOCK TABLE schema_version IN EXCLUSIVE MODE")
                // Re-read under the lock: another node may have migrated meanwhile.
                let locked = try PostgresSchema.version(connection)
                guard locked <= currentVersion else { throw tooNew(locked) }
                if locked < currentVersion {
                    let migration = migrations[locked]
                    try connection.execute(migration.sql)
                    try connection.execute("INSERT INTO schema_version (version) VALUES (\(migration.version))")
                }
                try connection.commit()
                version = max(locked + 1, version)
                version = try PostgresSchema.version(connection)
            } catch {
                connection.rollback()
                // Two nodes creating `schema_version` at once: one of them loses the race on the
                // catalog's unique index and tries again, then finds the table.
                attempts += 1
                guard (error.detail.contains("23505") || error.detail.contains("42P07")) && attempts < 5 else { throw error }
            }
        }
        return (from, version)
    }
}
