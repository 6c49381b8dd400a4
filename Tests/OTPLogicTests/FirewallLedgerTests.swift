import Foundation
import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSystem
import TestSupport

/// The SQLite store's firewall records: held in each process, shared through the change log.
/// A store opened by another spelling of the same path has its own commit group and ledger, as
/// another process would.
@Suite("SMS firewall ledger (SQLite)")
struct FirewallLedgerTests {
    static let now: UnixTime = 1_800_000_000
    static let alice = BudgetKey(.user, "alice")
    static let germany = BudgetKey(.country, "DE")

    /// The same file as another process sees it.
    static func otherProcess(_ path: String) throws -> SQLiteOTPStore {
        let url = URL(fileURLWithPath: path)
        return try SQLiteOTPStore(
            configuration: SQLiteConfiguration(path: url.deletingLastPathComponent().path + "/./" + url.lastPathComponent), clock: SystemClock()
        )
    }

    static func charge(_ store: SQLiteOTPStore, _ keys: [BudgetKey], at now: UnixTime = FirewallLedgerTests.now) throws {
        try store.writeTransaction { transaction throws(StoreError) in
            var records = FirewallRecords(keys: keys, stored: try transaction.firewallRecords(keys))
            for key in keys { records.apply(.charged(key, at: now)) }
            try transaction.saveFirewallRecords(records)
        }
    }

    static func used(_ store: SQLiteOTPStore, _ key: BudgetKey, at now: UnixTime = FirewallLedgerTests.now) throws -> Int {
        try store.writeTransaction { transaction throws(StoreError) in
            try transaction.firewallRecords([key]).first?.window.used(at: now) ?? 0
        }
    }

    @Test func twoProcessesSeeEachOthersChangesExactly() throws {
        let h = try Harness()
        let first = h.sqliteStore
        let second = try Self.otherProcess(h.dbPath)
        #expect(first.commits !== second.commits)
        for round in 1...5 {
            try Self.charge(first, [Self.alice, .total])
            try Self.charge(second, [Self.alice, Self.germany])
            #expect(try Self.used(first, Self.alice) == 2 * round)
            #expect(try Self.used(second, Self.alice) == 2 * round)
            #expect(try Self.used(second, .total) == round)
            #expect(try Self.used(first, Self.germany) == round)
        }
        // `firewall status` (no ledger) reads the same from the file.
        let status = try first.firewallRecords()
        #expect(status.map { $0.key } == [Self.germany, BudgetKey.total, Self.alice])
        #expect(status.map { $0.window.used(at: Self.now) } == [5, 5, 10])
    }

    /// A process's own commits move its connection's data version as another process's commits
    /// do; a commit must not let the ledger take the other process's change for its own.
    @Test func anotherProcessesChangeIsSeenAfterCommitsThatDoNotTouchTheFirewall() throws {
        let h = try Harness()
        let first = h.sqliteStore
        let second = try Self.otherProcess(h.dbPath)
        try Self.charge(first, [Self.alice])
        #expect(try Self.used(first, Self.alice) == 1)
        // A lone statement in autocommit (the step-up check's kind) after the other's change.
        try Self.charge(second, [Self.alice])
        #expect(try first.commits.perform(statement: "DELETE FROM sms_deliveries WHERE rowid = -1", []) == 0)
        #expect(try Self.used(first, Self.alice) == 2)
        // A transaction of several statements, the firewall untouched, after the other's change.
        try Self.charge(second, [Self.alice])
        try first.writeTransaction { transaction throws(StoreError) in
            let connection = (transaction as! SQLiteTransaction).connection
            try connection.statement("DELETE FROM sms_deliveries WHERE rowid = -1").run()
            try connection.statement("DELETE FROM sms_deliveries WHERE rowid = -2").run()
        }
        #expect(try Self.used(first, Self.alice) == 3)
        // Its own commits alone leave it in step: its own changes count once each.
        for round in 1...3 {
            #expect(try first.commits.perform(statement: "DELETE FROM sms_deliveries WHERE rowid = -1", []) == 0)
            try Self.charge(first, [Self.alice])
            #expect(try Self.used(first, Self.alice) == 3 + round)
        }
        #expect(try Self.used(second, Self.alice) == 6)
    }

    @Test func aRolledBackTransactionLeavesNoChangeBehind() throws {
        let h = try Harness()
        let store = h.sqliteStore
        try Self.charge(store, [Self.alice])
        #expect(throws: StoreError.self) {
            try store.writeTransaction { transaction throws(StoreError) in
                var records = FirewallRecords(keys: [Self.alice], stored: try transaction.firewallRecords([Self.alice]))
                records.apply(.charged(Self.alice, at: Self.now))
                try transaction.saveFirewallRecords(records)
                throw StoreError(kind: .other, detail: "the request failed after charging")
            }
        }
        #expect(try Self.used(store, Self.alice) == 1)
        #expect(try Self.used(try Self.otherProcess(h.dbPath), Self.alice) == 1)
        #expect(try h.rows("SELECT count(*) FROM sms_firewall_log") == [["1"]])
        try Self.charge(store, [Self.alice])
        #expect(try Self.used(store, Self.alice) == 2)
    }

    @Test func aPurgeCompactsTheLogAndEveryProcessStillCountsTheSame() throws {
        let h = try Harness()
        let first = h.sqliteStore
        let second = try Self.otherProcess(h.dbPath)
        let old = BudgetKey(.user, "gone")
        try Self.charge(first, [old], at: Self.now - 7200)
        try Self.charge(first, [Self.alice, .total])
        try Self.charge(second, [Self.alice])
        try first.writeTransaction { transaction throws(StoreError) in
            var records = FirewallRecords(keys: [Self.germany], stored: [])
            _ = SMSFirewall(configuration: FirewallChangeTests.configuration()).recordSend(&records, country: Self.germany, tag: 42, at: Self.now)
            try transaction.saveFirewallRecords(records)
        }
        #expect(try h.rows("SELECT count(*) FROM sms_firewall_log") == [["4"]])

        _ = try first.purge(RetentionPolicy(rules: RulesConfiguration()).purgeCutoffs(at: Self.now))
        // One empty anchor row; the records in the table, the one in which nothing counts gone.
        #expect(try h.rows("SELECT id, length(changes) FROM sms_firewall_log") == [["5", "0"]])
        #expect(try h.rows("SELECT scope, key FROM sms_firewall ORDER BY scope, key") == [["country", "DE"], ["total", ""], ["user", "alice"]])

        // The second process last saw row 3: rows 4 and below are gone, so it loads everything again.
        try Self.charge(second, [Self.alice])
        #expect(try Self.used(second, Self.alice) == 3)
        #expect(try Self.used(first, Self.alice) == 3)
        #expect(try Self.used(second, .total) == 1)
        #expect(try second.writeTransaction { transaction throws(StoreError) in try transaction.firewallRecords([Self.germany]) }.first?.tripwire.entries.map(\.tag) == [42])
        #expect(try Self.used(second, old, at: Self.now - 7200) == 0, "the empty record is gone everywhere")
        // A third process reads the table and the rows after the anchor.
        let third = try Self.otherProcess(h.dbPath)
        #expect(try third.firewallRecords() == first.firewallRecords())
        #expect(try Self.used(third, Self.alice) == 3)
    }

    /// The ledger finds a send's records where the last read found them while no key came or
    /// went; new keys move records as the ledger's table grows, and reads and writes must follow.
    @Test func recordsStayExactWhileNewKeysMoveTheTable() throws {
        let h = try Harness()
        let store = h.sqliteStore
        for round in 1...300 {
            try Self.charge(store, [Self.alice, .total])
            // A new user with each round: the ledger grows (and rehashes) under the keys read before.
            try Self.charge(store, [BudgetKey(.user, "user-\(round)"), .total])
            #expect(try Self.used(store, Self.alice) == round)
            #expect(try Self.used(store, .total) == 2 * round)
        }
        // Every record as another process reads it from the file: nothing went to the wrong key.
        let records = try Self.otherProcess(h.dbPath).firewallRecords()
        #expect(records.count == 302)
        #expect(records.allSatisfy { record in
            record.window.used(at: Self.now) == (record.key == .total ? 600 : record.key == Self.alice ? 300 : 1)
        })
    }

    @Test func aDatabaseOfSchemaThreeKeepsItsFirewallRecords() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("v3.sqlite3")
        let window = BudgetWindow().charged(at: Self.now).charged(at: Self.now + 1)
        let row = FirewallRecord(key: Self.alice, window: window)
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        try SQLiteFile.execute(path, Schema.migrations[0..<3].joined(separator: "\n") + """
            INSERT INTO sms_firewall (scope, key, window, tripwire) VALUES ('user', 'alice', x'\(hex(row.window.encoded))', x'');
            PRAGMA user_version = 3;
            """)
        let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock())
        #expect(store.migration.from == 3 && store.migration.to == Schema.currentVersion)
        #expect(try store.firewallRecords() == [row])
        try Self.charge(store, [Self.alice])
        #expect(try Self.used(store, Self.alice) == 3)
    }

    @Test func anUnreadableLogRowIsACorruptDatabaseNotASilentZero() throws {
        let h = try Harness()
        try Self.charge(h.sqliteStore, [Self.alice])
        try h.execute("INSERT INTO sms_firewall_log (changes) VALUES (x'07')")
        let other = try Self.otherProcess(h.dbPath)
        #expect {
            _ = try Self.used(other, Self.alice)
        } throws: { error in
            (error as? StoreError)?.kind == .corrupt
        }
    }
}
