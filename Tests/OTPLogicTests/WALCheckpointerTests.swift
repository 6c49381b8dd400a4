import Foundation
import Testing
@testable import OTPLogic
@testable import OTPSQLite
import OTPSystem
import TestSupport

/// The SQLite store checkpoints its write-ahead log on a thread of its own instead of inside the
/// commit that crosses SQLite's threshold.
@Suite("WAL checkpointer", .serialized)
struct WALCheckpointerTests {
    private static func token(_ index: Int) -> StepUpTokenRecord {
        StepUpTokenRecord(userID: "user\(index % 7)", createdAt: Fixture.start, expiresAt: Fixture.start + 300)
    }

    private static func insert(_ count: Int, from first: Int, into store: SQLiteOTPStore) throws {
        for index in first..<(first + count) {
            try store.writeTransaction { transaction throws(StoreError) in
                try transaction.insertStepUpToken(hash: String(repeating: "ab", count: 24) + String(index), token(index))
            }
        }
    }

    @Test func theThreadCheckpointsAndTheLogRestartsInsteadOfGrowing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("otp.sqlite3")
        let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path, synchronous: .normal), clock: SystemClock())
        // About two pages of log per commit: some 12,000 pages if nothing were copied back.
        try WALCheckpointerTests.insert(6_000, from: 0, into: store)
        // The thread copies the log and the log restarts: a few commits later it holds only the
        // pages written since. (How far it grew first depends on when the thread got a CPU: on a
        // loaded machine the writer can append thousands of pages before it runs.)
        let checkpointer = store.commits.checkpointer
        let deadline = Date().addingTimeInterval(30)
        var next = 6_000
        while checkpointer.logFrames.load(ordering: .relaxed) >= 100 && Date() < deadline {
            try WALCheckpointerTests.insert(1, from: next, into: store)
            next += 1
            usleep(1_000)
        }

        #expect(checkpointer.completed.load(ordering: .relaxed) >= 1, "the checkpointer's thread copied the log")
        let frames = checkpointer.logFrames.load(ordering: .relaxed)
        #expect(frames < 100, "the log restarted from its beginning (\(frames) pages after \(next) commits)")
        let reader = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1_000)
        #expect(try reader.statement("SELECT count(*) FROM step_up_tokens").first { $0.integer(0) } == Int64(next))
        #expect(try reader.statement("PRAGMA integrity_check").first { $0.text(0) } == "ok")
    }

    @Test func aCheckpointHeldBackByAReaderIsAskedForAgainOnlyAfterTheThresholdNotAtEveryCommit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("otp.sqlite3")
        let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path, synchronous: .normal), clock: SystemClock())
        let checkpointer = store.commits.checkpointer
        try WALCheckpointerTests.insert(5, from: 0, into: store)
        // A reader's snapshot: no checkpoint can copy the pages committed after it, so every
        // checkpoint from here on copies part of the log at most.
        let reader = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1_000)
        try reader.execute("BEGIN")
        _ = try reader.statement("SELECT count(*) FROM step_up_tokens").first { $0.integer(0) }
        defer { try? reader.execute("COMMIT") }

        var next = 5
        func commitUntil(checkpoints: Int) throws {
            let deadline = Date().addingTimeInterval(20)
            while checkpointer.completed.load(ordering: .relaxed) < checkpoints && Date() < deadline {
                try WALCheckpointerTests.insert(1, from: next, into: store)
                next += 1
            }
        }
        try commitUntil(checkpoints: 1)
        try #require(checkpointer.completed.load(ordering: .relaxed) >= 1, "the log past the threshold woke the thread")
        // Commits made while that checkpoint ran may have asked for one more: let it run too.
        usleep(300_000)
        let settled = checkpointer.completed.load(ordering: .relaxed)

        // Far fewer pages than the threshold since: the log still holds uncopied pages, but no
        // checkpoint is asked for (before, each commit asked, and the thread synced in vain).
        try WALCheckpointerTests.insert(20, from: next, into: store)
        next += 20
        usleep(300_000)
        #expect(checkpointer.completed.load(ordering: .relaxed) == settled, "no checkpoint for the commits below the threshold")

        // Past the threshold again: the next one (and perhaps one more, asked for while it ran).
        try commitUntil(checkpoints: settled + 1)
        #expect(checkpointer.completed.load(ordering: .relaxed) >= settled + 1, "asked for again past the threshold")
    }

    @Test func aFailingCheckpointIsReportedOnceAndTheWritesGoOn() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("otp.sqlite3")
        let reports = Locked<[StoreError]>([])
        SQLiteOTPStore.reportCheckpointFailures { error in
            if error.detail.contains(path) { reports.update { $0.append(error) } }
        }
        defer { WALCheckpointer.failureReporter.withLock { $0 = nil } }
        let store = try SQLiteOTPStore(configuration: SQLiteConfiguration(path: path, synchronous: .normal), clock: SystemClock())
        // The files go while the store holds them open: its writes go on, but the checkpointer's
        // own connection, opened when the log first needs copying, cannot open the file.
        directory.remove()
        try WALCheckpointerTests.insert(1_500, from: 0, into: store)
        let deadline = Date().addingTimeInterval(10)
        while reports.value.isEmpty && Date() < deadline { usleep(10_000) }
        try WALCheckpointerTests.insert(1_500, from: 1_500, into: store)
        usleep(500_000)  // the thread retries meanwhile, and fails again

        #expect(reports.value.count == 1, "reported when checkpoints start failing, not at every retry")
        #expect(reports.value.first?.kind == .cannotOpen)
        #expect(store.commits.checkpointer.completed.load(ordering: .relaxed) == 0)
        #expect(try store.stepUpToken(hash: String(repeating: "ab", count: 24) + "2999") != nil, "every write still committed")
    }
}
