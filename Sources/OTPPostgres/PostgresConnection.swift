import CPq
import OTPLogic

#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection, its prepared statements and its reconnection. Owned by one thread; not
/// `Sendable`. A lost connection is replaced on the next use, not before the back-off allows
/// (`ReconnectBackoff` on the injected clock); until then every use fails as `.unreachable`.
final class PostgresConnection {
    private var handle: OpaquePointer?
    /// Names of the statements prepared on the current connection.
    private var prepared: Set<String> = []
    private var backoff = ReconnectBackoff()
    private let configuration: PostgresConfiguration
    private let clock: any MonotonicClock
    /// Inside BEGIN … COMMIT: a lost connection lost the transaction, so nothing is retried.
    private(set) var inTransaction = false
    /// A check-config session: the server refuses its writes.
    private let readOnly: Bool

    /// Connects once; a database that cannot be reached at start is `.cannotOpen`. `readOnly`
    /// sessions (check-config) cannot write even by mistake.
    init(configuration: PostgresConfiguration, clock: any MonotonicClock, readOnly: Bool = false) throws(StoreError) {
        self.configuration = configuration
        self.clock = clock
        self.readOnly = readOnly
        do {
            try connect()
        } catch {
            throw StoreError(kind: .cannotOpen, detail: error.detail)
        }
    }

    deinit {
        PQfinish(handle)
    }

    // MARK: Connecting

    private func connect() throws(StoreError) {
        PQfinish(handle)
        handle = nil
        prepared.removeAll()
        // The URL comes last and wins: its own connect_timeout, application_name or options are kept.
        let keywords = ["connect_timeout", "application_name", "dbname"]
        let values = ["\(configuration.connectTimeoutSeconds)", "otp-fcgi", configuration.url.value]
        let connection = withCStrings(keywords) { keywordPointers in
            withCStrings(values) { valuePointers in PQconnectdbParams(keywordPointers, valuePointers, 1) }
        }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.map { PostgresConnection.firstLine(PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(connection)
            backoff.failed(at: clock.nanoseconds())
            throw StoreError(kind: .unreachable, detail: "(postgres): \(configuration.scrub(message)) (connecting to \(configuration.redactedURL))")
        }
        otp_pq_silence_notices(connection)
        handle = connection
        // The session as the store needs it, whatever the server's defaults: READ COMMITTED (the
        // exactness argument assumes it), a bound on any statement stuck behind a lock.
        let session = "SET statement_timeout = \(configuration.statementTimeoutMilliseconds); SET default_transaction_isolation = 'read committed'"
            + (readOnly ? "; SET default_transaction_read_only = on" : "")
        do {
            try check(PQexec(connection, session), "SET (session)")
        } catch {
            backoff.failed(at: clock.nanoseconds())
            throw error
        }
        backoff.succeeded()
    }

    /// The live connection, reconnecting first if it was lost and the back-off allows.
    private func live() throws(StoreError) -> OpaquePointer {
        if let handle, PQstatus(handle) == CONNECTION_OK { return handle }
        let now = clock.nanoseconds()
        guard backoff.allowsAttempt(at: now) else {
            throw StoreError(
                kind: .unreachable,
                detail: "(postgres): connection lost; next attempt in \(backoff.millisecondsToWait(at: now)) ms (\(configuration.redactedURL))"
            )
        }
        try connect()
        return handle!
    }

    // MARK: Statements

    /// Runs a prepared statement with its parameters (text, or binary for bytes), preparing it on
    /// this connection first if needed. Outside a transaction, a statement that failed because
    /// the connection had been lost (the server restarted meanwhile) runs once more on a new one.
    @discardableResult
    func run(_ statement: PostgresStatement, _ values: [StoredValue] = []) throws(StoreError) -> PostgresResult {
        try retryingOnALostConnection { () throws(StoreError) -> PostgresResult in try runOnce(statement, values) }
    }

    /// Outside a transaction, a statement that failed because the connection we had was lost
    /// (the server restarted, a failover, an idle timeout) runs once more on a new connection.
    /// Inside one, the transaction went with the connection: the failure stands.
    private func retryingOnALostConnection<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        let hadConnection = handle != nil
        do {
            return try body()
        } catch where error.kind == .unreachable && hadConnection && handle == nil && !inTransaction {
            return try body()
        }
    }

    private func runOnce(_ statement: PostgresStatement, _ values: [StoredValue]) throws(StoreError) -> PostgresResult {
        let connection = try live()
        if !prepared.contains(statement.name) {
            try check(PQprepare(connection, statement.name, statement.sql, 0, nil), statement.name)
            prepared.insert(statement.name)
        }
        let texts: [String?] = values.map { value in
            switch value {
            case .integer(let number): String(number)
            case .text(let text): text
            case .bytes, .null: nil
            }
        }
        let formats: [Int32] = values.map { if case .bytes = $0 { 1 } else { 0 } }
        let lengths: [Int32] = values.map { if case .bytes(let bytes) = $0 { Int32(bytes.count) } else { 0 } }
        let blobs: [[UInt8]?] = values.map { if case .bytes(let bytes) = $0 { bytes } else { nil } }
        let result = withParameterPointers(texts: texts, blobs: blobs) { pointers in
            PQexecPrepared(connection, statement.name, Int32(values.count), pointers, lengths, formats, 0)
        }
        return try check(result, statement.name)
    }

    /// Runs SQL text without parameters (transaction control, migrations).
    @discardableResult
    func execute(_ sql: String) throws(StoreError) -> PostgresResult {
        try retryingOnALostConnection { () throws(StoreError) -> PostgresResult in try check(PQexec(try live(), sql), sql) }
    }

    func begin() throws(StoreError) {
        try execute("BEGIN")
        inTransaction = true
    }

    func commit() throws(StoreError) {
        defer { inTransaction = false }
        try execute("COMMIT")
    }

    func rollback() {
        defer { inTransaction = false }
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return }
        PQclear(PQexec(handle, "ROLLBACK"))
    }

    /// The result, or the error it carries (its SQLSTATE and primary message, and the statement:
    /// never a bound value). A lost connection is dropped here, to be replaced on the next use.
    @discardableResult
    private func check(_ result: OpaquePointer?, _ what: String) throws(StoreError) -> PostgresResult {
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK, let result { return PostgresResult(result) }
        defer { PQclear(result) }
        let lost = handle.map { PQstatus($0) != CONNECTION_OK } ?? true
        let sqlState = result.flatMap { PQresultErrorField($0, otp_pq_diag_sqlstate) }.map { String(cString: $0) }
        let message = result.flatMap { PQresultErrorField($0, otp_pq_diag_message_primary) }.map { String(cString: $0) }
            ?? handle.map { PostgresConnection.firstLine(PQerrorMessage($0)) } ?? "no connection"
        if lost {
            PQfinish(handle)
            handle = nil
            prepared.removeAll()
        }
        let kind = lost ? .unreachable : PostgresConnection.kind(ofSQLState: sqlState)
        throw StoreError(kind: kind, detail: "(postgres \(sqlState ?? "-----")): \(message) in: \(what)")
    }

    /// SQLSTATE classes as the port's kinds (PostgreSQL manual, appendix A).
    static func kind(ofSQLState state: String?) -> StoreError.Kind {
        guard let state else { return .unreachable }
        switch state {
        case "40001", "40P01", "55P03", "57014": return .busy          // serialization, deadlock, lock not available, statement timeout
        case "53100": return .full                                     // disk full
        case "25006": return .readOnly                                 // read-only transaction (a standby, or a read-only session)
        case "57P01", "57P02", "57P03": return .unreachable            // server shutting down, crashed, starting
        case "XX001", "XX002": return .corrupt
        default: break
        }
        switch state.prefix(2) {
        case "08": return .unreachable                                 // connection exception
        case "28", "3D": return .cannotOpen                            // authorization, no such database
        case "53": return .busy                                        // out of memory, too many connections
        default: return .other
        }
    }

    static func firstLine(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "unknown error" }
        return String(cString: text).split(separator: "\n").first.map(String.init) ?? "unknown error"
    }
}

/// A statement prepared once per connection under its name.
struct PostgresStatement: Sendable {
    let name: String
    let sql: String
}

/// The rows of one result, read in libpq's text format; frees the result when it goes.
final class PostgresResult {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQclear(handle)
    }

    var count: Int { Int(PQntuples(handle)) }

    var columns: Int { Int(PQnfields(handle)) }

    /// Rows an INSERT, UPDATE or DELETE changed.
    var changes: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    func row(_ index: Int) -> Row { Row(owner: self, index: Int32(index)) }

    var rows: [Row] { (0..<count).map(row) }

    /// One row; it keeps its result alive.
    struct Row: StoredRow {
        let owner: PostgresResult
        let index: Int32
        private var result: OpaquePointer { owner.handle }

        func text(_ column: Int32) -> String? {
            PQgetisnull(result, index, column) == 1 ? nil : String(cString: PQgetvalue(result, index, column))
        }

        func optionalInteger(_ column: Int32) -> Int64? { text(column).flatMap { Int64($0) } }

        func boolean(_ column: Int32) -> Bool { text(column) == "t" }

        /// bytea in the text format: `\x` and two hex digits a byte.
        func bytes(_ column: Int32) -> [UInt8] {
            guard let text = text(column), text.hasPrefix("\\x") else { return [] }
            var bytes: [UInt8] = []
            bytes.reserveCapacity((text.utf8.count - 2) / 2)
            var high: UInt8?
            for digit in text.utf8.dropFirst(2) {
                let value: UInt8 = switch digit {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
                default: 0
                }
                if let first = high {
                    bytes.append(first << 4 | value)
                    high = nil
                } else {
                    high = value
                }
            }
            return bytes
        }
    }
}

/// C strings for `strings`, alive while `body` runs, in a NULL-terminated array.
private func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Parameter pointers for `PQexecPrepared`: text values as C strings, bytes as they are, NULL for
/// a missing value. Everything stays alive while `body` runs.
private func withParameterPointers<T>(texts: [String?], blobs: [[UInt8]?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
    var allocations: [UnsafeMutableRawPointer] = []
    defer { allocations.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = []
    for (text, blob) in zip(texts, blobs) {
        if let text {
            let copy = strdup(text)!
            allocations.append(UnsafeMutableRawPointer(copy))
            pointers.append(UnsafePointer(copy))
        } else if let blob {
            let copy = malloc(max(blob.count, 1))!
            blob.withUnsafeBytes { if let base = $0.baseAddress { copy.copyMemory(from: base, byteCount: blob.count) } }
            allocations.append(copy)
            pointers.append(UnsafePointer(copy.assumingMemoryBound(to: CChar.self)))
        } else {
            pointers.append(nil)
        }
    }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
