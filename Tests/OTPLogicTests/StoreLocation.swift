import Foundation
import Testing
@testable import OTPLogic
import OTPSQLite
@testable import OTPPostgres
import OTPSystem
import TestSupport

/// The stores the contract suite runs on: SQLite always, PostgreSQL when `OTP_TEST_PG_URL` names a
/// test server (make test starts one: scripts/with-postgres.sh). Without it the PostgreSQL cases
/// are not generated at all, so a plain `swift test` skips them cleanly.
enum StoreKind: Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    static var testServerURL: String? {
        ProcessInfo.processInfo.environment["OTP_TEST_PG_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static var all: [StoreKind] { testServerURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { self == .sqlite ? "SQLite" : "PostgreSQL" }
}

/// Where one harness's store lives: a SQLite file, or a schema of its own on the test server
/// (the URL's `options` put it first on the search path), dropped with the harness.
enum StoreLocation: Sendable {
    case sqlite(path: String)
    case postgres(url: String, schema: String)

    static func make(_ kind: StoreKind, in directory: TemporaryDirectory) throws -> StoreLocation {
        switch kind {
        case .sqlite:
            return .sqlite(path: directory.file("otp.sqlite3"))
        case .postgres:
            let schema = "t_" + UUID().uuidString.prefix(13).lowercased().replacingOccurrences(of: "-", with: "")
            try PostgresTestServer.execute("CREATE SCHEMA \(schema)")
            return .postgres(url: try PostgresTestServer.url(schema: schema), schema: schema)
        }
    }

    func open(clock: any MonotonicClock, busyTimeoutMilliseconds: Int = 2000) throws(StoreError) -> any VersionedStore {
        switch self {
        case .sqlite(let path):
            try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds), clock: clock)
        case .postgres(let url, _):
            try PostgresOTPStore(configuration: PostgresConfiguration(url: Secret(url)), clock: clock)
        }
    }

    func remove() {
        if case .postgres(_, let schema) = self { try? PostgresTestServer.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
    }
}

/// The test server of `OTP_TEST_PG_URL`, reached through the adapter's own connection class.
enum PostgresTestServer {
    static func url(schema: String) throws -> String {
        guard let base = StoreKind.testServerURL else { throw PostgresTestError(message: "OTP_TEST_PG_URL is not set") }
        return base + (base.contains("?") ? "&" : "?") + "options=-c%20search_path%3D\(schema)"
    }

    /// SQL text without parameters, on a connection of its own (schemas, fixtures).
    @discardableResult
    static func execute(_ sql: String, schema: String? = nil) throws -> [[String?]] {
        guard let base = StoreKind.testServerURL else { throw PostgresTestError(message: "OTP_TEST_PG_URL is not set") }
        let connection = try PostgresConnection(configuration: PostgresConfiguration(url: Secret(schema.map { try url(schema: $0) } ?? base)), clock: SystemClock())
        let result = try connection.execute(sql)
        return result.rows.map { row in (0..<result.columns).map { row.text(Int32($0)) } }
    }
}

struct PostgresTestError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
