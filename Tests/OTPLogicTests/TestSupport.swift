import CSQLite
import Foundation
import Logging
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

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

    /// The firewall without budgets: the tests of other rules send as often as they like.
    static var firewall: FirewallConfiguration {
        var configuration = FirewallConfiguration()
        configuration.limits = [:]
        configuration.tripwireSends = 0
        return configuration
    }

    /// Two actions of the operator's, and `agent` may act for others.
    static let stepUp = StepUpConfiguration(
        actions: StepUpActions(["cancel-appointment": "cancel your appointment", "change-payout": "change your payout account"]),
        delegates: ["agent"]
    )
}

/// `OTPError` reduced to an `Equatable` value so `#expect` can compare and print it.
enum Failure: Equatable {
    case notAuthenticated, invalidOrExpiredCode, stepUpDenied, recipientCannotReceiveSMS
    case notADelegate, unknownAction, noVerifiedPhone, notThePhoneOnRecord, phoneChangeNeedsStepUp
    case smsBlocked(FirewallBlock)
    case storageUnavailable(StoreError.Kind)
    case smsUnavailable(retryAfter: Int)
    /// Something other than an `OTPError`.
    case unexpected(String)

    init(_ error: OTPError) {
        switch error {
        case .notAuthenticated: self = .notAuthenticated
        case .invalidOrExpiredCode: self = .invalidOrExpiredCode
        case .stepUpDenied: self = .stepUpDenied
        case .notADelegate: self = .notADelegate
        case .unknownAction: self = .unknownAction
        case .noVerifiedPhone: self = .noVerifiedPhone
        case .notThePhoneOnRecord: self = .notThePhoneOnRecord
        case .phoneChangeNeedsStepUp: self = .phoneChangeNeedsStepUp
        case .smsBlocked(let block): self = .smsBlocked(block)
        case .recipientCannotReceiveSMS: self = .recipientCannotReceiveSMS
        case .storageUnavailable(let kind): self = .storageUnavailable(kind)
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
        _ = SQLiteConnection.libraryConfigured  // as the store does before SQLite's first use
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

extension OTPStore {
    /// Purges what `RetentionPolicy` says may go at `now`, as `serve` does every minute.
    func purgeExpired(at now: UnixTime, rules: RulesConfiguration) throws(StoreError) -> PurgeCounts {
        try purge(RetentionPolicy(rules: rules).purgeCutoffs(at: now))
    }
}

extension OTPService {
    /// The step-up check at a location without an action, for `user` acting for themselves: the user admitted.
    func consumeStepUpToken(_ token: String?, user: String?) throws(OTPError) -> String {
        try consumeStepUpToken(token, principal: user).user
    }
}
