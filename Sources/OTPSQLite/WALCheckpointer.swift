import CSQLite
import OTPLogic
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Checkpoints the write-ahead log of one database file on a thread of its own, off every
/// request's path.
///
/// SQLite's automatic checkpoint runs inside the COMMIT that pushes the log past 1,000 pages: that
/// commit copies the log into the database and syncs both before it returns, and with group
/// commit every request of the next batch waits behind it. Those pauses were the writing
/// endpoints' p99. A PASSIVE checkpoint on another connection copies the same pages while writers
/// go on appending (it takes no write lock and never waits on one), and the log restarts from its
/// beginning at the next write once everything in it was copied.
///
/// Writing connections report the log's size after each commit (`sqlite3_wal_hook`): past
/// `backgroundFrames` the thread is woken; past `inlineFrames` (the thread cannot keep up, or a
/// checkpoint keeps failing) the committing connection checkpoints itself, as SQLite would, so the
/// log stays bounded. Several processes on one file each run their own; SQLite lets one checkpoint
/// run at a time and the others return at once.
final class WALCheckpointer: @unchecked Sendable {  // the semaphore is only posted and waited on
    /// Pages appended since the last checkpoint that wake the thread. A quarter of SQLite's own
    /// 1,000: each checkpoint syncs the database file, and the commits beside that sync wait
    /// longer the more it has to write. In A/B runs at 32 connections, 250 lowered the p99 of the
    /// writing endpoints (a wrong-code verify's median 14.8 ms → 9.1 ms), 4,000 raised it (to
    /// 23–26 ms), and 100 did no better than 250 while it synced more often.
    static let backgroundFrames: Int32 = 250
    /// About 64 MB of log at 4 KiB pages.
    static let inlineFrames: Int32 = 16_000

    /// Where a failed background checkpoint is reported (the composition root logs it). Called
    /// once when checkpoints start failing and not again until one succeeds.
    static let failureReporter = Mutex<(@Sendable (StoreError) -> Void)?>(nil)

    private struct State {
        var started = false
        var requested = false
        var failing = false
        var stopped = false
    }

    let path: String
    private let state = Mutex(State())
    private let wake = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    /// The log's size (pages) when the last checkpoint ran, whether it copied all of the log or,
    /// with writers appending meanwhile or a reader holding an older snapshot, part of it: the
    /// next is asked for `backgroundFrames` pages later. (Counted from the last complete copy,
    /// every commit past the threshold would ask again, and the thread would checkpoint and sync
    /// the database over and over for the few pages appended meanwhile, or for none while a
    /// reader holds them back.)
    private let checkedThrough = Atomic<Int32>(0)
    /// Set after a checkpoint on the thread: the next batch copies what was appended meanwhile.
    private let tailWanted = Atomic<Bool>(false)
    /// Checkpoints completed on the thread (tests read it).
    let completed = Atomic<Int>(0)
    /// The log's size (pages) after the last commit on a watched connection (tests read it).
    let logFrames = Atomic<Int32>(0)

    init(path: String) {
        self.path = path
        sem_init(wake, 0, 0)
    }

    deinit {
        sem_destroy(wake)
        wake.deallocate()
    }

    /// Replaces SQLite's automatic checkpoint on `connection` with this checkpointer, until
    /// `unwatch` (the hook holds no reference: the group commit that owns both calls it first).
    func watch(_ connection: SQLiteConnection) {
        connection.setWALHook(walHook, context: Unmanaged.passUnretained(self).toOpaque())
    }

    func unwatch(_ connection: SQLiteConnection) {
        connection.setWALHook(nil, context: nil)
    }

    /// Called by SQLite after each commit on a watched connection, with the log's size in pages.
    /// Counted from where the last checkpoint looked, not from the log's start: while readers keep
    /// the log from restarting, SQLite's own rule would checkpoint (and sync twice) after every
    /// commit.
    fileprivate func committed(_ handle: OpaquePointer?, frames: Int32) {
        logFrames.store(frames, ordering: .relaxed)
        var checked = checkedThrough.load(ordering: .relaxed)
        if frames < checked {
            // The log restarted from its beginning since: everything in it is new.
            checked = 0
            checkedThrough.store(0, ordering: .relaxed)
        }
        let unchecked = frames - checked
        if unchecked >= WALCheckpointer.inlineFrames, let handle {
            // The same call SQLite's automatic checkpoint makes.
            if let log = SQLiteConnection.checkpointPassive(handle) { recordCheckpoint(log: log) }
        } else if unchecked >= WALCheckpointer.backgroundFrames {
            request()
        }
    }

    /// Called by a batch's leader before its `BEGIN`, while no other writer of the process runs.
    /// The log restarts only when a writer begins with all of it copied; with writers always
    /// appending, the thread's checkpoint never ends in that state, so the pages appended while it
    /// ran are copied here, a few pages instead of the whole log.
    func copyTail(on connection: SQLiteConnection) {
        guard tailWanted.load(ordering: .relaxed), tailWanted.exchange(false, ordering: .relaxed) else { return }
        if let log = try? connection.checkpointPassive() { recordCheckpoint(log: log) }
    }

    private func recordCheckpoint(log: Int32) {
        if log >= 0 { checkedThrough.store(log, ordering: .relaxed) }
    }

    /// Ends the thread (its file's group commit is gone).
    func stop() {
        let started = state.withLock { state -> Bool in
            state.stopped = true
            return state.started
        }
        if started { sem_post(wake) }
    }

    private func request() {
        let (post, start) = state.withLock { state -> (Bool, Bool) in
            let start = !state.started
            state.started = true
            let post = !state.requested
            state.requested = true
            return (post, start)
        }
        if start { startThread() }
        if post { sem_post(wake) }
    }

    private func startThread() {
        // The thread holds the checkpointer until `stop` (its file's group commit is gone).
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        if pthread_create(&thread, nil, checkpointerEntry, context) == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<WALCheckpointer>.fromOpaque(context).release()
            state.withLock { $0.started = false }
        }
    }

    fileprivate func loop() {
        var connection: SQLiteConnection?
        while true {
            while sem_wait(wake) != 0 && errno == EINTR {}
            if state.withLock({ state -> Bool in
                state.requested = false
                return state.stopped
            }) { return }
            do throws(StoreError) {
                if connection == nil {
                    let opened = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1_000)
                    // A connection learns that the file is in WAL mode on its first read.
                    try opened.execute("SELECT count(*) FROM sqlite_schema")
                    connection = opened
                }
                recordCheckpoint(log: try connection!.checkpointPassive())
                tailWanted.store(true, ordering: .relaxed)
                completed.add(1, ordering: .relaxed)
                state.withLock { $0.failing = false }
            } catch {
                // The log stays as it is (nothing is lost); the next commit past the threshold
                // asks again, and past `inlineFrames` writers checkpoint themselves.
                connection = nil
                let first = state.withLock { state -> Bool in
                    defer { state.failing = true }
                    return !state.failing
                }
                if first, let report = WALCheckpointer.failureReporter.withLock({ $0 }) { report(error) }
                // A lasting failure (a full disk) is retried five times a second, not at every commit.
                usleep(200_000)
            }
        }
    }
}

private func walHook(_ context: UnsafeMutableRawPointer?, _ handle: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ frames: Int32) -> Int32 {
    guard let context else { return SQLITE_OK }
    Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(handle, frames: frames)
    return SQLITE_OK
}

private func checkpointerEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let context else { return nil }
    Unmanaged<WALCheckpointer>.fromOpaque(context).takeRetainedValue().loop()
    return nil
}
