import Testing
@testable import OTPLogic
@testable import OTPSQLite
import TestSupport

/// A prepared statement binds its text and blobs from a buffer of its own that the next use
/// rewrites: values must come back exactly, whatever ran on the statement before.
@Suite("SQLite statement binding")
struct SQLiteStatementTests {
    private static func connection() throws -> (SQLiteConnection, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let connection = try SQLiteConnection(path: directory.file("bind.sqlite3"), busyTimeoutMilliseconds: 1_000)
        try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b BLOB, c TEXT)")
        return (connection, directory)
    }

    private struct Stored: Equatable {
        var a: String?
        var aIsNull: Bool
        var b: [UInt8]
        var bIsNull: Bool
        var c: String?
    }

    private static func row(_ id: Int64, in connection: SQLiteConnection) throws -> Stored? {
        try connection.statement("SELECT a, a IS NULL, b, b IS NULL, c FROM t WHERE id = ?1").first([.integer(id)]) { row in
            Stored(a: row.text(0), aIsNull: row.integer(1) == 1, b: row.bytes(2), bIsNull: row.integer(3) == 1, c: row.text(4))
        }
    }

    @Test func emptyTextAndEmptyBlobAreStoredEmptyNotNull() throws {
        let (connection, directory) = try SQLiteStatementTests.connection()
        defer { directory.remove() }
        try connection.statement("INSERT INTO t (id, a, b, c) VALUES (?1, ?2, ?3, ?4)").run([.integer(1), .text(""), .bytes([]), .null])
        let stored = try SQLiteStatementTests.row(1, in: connection)
        #expect(stored == Stored(a: "", aIsNull: false, b: [], bIsNull: false, c: nil))
    }

    @Test func valuesLongerThanAnyBeforeAndShorterAfterComeBackExactly() throws {
        let (connection, directory) = try SQLiteStatementTests.connection()
        defer { directory.remove() }
        // Lengths around the statement's first buffer (256 bytes) and well past it, then short
        // again: each row must hold its own values, none of a neighbour's bytes.
        let lengths = [3, 250, 0, 257, 4_000, 1, 700, 12]
        var expected: [Int64: Stored] = [:]
        for (index, length) in lengths.enumerated() {
            let id = Int64(index + 1)
            let a = String(repeating: "é\(index)", count: max(length / 3, 0))
            let b = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            let c = "tail \(index) ✓"
            try connection.statement("INSERT INTO t (id, a, b, c) VALUES (?1, ?2, ?3, ?4)").run([.integer(id), .text(a), .bytes(b), .text(c)])
            expected[id] = Stored(a: a, aIsNull: false, b: b, bIsNull: false, c: c)
        }
        for (id, stored) in expected {
            #expect(try SQLiteStatementTests.row(id, in: connection) == stored, "row \(id)")
        }
    }

    @Test func aQueryBoundWithTextFindsOnlyItsOwnRowEachTime() throws {
        let (connection, directory) = try SQLiteStatementTests.connection()
        defer { directory.remove() }
        let names = ["x", "a much longer name than the one before it, and then some more text", "", "y"]
        for (index, name) in names.enumerated() {
            try connection.statement("INSERT INTO t (id, a, b, c) VALUES (?1, ?2, ?3, ?4)").run([.integer(Int64(index + 1)), .text(name), .bytes([1]), .null])
        }
        for (index, name) in names.enumerated().reversed() {
            let found = try connection.statement("SELECT id FROM t WHERE a = ?1").first([.text(name)]) { $0.integer(0) }
            #expect(found == Int64(index + 1), "\(name.debugDescription)")
        }
        #expect(try connection.statement("SELECT id FROM t WHERE a = ?1").first([.text("x ")]) { $0.integer(0) } == nil)
    }

    @Test func parametersLeftUnboundByAShorterListAreNullNotTheLastValues() throws {
        let (connection, directory) = try SQLiteStatementTests.connection()
        defer { directory.remove() }
        try connection.statement("INSERT INTO t (id, a, b, c) VALUES (?1, ?2, ?3, ?4)").run([.integer(1), .text("first"), .bytes([9]), .text("kept?")])
        try connection.statement("INSERT INTO t (id, a, b, c) VALUES (?1, ?2, ?3, ?4)").run([.integer(2), .text("second")])
        let stored = try SQLiteStatementTests.row(2, in: connection)
        #expect(stored?.a == "second")
        #expect(stored?.bIsNull == true)
        #expect(stored?.c == nil)
    }
}
