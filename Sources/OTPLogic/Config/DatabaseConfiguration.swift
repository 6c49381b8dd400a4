/// Where the state lives: one SQLite file (`OTP_DB_PATH`, one machine), or one PostgreSQL database
/// that several portal nodes share (`OTP_DB_URL`). The rules are the same on both.
public enum DatabaseConfiguration: Sendable, Equatable {
    case sqlite(SQLiteConfiguration)
    case postgres(PostgresConfiguration)

    /// An SQLite file (what every configuration before `OTP_DB_URL` meant).
    public init(path: String, busyTimeoutMilliseconds: Int = 2000, synchronous: SQLiteConfiguration.Synchronous = .full) {
        self = .sqlite(SQLiteConfiguration(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, synchronous: synchronous))
    }

    /// The variable and its value for log and error lines, credentials removed:
    /// `OTP_DB_PATH=/var/lib/otp-fcgi/otp.sqlite3` or `OTP_DB_URL=postgresql://otp@db1/otp`.
    public var displayName: String {
        switch self {
        case .sqlite(let sqlite): "OTP_DB_PATH=\(sqlite.path)"
        case .postgres(let postgres): "OTP_DB_URL=\(postgres.redactedURL)"
        }
    }

    /// `OTP_DB_URL` when set (PostgreSQL), else `OTP_DB_PATH` (SQLite); setting both is a mistake
    /// worth stopping for, since only one of them would hold the state.
    static func read(_ reader: inout EnvironmentReader, defaultPath: String) -> DatabaseConfiguration {
        let sqlite = SQLiteConfiguration(
            path: reader.string("OTP_DB_PATH", default: defaultPath),
            busyTimeoutMilliseconds: reader.integer("OTP_DB_BUSY_TIMEOUT_MS", default: 2000, range: 10...60_000),
            synchronous: reader.choice("OTP_DB_SYNCHRONOUS", default: .full, allowed: SQLiteConfiguration.Synchronous.allCases)
        )
        guard let url = reader.value("OTP_DB_URL") else { return .sqlite(sqlite) }
        if reader.value("OTP_DB_PATH") != nil {
            reader.problem("OTP_DB_URL", "and OTP_DB_PATH are both set: set OTP_DB_URL for PostgreSQL or OTP_DB_PATH for SQLite, not both")
        }
        guard PostgresConfiguration.hasPostgresScheme(url) else {
            reader.problem("OTP_DB_URL", "must be a postgresql:// URL (e.g. postgresql://otp@db1.example/otp), not \(PostgresConfiguration.redact(url))")
            return .sqlite(sqlite)
        }
        return .postgres(PostgresConfiguration(
            url: Secret(url),
            connectTimeoutSeconds: reader.integer("OTP_DB_CONNECT_TIMEOUT_SECONDS", default: 5, range: 1...60),
            statementTimeoutMilliseconds: reader.integer("OTP_DB_STATEMENT_TIMEOUT_MS", default: 5000, range: 100...600_000)
        ))
    }
}

/// Where and how the SQLite database is opened.
public struct SQLiteConfiguration: Sendable, Equatable {
    public enum Synchronous: String, Sendable, CaseIterable {
        case full, normal
    }

    public var path: String
    public var busyTimeoutMilliseconds: Int = 2000
    public var synchronous: Synchronous = .full

    public init(path: String, busyTimeoutMilliseconds: Int = 2000, synchronous: Synchronous = .full) {
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.synchronous = synchronous
    }
}
