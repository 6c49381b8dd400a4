import Foundation
import MetricsTestKit
import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSystem
import TestSupport

/// Group commit in the SQLite store: concurrent write transactions share one BEGIN … COMMIT,
/// each in its own savepoint.
@Suite("Group commit")
struct GroupCommitTests {
    /// Opens `count` stores on the file at `path` and runs `body` on each from its own thread, the
    /// first one's transaction holding the writer until all the others are queued behind it.
    private func batchBehindABlocker(
        _ path: String, count: Int, _ body: @escaping @Sendable (Int, any OTPStoreTransaction) throws(StoreError) -> Void
    ) throws -> [StoreError.Kind?] {
        try behindABlocker(path, count: count, blocker: { transaction throws(StoreError) in try body(0, transaction) }) { index, store throws(StoreError) in
            try store.writeTransaction { transaction throws(StoreError) in try body(index, transaction) }
        }
    }

    /// Store 0's write transaction holds the writer (then runs `blocker`) until stores 1..<count,
    /// each on its own thread, have started `follower`; each one's failure, by index.
    private func behindABlocker(
        _ path: String, count: Int, blocker: @escaping @Sendable (any OTPStoreTransaction) throws(StoreError) -> Void,
        follower: @escaping @Sendable (Int, SQLiteOTPStore) throws(StoreError) -> Void
    ) throws -> [StoreError.Kind?] {
        let stores = OwnStores(try (0..<count).map { _ in try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock()) })
        let group = stores[0].commits
        let queuedBefore = group.jobs.load(ordering: .relaxed)
        let release = DispatchSemaphore(value: 0)
        let blockerEntered = DispatchSemaphore(value: 0)
        let results = Locked<[Int: StoreError.Kind?]>([:])
        let done = DispatchGroup()
        done.enter()
        Thread {
            let error = GroupCommitTests.kind { () throws(StoreError) in
                try stores[0].writeTransaction { transaction throws(StoreError) in
                    blockerEntered.signal()
                    release.wait()
                    try blocker(transaction)
                }
            }
            results.update { $0[0] = error }
            done.leave()
        }.start()
        blockerEntered.wait()
        for index in 1..<count {
            done.enter()
            Thread {
                let error = GroupCommitTests.kind { () throws(StoreError) in try follower(index, stores[index]) }
                results.update { $0[index] = error }
                done.leave()
            }.start()
        }
        // Every other request queued behind the running transaction: then let it finish.
        let deadline = Date().addingTimeInterval(10)
        while group.jobs.load(ordering: .relaxed) - queuedBefore < 1 && Date() < deadline { usleep(1000) }
        usleep(200_000)
        release.signal()
        _ = done.wait(timeout: .now() + 30)
        return (0..<count).map { results.value[$0] ?? nil }
    }

    private static func kind(_ work: () throws(StoreError) -> Void) -> StoreError.Kind? {
        do {
            try work()
            return nil
        } catch {
            return error.kind
        }
    }

    private static func token(_ index: Int) -> StepUpTokenRecord {
        StepUpTokenRecord(userID: "user\(index)", createdAt: Fixture.start, expiresAt: Fixture.start + 300)
    }

    @Test func aFileOpenedAgainAfterItsStoresAreGoneGetsAWriterOfItsOwn() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("otp.sqlite3")
        do {
            let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock())
            try store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: "old", GroupCommitTests.token(0)) }
        }
        // The file is replaced (restored from a backup, say) after its last store closed.
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock())
        try store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: "new", GroupCommitTests.token(1)) }

        let reader = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1_000)
        #expect(try reader.statement("SELECT group_concat(token_hash) FROM step_up_tokens").first { $0.text(0) } == "new",
                "the write reached the file at the path, not the one the earlier writer had open")
    }

    @Test func requestsWaitingForTheWriterCommitTogetherInOneBatch() throws {
        let h = try Harness()
        let group = h.sqliteStore.commits
        let batchesBefore = group.batches.load(ordering: .relaxed)
        let results = try batchBehindABlocker(h.dbPath, count: 8) { index, transaction throws(StoreError) in
            try transaction.insertStepUpToken(hash: "t\(index)", GroupCommitTests.token(index))
        }
        #expect(results.allSatisfy { $0 == nil })
        #expect(try h.rows("SELECT count(*) FROM step_up_tokens") == [["8"]])
        #expect(group.batches.load(ordering: .relaxed) - batchesBefore == 2, "the blocker's batch, then the seven that queued behind it")
    }

    @Test func theStoreCountsItsBatchesAndTheMetricsCarryThemWhenRead() throws {
        let h = try Harness()
        let read = try #require(h.sqliteStore.writeBatches)
        let metrics = TestMetrics()
        let published = WriteBatchMetrics(factory: metrics)
        published.publish(read())
        let before = read()
        _ = try batchBehindABlocker(h.dbPath, count: 8) { index, transaction throws(StoreError) in
            try transaction.insertStepUpToken(hash: "t\(index)", GroupCommitTests.token(index))
        }
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: "alone", GroupCommitTests.token(9)) }
        let after = read()
        #expect(after.batches - before.batches == 3, "the blocker's batch, the seven behind it, the lone write")
        #expect(after.writes - before.writes == 9)
        // Nothing reaches the metrics between reads; a read carries all of it, a second one nothing more.
        #expect(try metrics.expectCounter("otp_db_write_batches_total").totalValue == Int64(before.batches))
        published.publish(after)
        published.publish(after)
        #expect(try metrics.expectCounter("otp_db_write_batches_total").totalValue == Int64(after.batches))
        #expect(try metrics.expectCounter("otp_db_batched_writes_total").totalValue == Int64(after.writes))
    }

    @Test func oneRequestsConstraintViolationRollsBackOnlyItsOwnWork() throws {
        let h = try Harness()
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: "taken", GroupCommitTests.token(99)) }
        let results = try batchBehindABlocker(h.dbPath, count: 5) { index, transaction throws(StoreError) in
            try transaction.insertStepUpToken(hash: "own\(index)", GroupCommitTests.token(index))
            // Request 3 writes, then breaks a constraint: its own row must go, the others stay.
            if index == 3 { try transaction.insertStepUpToken(hash: "taken", GroupCommitTests.token(index)) }
        }
        #expect(results == [nil, nil, nil, .other, nil])
        let hashes = try h.rows("SELECT token_hash FROM step_up_tokens ORDER BY token_hash").compactMap { $0[0] }
        #expect(hashes == ["own0", "own1", "own2", "own4", "taken"])
    }

    @Test func aRolledBackRequestsFirewallChargeIsNotHeldByTheProcess() throws {
        let h = try Harness()
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: "taken", GroupCommitTests.token(99)) }
        let alice = BudgetKey(.user, "alice")
        let results = try batchBehindABlocker(h.dbPath, count: 5) { index, transaction throws(StoreError) in
            var records = FirewallRecords(keys: [alice], stored: try transaction.firewallRecords([alice]))
            records.apply(.charged(alice, at: Fixture.start))
            try transaction.saveFirewallRecords(records)
            // Request 3 charges, then fails: its charge must go with its savepoint.
            if index == 3 { try transaction.insertStepUpToken(hash: "taken", GroupCommitTests.token(index)) }
        }
        #expect(results == [nil, nil, nil, .other, nil])
        let used = { (store: SQLiteOTPStore) throws -> Int in
            try store.writeTransaction { transaction throws(StoreError) in
                try transaction.firewallRecords([alice]).first?.window.used(at: Fixture.start) ?? 0
            }
        }
        #expect(try used(h.sqliteStore) == 4)
        #expect(try used(FirewallLedgerTests.otherProcess(h.dbPath)) == 4)
        #expect(try h.rows("SELECT count(*) FROM sms_firewall_log") == [["4"]])
    }

    @Test func aBatchWhoseWriterCannotGetTheLockFailsEveryRequestAndLeavesNothing() throws {
        let h = try Harness()
        let path = h.dbPath
        let stores = OwnStores(try (0..<6).map { _ in
            try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path, busyTimeoutMilliseconds: 200), clock: SystemClock())
        })
        let results = Locked<[StoreError.Kind?]>([])
        try SQLiteFile.whileWriteLocked(path) {
            let finished = runOnThreads(6) { index, barrier in
                barrier()
                let error = GroupCommitTests.kind { () throws(StoreError) in
                    try stores[index].writeTransaction { transaction throws(StoreError) in
                        try transaction.insertStepUpToken(hash: "t\(index)", GroupCommitTests.token(index))
                    }
                }
                results.update { $0.append(error) }
            }
            #expect(finished)
        }
        #expect(results.value.count == 6)
        #expect(results.value.allSatisfy { $0 == .busy })
        #expect(try h.rows("SELECT count(*) FROM step_up_tokens") == [["0"]])
        // The service answers such a request with the 503 for a busy database.
        #expect(ErrorResponses.response(for: OTPError.storageUnavailable(.busy)).status == 503)
    }

    /// The step-up check's one statement runs without `BEGIN` when it is alone: it still waits for
    /// another process's write lock up to the busy timeout, and past it fails busy, consuming nothing.
    @Test func aLoneCheckWaitsOutAnotherProcessesLockAndPastTheTimeoutFailsBusy() throws {
        let h = try Harness()
        let path = h.dbPath
        let bounds = StepUpTokenBounds(now: Fixture.start + 1, bootID: nil, bootCreatedBy: 0, bootCreatedAfter: 0)
        // The file's writing connection, shared by every store of the process on it, waits 2 s.
        let stores = OwnStores([try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path, busyTimeoutMilliseconds: 2_000), clock: SystemClock())])
        let store = stores[0]
        try store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: "first", GroupCommitTests.token(0)) }
        let batchesBefore = store.commits.batches.load(ordering: .relaxed)

        let started = Date()
        let refusal = try SQLiteFile.whileWriteLocked(path) {
            GroupCommitTests.kind { () throws(StoreError) in
                _ = try store.consumeStepUpToken(hash: "first", userID: "user0", action: nil, within: bounds)
            }
        }
        #expect(refusal == .busy)
        #expect(Date().timeIntervalSince(started) >= 1.9, "it waited out the busy timeout")
        #expect(try h.rows("SELECT count(*) FROM step_up_tokens WHERE used_at IS NOT NULL") == [["0"]])

        // The lock is let go 300 ms into the statement's wait: it goes through then, once.
        let finished = DispatchSemaphore(value: 0)
        let answer = Locked<String?>(nil)
        try SQLiteFile.whileWriteLocked(path) {
            Thread {
                let result: String
                do throws(StoreError) {
                    result = "consumed: \(try stores[0].consumeStepUpToken(hash: "first", userID: "user0", action: nil, within: bounds))"
                } catch {
                    result = "\(error.kind)"
                }
                answer.update { $0 = result }
                finished.signal()
            }.start()
            usleep(300_000)
            #expect(answer.value == nil, "the statement waits while the lock is held")
        }
        #expect(finished.wait(timeout: .now() + 10) == .success)
        #expect(answer.value == "consumed: true")
        #expect(try store.consumeStepUpToken(hash: "first", userID: "user0", action: nil, within: bounds) == false, "a token is consumed once")
        #expect(try h.rows("SELECT token_hash FROM step_up_tokens WHERE used_at IS NOT NULL") == [["first"]])
        #expect(store.commits.batches.load(ordering: .relaxed) - batchesBefore == 3, "each check a batch of its own, the refused one too")
    }

    /// Behind a running batch, the check's statement is a job of the next batch, in its savepoint:
    /// the others of that batch commit with it, and a refused one changes nothing.
    @Test func checksQueuedBehindABatchCommitTogether() throws {
        let h = try Harness()
        let bounds = StepUpTokenBounds(now: Fixture.start + 1, bootID: nil, bootCreatedBy: 0, bootCreatedAfter: 0)
        try h.sqliteStore.writeTransaction { transaction throws(StoreError) in
            for index in 1..<4 { try transaction.insertStepUpToken(hash: "t\(index)", GroupCommitTests.token(index)) }
        }
        let group = h.sqliteStore.commits
        let batchesBefore = group.batches.load(ordering: .relaxed)
        let answers = Locked<[Int: Bool]>([:])
        let failures = try behindABlocker(h.dbPath, count: 5, blocker: { _ throws(StoreError) in }) { index, store throws(StoreError) in
            // Store 4 presents a token nobody holds: refused, the others unaffected.
            let answer = try store.consumeStepUpToken(hash: "t\(min(index, 4))", userID: "user\(index)", action: nil, within: bounds)
            answers.update { $0[index] = answer }
        }
        #expect(failures == Array(repeating: nil, count: 5))
        #expect(answers.value == [1: true, 2: true, 3: true, 4: false])
        #expect(group.batches.load(ordering: .relaxed) - batchesBefore == 2, "the blocker's batch, then the four checks as one")
        #expect(try h.rows("SELECT group_concat(token_hash) FROM (SELECT token_hash FROM step_up_tokens WHERE used_at IS NOT NULL ORDER BY 1)") == [["t1,t2,t3"]])
    }

    @Test func aBatchWhoseCommitFindsTheDiskFullFailsEveryRequestAndLeavesNothing() throws {
        let mount = try TemporaryMount(sizeKilobytes: 1024)
        defer { mount.remove() }
        let path = mount.path + "/otp.sqlite3"
        let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path), clock: SystemClock())
        try store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: "before", GroupCommitTests.token(0)) }
        let group = store.commits
        let batchesBefore = group.batches.load(ordering: .relaxed)

        try mount.fill()
        // The blocker writes nothing; each of the five behind it writes more rows than the log has
        // room for on the full file system, so the batch's log pages cannot all be written.
        let results = try batchBehindABlocker(path, count: 6) { index, transaction throws(StoreError) in
            guard index > 0 else { return }
            for row in 0..<300 {
                try transaction.insertStepUpToken(hash: "batch-\(index)-\(row)-" + String(repeating: "f", count: 64), GroupCommitTests.token(index))
            }
        }
        #expect(results[0] == nil)
        #expect(Array(results.dropFirst()) == Array(repeating: .full, count: 5), "every request of the batch hears the disk is full")
        #expect(group.batches.load(ordering: .relaxed) - batchesBefore == 2, "the blocker's batch, then the five that queued behind it")
        // The service answers each of them with the 503 for a full disk.
        #expect(ErrorResponses.response(for: OTPError.storageUnavailable(.full)).status == 503)

        mount.free()
        let reader = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1_000)
        #expect(try reader.statement("SELECT group_concat(token_hash) FROM step_up_tokens").first { $0.text(0) } == "before",
                "the database is as it was before the batch")
        try store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: "after", GroupCommitTests.token(1)) }
        #expect(try reader.statement("SELECT count(*) FROM step_up_tokens").first { $0.integer(0) } == 2, "writes go on once there is room")
        #expect(try reader.statement("PRAGMA integrity_check").first { $0.text(0) } == "ok")
    }

    @Test func twoHundredParallelWrongGuessesAreThreeEvaluationsWithBatching() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3 })
        try h.send()
        let code = try #require(h.lastCode)
        let (path, rules, clock) = (h.dbPath, h.rules, h.clock)
        let wrong = h.wrongCode(for: code)
        let outcomes = Locked<[String]>([])
        let batchesBefore = h.sqliteStore.commits.batches.load(ordering: .relaxed)
        let finished = runOnThreads(200) { index, barrier in
            guard let service = try? Harness.worker(path: path, rules: rules, clock: clock, logs: LogRecorder(), seed: UInt64(index)) else {
                barrier()
                return
            }
            barrier()
            let refusal = failure { try service.verify(CodeRequest(purpose: .verifyPhone, phone: Fixture.phone), code: wrong) }
            outcomes.update { $0.append("\(refusal.map { "\($0)" } ?? "verified")") }
        }
        try #require(finished)
        #expect(outcomes.value.count == 200)
        #expect(outcomes.value.allSatisfy { $0 == "\(Failure.invalidOrExpiredCode)" })
        #expect(try h.storedCode()?.attempts == 3)
        let batches = h.sqliteStore.commits.batches.load(ordering: .relaxed) - batchesBefore
        #expect(batches < 200, "\(batches) batches for 200 requests: some were committed together")
    }

    @Test func oneTokenPresentedTwoHundredTimesAdmitsOnceWithBatching() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        let (path, rules, clock) = (h.dbPath, h.rules, h.clock)
        let admitted = Locked<Int>(0)
        let finished = runOnThreads(200) { index, barrier in
            guard let service = try? Harness.worker(path: path, rules: rules, clock: clock, logs: LogRecorder(), seed: UInt64(index)) else {
                barrier()
                return
            }
            barrier()
            if (try? service.consumeStepUpToken(token, user: "alice")) != nil { admitted.update { $0 += 1 } }
        }
        try #require(finished)
        #expect(admitted.value == 1)
        #expect(try h.rows("SELECT count(*) FROM step_up_tokens WHERE used_at IS NOT NULL") == [["1"]])
    }
}

/// One store per thread, handed to the threads that use them (each its own).
private final class OwnStores: @unchecked Sendable {
    private let stores: [SQLiteOTPStore]
    init(_ stores: [SQLiteOTPStore]) { self.stores = stores }
    subscript(index: Int) -> SQLiteOTPStore { stores[index] }
}

