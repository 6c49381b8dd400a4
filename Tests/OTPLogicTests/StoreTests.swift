import CSQLite
import Foundation
import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

@Suite("SQLite store")
struct StoreTests {
    @Test func freshDatabaseGetsTheCurrentSchemaVersionAndItsTables() throws {
        let h = try Harness()
        #expect(try h.rows("PRAGMA user_version") == [[String(Schema.currentVersion)]])
        #expect(try h.store.schemaVersion() == Schema.currentVersion)
        let tables = try h.rows("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").compactMap { $0[0] }
        #expect(tables == ["notification_preferences", "otp_codes", "sms_deliveries", "sms_firewall", "sms_firewall_log", "step_up_tokens", "users"])
    }

    @Test func sqliteKeepsNoMemoryStatisticsSoItsAllocationsShareNoLock() throws {
        let h = try Harness()
        try h.send()
        #expect(SQLiteConnection.libraryConfigured, "configured before SQLite's first use in the process")
        // With the statistics on, this counts every byte SQLite holds (its caches, the statements).
        #expect(sqlite3_memory_used() == 0)
    }

    @Test func databaseIsInWALMode() throws {
        let h = try Harness()
        #expect(try h.rows("PRAGMA journal_mode") == [["wal"]])
    }

    @Test func reopeningAnUpToDateDatabaseMigratesNothingAndKeepsTheData() throws {
        let h = try Harness()
        try h.send()
        let second = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: h.dbPath), clock: SystemClock())
        #expect(second.migration.from == Schema.currentVersion)
        #expect(second.migration.to == Schema.currentVersion)
        #expect(try h.rows("SELECT count(*) FROM otp_codes") == [["1"]])
    }

    @Test func versionOneDatabaseIsMigratedKeepingItsRows() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("v1.sqlite3")
        try SQLiteFile.execute(path, Schema.migrations[0] + """
            INSERT INTO users (user_id, phone_e164, phone_verified) VALUES ('alice', '+14155550123', 1);
            PRAGMA user_version = 1;
            """)
        let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock())
        #expect(store.migration.from == 1)
        #expect(store.migration.to == Schema.currentVersion)
        #expect(try SQLiteFile.query(path, "PRAGMA user_version") == [[String(Schema.currentVersion)]])
        #expect(try SQLiteFile.query(path, "SELECT user_id, phone_verified FROM users") == [["alice", "1"]])
    }

    /// Version 5 moves codes, tokens and deliveries from key-ordered (WITHOUT ROWID) tables into
    /// rowid tables: every row and value stays, the keys stay unique, and the store finds the rows.
    @Test func versionFourDatabaseGetsRowidTablesKeepingEveryRowAndKey() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("v4.sqlite3")
        let codeColumns = """
            phone_hash, purpose, owner, action, code_hash, issued_at, expires_at, attempts, send_count, send_window_start,
            last_sent_at, verified_at, pending_code_hash, pending_since, pending_action, country, issued_boot_id, issued_boot_ms
            """
        let tokenColumns = "token_hash, user_id, created_at, expires_at, used_at, created_boot_id, created_boot_ms, action"
        let deliveryColumns = "provider, message_id, purpose, sent_at, status, status_at, error_code"
        try SQLiteFile.execute(path, Schema.migrations[0..<4].joined(separator: "\n") + """
            INSERT INTO otp_codes (\(codeColumns)) VALUES
                ('ph-b', 'step_up', 'alice', 'payout', 'code-b', 100, 400, 2, 3, 90, 100, NULL, 'pending-b', 99, 'payout', 'NL', 'boot-1', 1234),
                ('ph-a', 'verify_phone', '', NULL, 'code-a', 200, 300, 0, 1, 200, 200, 250, NULL, NULL, NULL, 'US', 'boot-1', 5678);
            INSERT INTO step_up_tokens (\(tokenColumns)) VALUES
                ('tok-b', 'alice', 100, 700, NULL, 'boot-1', 1000, 'payout'),
                ('tok-a', 'bob', 50, 650, 60, NULL, NULL, NULL);
            INSERT INTO sms_deliveries (\(deliveryColumns)) VALUES
                ('twilio', 'SM2', 'step_up', 120, 'delivered', 130, NULL),
                ('twilio', 'SM1', 'verify_phone', 110, 'failed', 115, '30003');
            PRAGMA user_version = 4;
            """)
        let rows = {
            try [
                SQLiteFile.query(path, "SELECT \(codeColumns) FROM otp_codes ORDER BY phone_hash"),
                SQLiteFile.query(path, "SELECT \(tokenColumns) FROM step_up_tokens ORDER BY token_hash"),
                SQLiteFile.query(path, "SELECT \(deliveryColumns) FROM sms_deliveries ORDER BY message_id"),
            ]
        }
        let before = try rows()

        let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock())
        #expect(store.migration.from == 4)
        #expect(store.migration.to == Schema.currentVersion)
        #expect(try rows() == before)
        #expect(try SQLiteFile.query(path, "PRAGMA integrity_check") == [["ok"]])
        // Rowid tables, rows in the order of time (expiry, creation, sending), as new rows go.
        #expect(try SQLiteFile.query(path, "SELECT phone_hash FROM otp_codes ORDER BY rowid") == [["ph-a"], ["ph-b"]])
        #expect(try SQLiteFile.query(path, "SELECT token_hash FROM step_up_tokens ORDER BY rowid") == [["tok-a"], ["tok-b"]])
        #expect(try SQLiteFile.query(path, "SELECT message_id FROM sms_deliveries ORDER BY rowid") == [["SM1"], ["SM2"]])
        // Deliveries have two unique keys since version 6: the reference, and the message id of rows
        // without one. Codes have an index by time; tokens and deliveries, since version 7, are in
        // time order by rowid and have none.
        for (table, uniqueKeys, byTime) in [("otp_codes", "1", "1"), ("step_up_tokens", "1", "0"), ("sms_deliveries", "2", "0")] {
            #expect(try SQLiteFile.query(path, "SELECT count(*) FROM pragma_index_list('\(table)') WHERE \"unique\" = 1") == [[uniqueKeys]], "\(table)")
            #expect(try SQLiteFile.query(path, "SELECT count(*) FROM pragma_index_list('\(table)') WHERE \"unique\" = 0") == [[byTime]], "\(table): by time")
        }

        // The store finds the migrated rows by their keys, and the keys are still unique.
        #expect(try store.stepUpToken(hash: "tok-b")?.userID == "alice")
        let code = try store.writeTransaction { transaction throws(StoreError) in
            try transaction.codeRecord(phoneHash: "ph-b", purpose: .stepUp, owner: "alice")
        }
        #expect(code?.attempts == 2)
        #expect(code?.action == "payout")
        #expect(throws: SQLiteTestError.self) {
            try SQLiteFile.execute(path, "INSERT INTO step_up_tokens (token_hash, user_id, created_at, expires_at) VALUES ('tok-a', 'eve', 1, 2)")
        }
        #expect(throws: SQLiteTestError.self) {
            try SQLiteFile.execute(path, "INSERT INTO sms_deliveries (\(deliveryColumns)) VALUES ('twilio', 'SM1', 'step_up', 1, 'sent', NULL, NULL)")
        }
    }

    /// Version 6 keys deliveries by our reference: the rows from before keep every value, have no
    /// reference, and are still found by (and unique by) their message id, through an index of
    /// only those rows; new rows are found by reference and write no entry to that index.
    @Test func versionFiveDeliveriesStayFindableByMessageIDAndNewOnesGoByReference() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("v5.sqlite3")
        let columns = "provider, message_id, purpose, sent_at, status, status_at, error_code"
        try SQLiteFile.execute(path, Schema.migrations[0..<5].joined(separator: "\n") + """
            INSERT INTO sms_deliveries (\(columns)) VALUES
                ('twilio', 'SM1', 'verify_phone', 110, 'failed', 115, '30003'),
                ('vonage', 'V2', 'step_up', 120, 'sent', NULL, NULL);
            PRAGMA user_version = 5;
            """)
        let before = try SQLiteFile.query(path, "SELECT \(columns) FROM sms_deliveries ORDER BY rowid")

        let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock())
        #expect(store.migration.from == 5)
        #expect(try SQLiteFile.query(path, "SELECT \(columns) FROM sms_deliveries ORDER BY rowid") == before)
        #expect(try SQLiteFile.query(path, "SELECT count(*) FROM sms_deliveries WHERE reference IS NULL") == [["2"]])
        #expect(try SQLiteFile.query(path, "PRAGMA integrity_check") == [["ok"]])

        let reference = try #require(DeliveryReference("019ab697e87b0123456789abcdef"))
        let fresh = SMSDeliveryRecord(provider: "twilio", messageID: "SM3", purpose: .stepUp, sentAt: 130, reference: reference)
        let found = try store.writeTransaction { transaction throws(StoreError) in
            try transaction.insertSMSDelivery(fresh)
            return (
                try transaction.smsDelivery(provider: "vonage", messageID: "V2"), try transaction.smsDelivery(reference: reference),
                try transaction.smsDelivery(provider: "twilio", messageID: "SM3")
            )
        }
        #expect(found.0 == SMSDeliveryRecord(provider: "vonage", messageID: "V2", purpose: .stepUp, sentAt: 120))
        #expect(found.1 == fresh)
        #expect(found.2 == nil, "a row with a reference is not looked up by message id")
        #expect(try SQLiteFile.query(path, "SELECT count(*) FROM sms_deliveries INDEXED BY sms_deliveries_unreferenced WHERE reference IS NULL") == [["2"]])
        let plan = try SQLiteFile.query(path, "EXPLAIN QUERY PLAN SELECT * FROM sms_deliveries WHERE provider = 'twilio' AND message_id = 'SM1' AND reference IS NULL")
        #expect(plan.flatMap { $0 }.contains { $0?.contains("USING INDEX sms_deliveries_unreferenced") == true }, "\(plan)")
        #expect(throws: SQLiteTestError.self) {
            try SQLiteFile.execute(path, "INSERT INTO sms_deliveries (\(columns)) VALUES ('twilio', 'SM1', 'step_up', 1, 'sent', NULL, NULL)")
        }
        #expect(throws: SQLiteTestError.self) {
            try SQLiteFile.execute(path, "INSERT INTO sms_deliveries (\(columns), reference) VALUES ('vonage', 'V9', 'step_up', 1, 'sent', NULL, NULL, '\(reference.text)')")
        }
    }

    /// Version 7 drops the indexes on a token's expiry and a delivery's send time, keeping every
    /// row. Without them the purge takes the oldest rows, in the order they were written, up to the
    /// first one it must keep: never a row before its time; a row that expired early (a token of a
    /// shorter TTL, a send time behind a clock step) waits for the rows written before it.
    @Test func versionSevenPurgesTokensAndDeliveriesInTheOrderTheyWereWritten() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("v6.sqlite3")
        let tokenColumns = "token_hash, user_id, created_at, expires_at, used_at, created_boot_id, created_boot_ms, action"
        let deliveryColumns = "provider, message_id, purpose, sent_at, status, status_at, error_code, reference"
        try SQLiteFile.execute(path, Schema.migrations[0..<6].joined(separator: "\n") + """
            INSERT INTO step_up_tokens (\(tokenColumns)) VALUES
                ('h1', 'alice', 100, 400, NULL, NULL, NULL, NULL),
                ('h2', 'bob', 110, 1000, 120, 'boot', 5, 'cancel'),
                ('h3', 'carol', 120, 500, NULL, NULL, NULL, NULL),
                ('h4', 'dave', 130, 1200, NULL, NULL, NULL, NULL);
            INSERT INTO sms_deliveries (\(deliveryColumns)) VALUES
                ('twilio', 'SM1', 'verify_phone', 300, 'failed', 315, '30003', NULL),
                ('vonage', 'V2', 'step_up', 500, 'sent', NULL, NULL, '019ab697e87b0123456789abcdef'),
                ('vonage', 'V3', 'step_up', 400, 'delivered', 410, NULL, '019ab697e87c0123456789abcdef'),
                ('twilio', 'SM4', 'step_up', 600, 'sent', NULL, NULL, '019ab697e87d0123456789abcdef');
            PRAGMA user_version = 6;
            """)
        let tokensBefore = try SQLiteFile.query(path, "SELECT \(tokenColumns) FROM step_up_tokens ORDER BY rowid")
        let deliveriesBefore = try SQLiteFile.query(path, "SELECT \(deliveryColumns) FROM sms_deliveries ORDER BY rowid")

        let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock())
        #expect(store.migration.from == 6)
        #expect(try SQLiteFile.query(path, "SELECT \(tokenColumns) FROM step_up_tokens ORDER BY rowid") == tokensBefore)
        #expect(try SQLiteFile.query(path, "SELECT \(deliveryColumns) FROM sms_deliveries ORDER BY rowid") == deliveriesBefore)
        #expect(try SQLiteFile.query(path, "PRAGMA integrity_check") == [["ok"]])
        #expect(try SQLiteFile.query(path, """
            SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('step_up_tokens', 'sms_deliveries')
              AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name
            """) == [["sms_deliveries_reference"], ["sms_deliveries_unreferenced"]])

        // The recent deliveries are exactly those sent since then, in any order.
        #expect(Set(try store.smsDeliveries(sentSince: 450).map(\.messageID)) == ["V2", "SM4"])

        var cutoffs = RetentionPolicy(rules: RulesConfiguration()).purgeCutoffs(at: 600)
        cutoffs.deliverySentBy = 450
        // h1 and SM1 go; h3 and V3 are past their cutoffs too, but wait behind h2 and V2.
        #expect(try store.purge(cutoffs) == PurgeCounts(codes: 0, tokens: 1, deliveries: 1))
        #expect(try SQLiteFile.query(path, "SELECT token_hash FROM step_up_tokens ORDER BY rowid") == [["h2"], ["h3"], ["h4"]])
        #expect(try SQLiteFile.query(path, "SELECT message_id FROM sms_deliveries ORDER BY rowid") == [["V2"], ["V3"], ["SM4"]])
        cutoffs.tokenExpiredBy = 1000
        cutoffs.deliverySentBy = 599
        #expect(try store.purge(cutoffs) == PurgeCounts(codes: 0, tokens: 2, deliveries: 2))
        #expect(try SQLiteFile.query(path, "SELECT token_hash FROM step_up_tokens") == [["h4"]])
        #expect(try SQLiteFile.query(path, "SELECT message_id FROM sms_deliveries") == [["SM4"]])

        // Rows written after the purge keep the order.
        try store.writeTransaction { transaction throws(StoreError) in
            try transaction.insertStepUpToken(hash: "h5", StepUpTokenRecord(
                userID: "erin", action: nil, createdAt: 1100, expiresAt: 1400, createdBoot: nil, usedAt: nil))
        }
        cutoffs.tokenExpiredBy = 1300
        #expect(try store.purge(cutoffs).tokens == 1)
        #expect(try SQLiteFile.query(path, "SELECT token_hash FROM step_up_tokens") == [["h5"]])
        #expect(try SQLiteFile.query(path, "PRAGMA integrity_check") == [["ok"]])
    }

    @Test func databaseFromANewerVersionIsRefusedAndLeftUntouched() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("newer.sqlite3")
        let newer = Schema.currentVersion + 1
        try SQLiteFile.execute(path, "CREATE TABLE future (x INTEGER); INSERT INTO future VALUES (7); PRAGMA user_version = \(newer);")
        let before = try #require(FileManager.default.contents(atPath: path))

        #expect {
            _ = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock())
        } throws: { error in
            (error as? StoreError)?.kind == .schemaTooNew
        }

        #expect(try SQLiteFile.query(path, "PRAGMA user_version") == [[String(newer)]])
        #expect(try SQLiteFile.query(path, "SELECT name FROM sqlite_schema WHERE type = 'table'") == [["future"]])
        #expect(try SQLiteFile.query(path, "PRAGMA journal_mode") == [["delete"]])
        #expect(FileManager.default.contents(atPath: path) == before)
    }

    /// Opens `path` while another connection holds its write lock for 300 ms; describes the outcome.
    private func openWhileAnotherConnectionWrites(_ path: String) throws -> String {
        let locked = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        Thread {
            _ = try? SQLiteFile.whileWriteLocked(path) {
                locked.signal()
                usleep(300_000)
            }
            released.signal()
        }.start()
        try #require(locked.wait(timeout: .now() + 10) == .success)
        defer { released.wait() }
        do {
            let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path, busyTimeoutMilliseconds: 5000), clock: SystemClock())
            return "opened at version \(try store.schemaVersion())"
        } catch {
            return "failed: \(error)"
        }
    }

    @Test func openingWaitsForAnotherWriterOnADatabaseAlreadyInWALMode() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("shared.sqlite3")
        try SQLiteFile.execute(path, "PRAGMA journal_mode=WAL; CREATE TABLE app_data (x INTEGER);")
        let outcome = try openWhileAnotherConnectionWrites(path)
        #expect(outcome == "opened at version \(Schema.currentVersion)")
    }

    // Fails: `PRAGMA journal_mode=WAL` upgrades a read to a write, and SQLite answers SQLITE_BUSY
    // at once rather than call the busy handler (it could deadlock), so the busy timeout does not help.
    @Test func openingWaitsForAnotherWriterOnADatabaseNotYetInWALMode() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("shared.sqlite3")
        // A database another application already writes to, in SQLite's default rollback-journal mode.
        try SQLiteFile.execute(path, "CREATE TABLE app_data (x INTEGER);")
        let outcome = try openWhileAnotherConnectionWrites(path)
        #expect(outcome == "opened at version \(Schema.currentVersion)")
    }

    @Test func unopenableDatabaseIsReportedAsCannotOpen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect {
            _ = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: directory.file("missing/otp.sqlite3")), clock: SystemClock())
        } throws: { error in
            (error as? StoreError)?.kind == .cannotOpen
        }
    }

    @Test func pingSucceedsOnAnOpenDatabase() throws {
        let h = try Harness()
        #expect(throws: Never.self) { try h.store.ping() }
        #expect(h.service.isHealthy())
    }
}

@Suite("Purging expired rows")
struct PurgeTests {
    @Test func purgeKeepsARowWhoseCodeExpiredButWhoseHourlyWindowIsOpen() throws {
        let h = try Harness(rules: .with { $0.resendCooldownSeconds = 0; $0.maxSendsPerHour = 3; $0.codeTTLSeconds = 600 })
        for _ in 0..<3 {
            try h.send()
            h.clock.advance(by: 1)
        }
        h.clock.set(Fixture.start + 700)
        #expect(try h.store.purgeExpired(at: h.clock.now(), rules: h.rules) == PurgeCounts(codes: 0, tokens: 0))
        #expect(try h.rows("SELECT count(*) FROM otp_codes") == [["1"]])
        // The cap still holds after the purge.
        #expect(try h.send() == .suppressed(.hourlyCap))
    }

    @Test func purgeDeletesACodeRowOnceCodeWindowAndCooldownAreAllOver() throws {
        let h = try Harness(rules: .with { $0.codeTTLSeconds = 600 })
        try h.send()
        #expect(try h.store.purgeExpired(at: Fixture.start + 3599, rules: h.rules).codes == 0)
        #expect(try h.store.purgeExpired(at: Fixture.start + 3600, rules: h.rules) == PurgeCounts(codes: 1, tokens: 0))
        #expect(try h.rows("SELECT count(*) FROM otp_codes") == [["0"]])
    }

    @Test func purgeKeepsARowWhileItsCooldownRuns() throws {
        let h = try Harness(rules: .with { $0.codeTTLSeconds = 60; $0.resendCooldownSeconds = 3600; $0.sendWindowSeconds = 120 })
        try h.send()
        #expect(try h.store.purgeExpired(at: Fixture.start + 3599, rules: h.rules).codes == 0)
        #expect(try h.store.purgeExpired(at: Fixture.start + 3600, rules: h.rules).codes == 1)
    }

    @Test func purgeKeepsARowWhoseSendIsInFlight() throws {
        let h = try Harness(rules: .with { $0.sendInFlightSeconds = 60 })
        let counts = Locked<[PurgeCounts]>([])
        let path = h.dbPath
        let rules = h.rules
        h.sender.whileSending { _ in
            // Another worker purges while the provider has the message.
            guard let other = try? SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock()) else { return }
            for offset: Int64 in [10, 59] {
                if let purged = try? other.purgeExpired(at: Fixture.start + offset, rules: rules) { counts.update { $0.append(purged) } }
            }
        }
        #expect(try h.send() == .sent)
        #expect(counts.value == [PurgeCounts(codes: 0, tokens: 0), PurgeCounts(codes: 0, tokens: 0)])
        #expect(try h.verify(try #require(h.lastCode)) == .phoneVerified)
    }

    @Test func purgeDeletesAnAbandonedReservationAfterTheInFlightLimit() throws {
        let h = try Harness(rules: .with { $0.sendInFlightSeconds = 60 })
        let counts = Locked<[PurgeCounts]>([])
        let path = h.dbPath
        let rules = h.rules
        h.sender.whileSending { _ in
            guard let other = try? SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock()),
                  let purged = try? other.purgeExpired(at: Fixture.start + 60, rules: rules) else { return }
            counts.update { $0.append(purged) }
        }
        // The reservation was purged under the send: the delivered code cannot be recorded.
        #expect(failure { try h.send() } == .smsUnavailable(retryAfter: 5))
        #expect(counts.value == [PurgeCounts(codes: 1, tokens: 0)])
    }

    @Test func purgeDeletesExpiredTokensAndCountsThem() throws {
        let h = try Harness(rules: .with { $0.stepUpTokenTTLSeconds = 300 })
        _ = try h.stepUpToken(user: "alice")
        h.clock.advance(by: 60)
        _ = try h.stepUpToken(user: "alice")
        #expect(try h.store.purgeExpired(at: Fixture.start + 299, rules: h.rules).tokens == 0)
        #expect(try h.store.purgeExpired(at: Fixture.start + 300, rules: h.rules) == PurgeCounts(codes: 0, tokens: 1))
        #expect(try h.rows("SELECT expires_at FROM step_up_tokens") == [[String(Fixture.start + 360)]])
        #expect(try h.store.purgeExpired(at: Fixture.start + 360, rules: h.rules).tokens == 1)
        #expect(try h.rows("SELECT count(*) FROM step_up_tokens") == [["0"]])
    }
}

@Suite("Opening the store on an injected clock")
struct StoreOpeningClockTests {
    @Test func walSwitchRetriesOnTheInjectedClockAndGivesUpAtTheBusyTimeout() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("shared.sqlite3")
        try SQLiteFile.execute(path, "CREATE TABLE app_data (x INTEGER);")
        let clock = FixedClock()
        try SQLiteFile.whileWriteLocked(path) {
            #expect {
                _ = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path, busyTimeoutMilliseconds: 200), clock: clock)
            } throws: { error in
                (error as? StoreError)?.kind == .busy
            }
        }
        // 10 ms at a time on the test's clock: the whole busy timeout passed without real waiting.
        #expect(clock.sleeps.count == 20)
        #expect(clock.sleeps.allSatisfy { $0 == 10 })
    }
}
