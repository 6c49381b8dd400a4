import CSQLite
import Foundation
import Logging
@testable import OTPLogic

/// A clock the test sets: "now" moves only when the test says so. With a `bootID` it also has a
/// boot-time clock, which `advance(by:)` moves with the wall clock and `set(_:)` (a wall-clock
/// step) leaves where it is.
final class FixedClock: UnixClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: UnixTime
    private var boot: BootClockReading?

    init(_ start: UnixTime = 1_700_000_000, bootID: String? = nil) {
        current = start
        boot = bootID.map { BootClockReading(bootID: $0, milliseconds: 5_000_000) }
    }

    func now() -> UnixTime { lock.withLock { current } }
    func bootClock() -> BootClockReading? { lock.withLock { boot } }

    /// Time passes.
    func advance(by seconds: Int64) {
        lock.withLock {
            current += seconds
            boot?.milliseconds += seconds * 1000
        }
    }

    /// The wall clock is stepped to `time`; the boot-time clock does not move.
    func set(_ time: UnixTime) { lock.withLock { current = time } }

    /// The machine restarted: a new boot id, its boot-time clock starting near zero.
    func reboot(as bootID: String) { lock.withLock { boot = BootClockReading(bootID: bootID, milliseconds: 10_000) } }
}

/// Records every message handed to it; `failNextSend(with:)` makes the next send throw.
final class RecordingSMSSender: SMSSender, @unchecked Sendable {
    private let lock = NSLock()
    private var attemptedMessages: [SMSMessage] = []
    private var deliveredMessages: [SMSMessage] = []
    private var pendingFailure: SMSError?
    private var hook: (@Sendable (SMSMessage) -> Void)?

    /// Every message `send` was called with, delivered or not.
    var attempted: [SMSMessage] { lock.withLock { attemptedMessages } }
    /// The messages the "provider" accepted.
    var delivered: [SMSMessage] { lock.withLock { deliveredMessages } }

    func failNextSend(with error: SMSError) { lock.withLock { pendingFailure = error } }

    /// What the sender claims; the service then sends inside the recording transaction.
    var deliversImmediately = false

    /// Runs `body` inside every later send, while the message is "with the provider".
    func whileSending(_ body: @escaping @Sendable (SMSMessage) -> Void) { lock.withLock { hook = body } }

    func send(_ message: SMSMessage) throws(SMSError) {
        if let hook = lock.withLock({ hook }) { hook(message) }
        let failure: SMSError? = lock.withLock {
            attemptedMessages.append(message)
            defer { pendingFailure = nil }
            if pendingFailure == nil { deliveredMessages.append(message) }
            return pendingFailure
        }
        if let failure { throw failure }
    }
}

/// SplitMix64: a small deterministic generator, for reproducible codes and tokens.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Returns the same word every time (0 gives the smallest value of any range).
struct ConstantRandom: RandomNumberGenerator {
    let value: UInt64
    func next() -> UInt64 { value }
}

/// Captures log events so tests can check what the log (and only the log) sees.
final class LogRecorder: @unchecked Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let lock = NSLock()
    private var stored: [Entry] = []

    var entries: [Entry] { lock.withLock { stored } }
    /// Every message and metadata value as one text, for "never logged" checks.
    var allText: String {
        entries.map { entry in ([entry.message] + entry.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ") }
            .joined(separator: "\n")
    }

    func append(_ entry: Entry) { lock.withLock { stored.append(entry) } }
    func values(of key: String) -> [String] { entries.compactMap { $0.metadata[key] } }
    func logger() -> Logger { Logger(label: "otp-test") { _ in RecordingLogHandler(recorder: self) } }
}

struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        recorder.append(.init(level: event.level, message: event.message.description, metadata: fields.mapValues(\.description)))
    }
}

/// Fixed inputs shared by the tests.
enum Fixture {
    static let pepper = "test-pepper-0123456789-abcdefghijklmnop"
    static let phone = PhoneNumber("+14155550123")!
    static let phoneDigits = "4155550123"
    static let otherPhone = PhoneNumber("+447700900123")!
    static let start: UnixTime = 1_700_000_000

    static var templates: MessageTemplates {
        MessageTemplates(
            verifyPhone: try! MessageTemplate(parsing: MessageTemplates.defaultVerifyPhone),
            stepUp: try! MessageTemplate(parsing: MessageTemplates.defaultStepUp)
        )
    }
}

/// `OTPError` reduced to an `Equatable` value so `#expect` can compare and print it.
enum Failure: Equatable {
    case notAuthenticated, invalidOrExpiredCode, stepUpDenied, recipientCannotReceiveSMS
    case storageUnavailable(StoreError.Kind)
    case smsUnavailable(retryAfter: Int)
    /// Something other than an `OTPError`.
    case unexpected(String)

    init(_ error: OTPError) {
        switch error {
        case .notAuthenticated: self = .notAuthenticated
        case .invalidOrExpiredCode: self = .invalidOrExpiredCode
        case .stepUpDenied: self = .stepUpDenied
        case .recipientCannotReceiveSMS: self = .recipientCannotReceiveSMS
        case .storageUnavailable(let store): self = .storageUnavailable(store.kind)
        case .smsUnavailable(let seconds): self = .smsUnavailable(retryAfter: seconds)
        }
    }
}

/// The error `body` threw, or nil when it succeeded.
func failure<T>(_ body: () throws -> T) -> Failure? {
    do {
        _ = try body()
        return nil
    } catch let error as OTPError {
        return Failure(error)
    } catch {
        return .unexpected("\(error)")
    }
}

/// A fresh directory under /tmp, removed (with everything in it) by `remove()`.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/otp-unit-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SQLiteTestError(message: "mkdtemp failed: errno \(errno)")
        }
        path = String(cString: created)
    }

    func file(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

struct SQLiteTestError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Direct access to a database file, bypassing the code under test.
enum SQLiteFile {
    /// Runs `sql` on a read-only connection; every column of every row as text (nil for NULL).
    static func query(_ path: String, _ sql: String) throws -> [[String?]] {
        try withConnection(path, flags: SQLITE_OPEN_READONLY) { db in
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
                throw SQLiteTestError(message: String(cString: sqlite3_errmsg(db)) + " in: " + sql)
            }
            defer { sqlite3_finalize(statement) }
            var rows: [[String?]] = []
            while true {
                let rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { return rows }
                guard rc == SQLITE_ROW else { throw SQLiteTestError(message: String(cString: sqlite3_errmsg(db))) }
                rows.append((0..<sqlite3_column_count(statement)).map { column in
                    guard sqlite3_column_type(statement, column) != SQLITE_NULL, let text = sqlite3_column_text(statement, column) else { return nil }
                    return String(cString: text)
                })
            }
        }
    }

    /// Runs SQL that changes the file (test setup only), creating the file if needed.
    static func execute(_ path: String, _ sql: String) throws {
        try withConnection(path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) { db in
            var message: UnsafeMutablePointer<CChar>?
            guard sqlite3_exec(db, sql, nil, nil, &message) == SQLITE_OK else {
                defer { sqlite3_free(message) }
                throw SQLiteTestError(message: message.map { String(cString: $0) } ?? "sqlite3_exec failed")
            }
        }
    }

    /// The bytes of the database file and its WAL, where everything written ends up.
    static func rawBytes(_ path: String) -> Data {
        var data = Data()
        for file in [path, path + "-wal"] {
            if let contents = FileManager.default.contents(atPath: file) { data.append(contents) }
        }
        return data
    }

    /// Holds the file's write lock from another connection while `body` runs.
    static func whileWriteLocked<T>(_ path: String, _ body: () throws -> T) throws -> T {
        try withConnection(path, flags: SQLITE_OPEN_READWRITE) { db in
            guard sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else { throw SQLiteTestError(message: "no write lock") }
            defer { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
            return try body()
        }
    }

    private static func withConnection<T>(_ path: String, flags: Int32, _ body: (OpaquePointer) throws -> T) throws -> T {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, flags, nil) == SQLITE_OK, let db else {
            sqlite3_close_v2(db)
            throw SQLiteTestError(message: "cannot open \(path)")
        }
        defer { sqlite3_close_v2(db) }
        sqlite3_busy_timeout(db, 5000)
        return try body(db)
    }
}

extension Data {
    func contains(text: String) -> Bool { range(of: Data(text.utf8)) != nil }
}

/// Runs `body` on `count` threads of their own. Each calls the barrier it is given once its setup
/// is done; all are released together, so their work overlaps as much as possible.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (_ index: Int, _ barrier: @Sendable () -> Void) -> Void) -> Bool {
    let ready = DispatchGroup()
    let done = DispatchGroup()
    let start = DispatchSemaphore(value: 0)
    for index in 0..<count {
        ready.enter()
        done.enter()
        let thread = Thread {
            body(index) {
                ready.leave()
                start.wait()
            }
            done.leave()
        }
        thread.stackSize = 4 << 20
        thread.start()
    }
    guard ready.wait(timeout: .now() + 60) == .success else { return false }
    for _ in 0..<count { start.signal() }
    return done.wait(timeout: .now() + 120) == .success
}

/// A lock-protected value threads can append to.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
