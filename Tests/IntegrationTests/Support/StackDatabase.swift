import Foundation
import Testing

/// Which store a test stack runs on. PostgreSQL stacks each get a fresh database
/// (`CREATE DATABASE otp_<random>`) on the server of `OTP_TEST_PG_URL` (make test starts one:
/// scripts/with-postgres.sh); without that variable only SQLite runs.
enum StackDatabase: Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// SQLite always; PostgreSQL when a test server is configured.
    static var all: [StackDatabase] { PostgresServer.url == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { self == .sqlite ? "SQLite" : "PostgreSQL" }
}

/// The test cluster of scripts/with-postgres.sh.
enum PostgresServer {
    static var url: String? { ProcessInfo.processInfo.environment["OTP_TEST_PG_URL"] }
    /// pg_ctl for the cluster, run as its owner.
    static var control: String? { ProcessInfo.processInfo.environment["OTP_TEST_PG_CTL"] }

    /// `url` with its database replaced by `name`.
    static func url(database name: String) throws -> String {
        guard let url else { throw StackError("OTP_TEST_PG_URL is not set") }
        guard let slash = url.range(of: "/", range: url.range(of: "://")!.upperBound..<url.endIndex) else { throw StackError("no database in \(url)") }
        let rest = url[slash.upperBound...]
        let query = rest.firstIndex(of: "?").map { rest[$0...] } ?? ""
        return String(url[..<slash.upperBound]) + name + query
    }

    /// Runs SQL with psql against `url`; the rows as `a|b` lines, like the sqlite3 shell prints them.
    @discardableResult
    static func psql(_ url: String, _ sql: String) throws -> String {
        let result = try ChildProcess.run("/usr/bin/psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], stderr: .inherit)
        guard result.status == 0 else { throw StackError("psql failed: \(sql)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func createDatabase() throws -> String {
        let name = "otp_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        try psql(try url(database: "postgres"), "CREATE DATABASE \(name)")
        return name
    }

    static func dropDatabase(_ name: String) {
        _ = try? psql(try url(database: "postgres"), "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// `pg_ctl stop -m immediate` (a crash, as far as clients can tell) or `start`.
    static func control(_ arguments: [String]) throws {
        guard let control else { throw StackError("OTP_TEST_PG_CTL is not set") }
        // No pipe to the child: the server it starts would inherit the write end and keep it open.
        let result = try ChildProcess.run(control, arguments, stdout: .discard, stderr: .discard, timeout: 60)
        guard result.status == 0 else { throw StackError("pg_ctl \(arguments) failed") }
    }
}
