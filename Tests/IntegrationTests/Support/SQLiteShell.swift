import Foundation

/// Reads a value with the sqlite3 command-line shell (a separate process, as an operator would).
func sqlite(_ database: String, _ sql: String) throws -> String {
    try ChildProcess.run("/usr/bin/sqlite3", [database, sql], stderr: .inherit).output.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Runs SQL through the sqlite3 shell, failing the test setup if it fails.
func sqliteExec(_ database: String, _ sql: String) throws {
    let result = try ChildProcess.run("/usr/bin/sqlite3", ["-bail", "-cmd", ".timeout 5000", database], stdin: .bytes(Array(sql.utf8)), stdout: .inherit)
    guard result.status == 0 else { throw StackError("sqlite3 failed: \(sql)") }
}
