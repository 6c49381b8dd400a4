import CSQLite
import OTPLogic

/// One SQLite connection and its prepared statements. Owned by one thread; not `Sendable`.
final class SQLiteConnection {
    private let handle: OpaquePointer
    /// Prepared statements by the address of their SQL literal: no hashing of SQL text per request.
    private var statements: [UnsafeRawPointer: SQLiteStatement] = [:]

    /// Opens (creating if needed) the database, extended result codes on and the busy timeout set.
    /// Nothing is written yet: `configureForWriting` switches WAL on once the schema was checked.
    private let busyTimeoutMilliseconds: Int

    /// Process-wide settings, made once before the first connection opens (SQLite refuses them
    /// later). Memory statistics off: with them on, each of SQLite's allocations (some 30 per
    /// request) takes one mutex that every worker, the writer and the checkpointer share. Nothing
    /// here reads them. False if SQLite was already in use in this process.
    static let libraryConfigured: Bool = otp_sqlite_disable_memory_statistics() == SQLITE_OK

    init(path: String, busyTimeoutMilliseconds: Int, readOnly: Bool = false) throws(StoreError) {
        _ = SQLiteConnection.libraryConfigured
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        var opened: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &opened, flags, nil)
        guard rc == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(opened)
            throw SQLiteConnection.error(code: rc, message: "\(message) (opening \(path))")
        }
        handle = opened
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, Int32(busyTimeoutMilliseconds))
    }

    /// WAL and the durability level. Switching a database into WAL turns a read lock into a write
    /// lock, which SQLite refuses at once (no busy handler) while another connection writes; so
    /// the switch is retried for up to the busy timeout, like any other write would wait.
    func configureForWriting(synchronous: SQLiteConfiguration.Synchronous, clock: any MonotonicClock) throws(StoreError) {
        let deadline = clock.milliseconds() + busyTimeoutMilliseconds
        while true {
            do {
                try execute("PRAGMA journal_mode=WAL")
                break
            } catch where error.kind == .busy && clock.milliseconds() < deadline {
                clock.sleep(milliseconds: 10)
            }
        }
        try execute("PRAGMA synchronous=\(synchronous.rawValue.uppercased())")
        try execute("PRAGMA foreign_keys=ON")
    }

    /// Called by SQLite after each commit with the write-ahead log's size in pages; replaces the
    /// automatic checkpoint (see `WALCheckpointer`).
    func setWALHook(
        _ hook: (@convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32)?,
        context: UnsafeMutableRawPointer?
    ) {
        sqlite3_wal_hook(handle, hook, context)
    }

    /// Copies what it can of the write-ahead log into the database without taking the write lock
    /// or waiting for one; returns the log's size in pages (-1 when not known). Another checkpoint
    /// already running (`SQLITE_BUSY`) is not a failure.
    func checkpointPassive() throws(StoreError) -> Int32 {
        guard let log = SQLiteConnection.checkpointPassive(handle) else { throw failure(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
        return log
    }

    /// The same on a bare handle (the WAL hook gets one): the log's size, or nil when the
    /// checkpoint failed. Another checkpoint already running (`SQLITE_BUSY`) counts as run.
    static func checkpointPassive(_ handle: OpaquePointer) -> Int32? {
        var log: Int32 = -1
        var checkpointed: Int32 = -1
        let rc = sqlite3_wal_checkpoint_v2(handle, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &checkpointed)
        return rc == SQLITE_OK || rc & 0xff == SQLITE_BUSY ? log : nil
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs SQL text without bound values (schema, pragmas, transaction control).
    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw SQLiteConnection.error(code: sqlite3_extended_errcode(handle), message: "\(text) in: \(sql)")
        }
    }

    /// The prepared statement for `sql`, compiled once per connection and reused. Only literals:
    /// the cache is keyed by where the text lives.
    func statement(_ sql: StaticString) throws(StoreError) -> SQLiteStatement {
        let key = UnsafeRawPointer(sql.utf8Start)
        if let cached = statements[key] { return cached }
        let text = sql.description
        var prepared: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil)
        guard rc == SQLITE_OK, let prepared else {
            throw failure(sql: text)
        }
        let statement = SQLiteStatement(handle: prepared, connection: self, sql: text)
        statements[key] = statement
        return statement
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the last row inserted on this connection.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// The file's data version as this connection's pager counts it (`SQLITE_FCNTL_DATA_VERSION`).
    /// Only this connection's own calls move it: each of its commits adds one, and so does a
    /// transaction it starts that finds another connection (of this process or another) has
    /// committed since its last one. A function call, not a statement (`PRAGMA data_version`
    /// costs ten times as much).
    func fileDataVersion() -> UInt32 {
        var version: UInt32 = 0
        // nil: the main database.
        _ = sqlite3_file_control(handle, nil, SQLITE_FCNTL_DATA_VERSION, &version)
        return version
    }

    /// The error SQLite reports for the last call on this connection. Carries the SQL, never values.
    func failure(sql: String) -> StoreError {
        SQLiteConnection.error(code: sqlite3_extended_errcode(handle), message: "\(String(cString: sqlite3_errmsg(handle))) in: \(sql)")
    }

    static func error(code: Int32, message: String) -> StoreError {
        let kind: StoreError.Kind
        switch code & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED: kind = .busy
        case SQLITE_FULL: kind = .full
        case SQLITE_READONLY: kind = .readOnly
        case SQLITE_CANTOPEN: kind = .cannotOpen
        case SQLITE_CORRUPT, SQLITE_NOTADB: kind = .corrupt
        case SQLITE_IOERR where code == otp_sqlite_ioerr_write || code == otp_sqlite_ioerr_fsync: kind = .full
        default: kind = .other
        }
        return StoreError(kind: kind, detail: "(sqlite \(code)): \(message)")
    }
}

/// A prepared statement. Bind, step, read columns, and `reset` (done by `SQLiteConnection` users
/// through `run` and `query`, so a statement is never left mid-step holding a read lock).
final class SQLiteStatement {
    private let handle: OpaquePointer
    private unowned let connection: SQLiteConnection
    let sql: String
    /// The bytes of the bound text and blobs (see `bind`).
    private var boundBytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 256)

    init(handle: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.handle = handle
        self.connection = connection
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
        boundBytes.deallocate()
    }

    /// The core's parameter values, so records map to rows in one place (`StoredRow.swift`).
    typealias Value = StoredValue

    /// Binds `values`. Text and blobs are bound `SQLITE_STATIC` from `boundBytes`, which this
    /// statement owns and rewrites only here, after clearing the bindings that point into it:
    /// SQLite then keeps no copy of its own of each value (on every statement of every request).
    private func bind(_ values: [Value]) throws(StoreError) {
        // Every use ends in `sqlite3_reset` (the callers' `defer`), so no step is in progress.
        sqlite3_clear_bindings(handle)
        var size = 0
        for value in values {
            switch value {
            case .text(let text): size += text.utf8.count
            case .bytes(let bytes): size += bytes.count
            case .integer, .null: break
            }
        }
        if size > boundBytes.count {
            boundBytes.deallocate()
            boundBytes = .allocate(capacity: max(size, 2 * boundBytes.count))
        }
        // Never a null pointer, even for an empty value: a null one would bind NULL, not '' or x''.
        let base = boundBytes.baseAddress!
        let staticValue: sqlite3_destructor_type? = nil  // SQLITE_STATIC, a cast macro Swift does not import
        var used = 0
        func copy(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
            let start = base + used
            if let source = bytes.baseAddress { start.update(from: source, count: bytes.count) }
            used += bytes.count
            return start
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .integer(let number):
                rc = sqlite3_bind_int64(handle, index, number)
            case .text(var text):
                let (start, count) = text.withUTF8 { (copy($0), $0.count) }
                rc = start.withMemoryRebound(to: CChar.self, capacity: max(count, 1)) { sqlite3_bind_text(handle, index, $0, Int32(count), staticValue) }
            case .bytes(let bytes):
                rc = sqlite3_bind_blob(handle, index, bytes.withUnsafeBufferPointer(copy), Int32(bytes.count), staticValue)
            case .null:
                rc = sqlite3_bind_null(handle, index)
            }
            guard rc == SQLITE_OK else { throw connection.failure(sql: sql) }
        }
    }

    /// Executes a statement that returns no rows; returns the number of rows it changed.
    @discardableResult
    func run(_ values: [Value] = []) throws(StoreError) -> Int {
        try bind(values)
        defer { sqlite3_reset(handle) }
        let rc = sqlite3_step(handle)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw connection.failure(sql: sql) }
        return connection.changes
    }

    /// Executes a query and maps its first row, if any.
    func first<T>(_ values: [Value] = [], _ map: (Row) throws(StoreError) -> T) throws(StoreError) -> T? {
        try bind(values)
        defer { sqlite3_reset(handle) }
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return try map(Row(handle: handle))
        case SQLITE_DONE: return nil
        default: throw connection.failure(sql: sql)
        }
    }

    /// Executes a query and calls `visit` with each row.
    func each(_ values: [Value] = [], _ visit: (Row) -> Void) throws(StoreError) {
        try bind(values)
        defer { sqlite3_reset(handle) }
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: visit(Row(handle: handle))
            case SQLITE_DONE: return
            default: throw connection.failure(sql: sql)
            }
        }
    }

    /// Column access for the current row.
    struct Row: StoredRow {
        let handle: OpaquePointer

        func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
        func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
        func optionalInteger(_ column: Int32) -> Int64? { isNull(column) ? nil : integer(column) }
        func text(_ column: Int32) -> String? {
            guard let pointer = sqlite3_column_text(handle, column) else { return nil }
            return String(cString: pointer)
        }
        func bytes(_ column: Int32) -> [UInt8] {
            guard let pointer = sqlite3_column_blob(handle, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, column))))
        }
    }
}
