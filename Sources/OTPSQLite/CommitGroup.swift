import OTPLogic
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Group commit for one database file in one process: the write transactions of concurrent
/// requests run in one `BEGIN IMMEDIATE … COMMIT`, one fsync for the batch, each inside its own
/// `SAVEPOINT`, so one request's failure rolls back only its own work.
///
/// No timer: a request that finds no batch running starts one at once and leads it on its own
/// connection; requests arriving meanwhile queue, and whatever is queued when the writer is free
/// again is the next batch, led by the first of them on its connection. A leader leads one batch
/// only, so no request waits behind more than the batch before its own. Nobody is answered before
/// their batch is durable: an I/O error, a full disk or a failed commit fails every request of
/// the batch, and the batch leaves nothing behind. Other processes on the file still take turns
/// through SQLite's own lock (`BEGIN IMMEDIATE` with the busy timeout).
///
/// Every batch runs on the group's one writing connection, whichever request leads it. SQLite
/// drops a connection's page cache whenever another connection has committed, so leaders on their
/// own connections re-read every page of every batch with a system call; the group's connection
/// keeps its cache, since only it commits in this process.
final class CommitGroup: Sendable {
    private struct Queue {
        var waiting: [Job] = []
        var leading = false
    }

    private let queue = Mutex(Queue())
    private let writer: Writer
    /// The SMS firewall's records of the file, held by this process.
    let firewall = FirewallLedger()
    /// Checkpoints the file's write-ahead log off the request path.
    let checkpointer: WALCheckpointer
    /// Batches run and requests in them, since the process started (tests read them).
    let batches = Atomic<Int>(0)
    let jobs = Atomic<Int>(0)

    /// The group of the database at `path`, the same object for every store of the process that
    /// is open on it; `openWriter` opens its writing connection when there is none yet.
    static func forDatabase(at path: String, openWriter: () throws(StoreError) -> SQLiteConnection) throws(StoreError) -> CommitGroup {
        try registry.withLock { groups throws(StoreError) -> CommitGroup in
            if let existing = groups[path]?.group { return existing }
            let made = CommitGroup(path: path, writer: try openWriter())
            groups[path] = WeakGroup(group: made)
            return made
        }
    }

    /// Held weakly: once the last store of a file is gone its group goes too, so a file opened
    /// again (recreated, restored) gets a new connection instead of the old file's.
    private static let registry = Mutex<[String: WeakGroup]>([:])
    private struct WeakGroup { weak var group: CommitGroup? }

    private init(path: String, writer: SQLiteConnection) {
        checkpointer = WALCheckpointer(path: path)
        checkpointer.watch(writer)
        self.writer = Writer(writer)
    }

    deinit {
        checkpointer.unwatch(writer.connection)
        checkpointer.stop()
    }

    /// Runs `work` in a write transaction, with whatever else is waiting; returns once its batch is
    /// durable.
    func perform<T>(_ work: (SQLiteTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
        try perform(work, autocommit: false)
    }

    /// Runs one writing statement and answers how many rows it changed, with whatever else is
    /// waiting. Alone, it runs in SQLite's autocommit mode: the statement is its own transaction
    /// (a writing statement takes the write lock before it reads, waiting out the busy timeout as
    /// `BEGIN IMMEDIATE` does, and any failure rolls all of it back), which spares the `BEGIN` and
    /// `COMMIT` statements. In a batch it is a job like any other.
    func perform(statement sql: StaticString, _ values: [StoredValue]) throws(StoreError) -> Int {
        try perform({ transaction throws(StoreError) -> Int in try transaction.connection.statement(sql).run(values) }, autocommit: true)
    }

    /// `autocommit`: `work` is one statement, run without `BEGIN` when it is a batch of its own.
    private func perform<T>(_ work: (SQLiteTransaction) throws(StoreError) -> T, autocommit: Bool) throws(StoreError) -> T {
        let connection = writer.connection
        // Nobody leads (so nobody waits either): this request is a batch of its own, run at once
        // without the queue's bookkeeping.
        if queue.withLock({ queue -> Bool in
            if queue.leading { return false }
            queue.leading = true
            return true
        }) {
            batches.add(1, ordering: .relaxed)
            jobs.add(1, ordering: .relaxed)
            defer { handOver()?.handOverLead() }
            guard autocommit else { return try CommitGroup.runAlone(work, on: connection, firewall: firewall, checkpointer: checkpointer) }
            checkpointer.copyTail(on: connection)
            // Read outside the statement's transaction: its start, if it finds another commit,
            // moves the version too, and `committed` then sees more than its own commit.
            let before = firewall.versionBeforeCommit(on: connection)
            let output = try work(SQLiteTransaction(connection: connection))
            firewall.committed(on: connection, before: before)
            return output
        }
        var output: T?
        return try withoutActuallyEscaping(work) { work throws(StoreError) -> T in
            let job = Job { transaction throws(StoreError) in output = try work(transaction) }
            let leads = queue.withLock { queue -> Bool in
                queue.waiting.append(job)
                if queue.leading { return false }
                queue.leading = true
                return true
            }
            if leads { lead(on: connection) }
            while true {
                switch job.await() {
                case .done: break
                case .lead:
                    lead(on: connection)
                    continue
                }
                break
            }
            if let error = job.error { throw error }
            guard let output else { throw StoreError(kind: .other, detail: "(group commit): a job finished without a result") }
            return output
        }
    }

    /// Takes what is waiting as one batch, runs it, and hands the lead to the first request that
    /// queued meanwhile (or ends the lead when none did).
    private func lead(on connection: SQLiteConnection) {
        let batch = queue.withLock { queue -> [Job] in
            defer { queue.waiting = [] }
            return queue.waiting
        }
        batches.add(1, ordering: .relaxed)
        jobs.add(batch.count, ordering: .relaxed)
        CommitGroup.run(batch, on: connection, firewall: firewall, checkpointer: checkpointer)
        let next = handOver()
        for job in batch { job.finish() }
        next?.handOverLead()
    }

    /// After a batch: the first request that queued meanwhile, which is to lead the next one, or
    /// nil (and the lead ends) when none did.
    private func handOver() -> Job? {
        queue.withLock { queue -> Job? in
            guard let first = queue.waiting.first else {
                queue.leading = false
                return nil
            }
            return first
        }
    }

    /// One transaction for the batch: a lone job runs bare; several each in a savepoint.
    private static func run(_ batch: [Job], on connection: SQLiteConnection, firewall ledger: FirewallLedger, checkpointer: WALCheckpointer) {
        if batch.count == 1 {
            do throws(StoreError) {
                try runAlone({ transaction throws(StoreError) in try batch[0].run(transaction) }, on: connection, firewall: ledger, checkpointer: checkpointer)
            } catch {
                batch[0].error = error
            }
            return
        }
        do throws(StoreError) {
            try begin(on: connection, checkpointer: checkpointer)
        } catch {
            for job in batch { job.error = error }
            return
        }
        let firewall = FirewallBatch(ledger)
        let transaction = SQLiteTransaction(connection: connection, firewall: firewall)
        for job in batch {
            do throws(StoreError) {
                try connection.statement("SAVEPOINT job").run()
                let mark = firewall.changeCount
                do throws(StoreError) {
                    try job.run(transaction)
                    try connection.statement("RELEASE job").run()
                } catch where !error.kind.failsTheBatch {
                    // This request's own failure: its work goes, the others' stays.
                    job.error = error
                    try connection.statement("ROLLBACK TO job").run()
                    try connection.statement("RELEASE job").run()
                    firewall.rolledBack(since: mark)
                }
            } catch {
                fail(batch, error, on: connection, firewall: firewall)
                return
            }
        }
        do throws(StoreError) {
            try commit(on: connection, firewall: ledger)
        } catch {
            fail(batch, error, on: connection, firewall: firewall)
        }
    }

    /// A batch of one: its own transaction, no savepoint; any failure rolls all of it back.
    private static func runAlone<T>(
        _ work: (SQLiteTransaction) throws(StoreError) -> T, on connection: SQLiteConnection, firewall ledger: FirewallLedger,
        checkpointer: WALCheckpointer
    ) throws(StoreError) -> T {
        try begin(on: connection, checkpointer: checkpointer)
        let firewall = FirewallBatch(ledger)
        do throws(StoreError) {
            let output = try work(SQLiteTransaction(connection: connection, firewall: firewall))
            try commit(on: connection, firewall: ledger)
            return output
        } catch {
            _ = try? connection.statement("ROLLBACK").run()
            firewall.rolledBack()
            throw error
        }
    }

    /// Every batch's `BEGIN`, after the log pages a background checkpoint left behind are copied.
    private static func begin(on connection: SQLiteConnection, checkpointer: WALCheckpointer) throws(StoreError) {
        checkpointer.copyTail(on: connection)
        try connection.statement("BEGIN IMMEDIATE").run()
    }

    /// Every batch's `COMMIT`, the firewall's records kept in step with the file's data version.
    private static func commit(on connection: SQLiteConnection, firewall ledger: FirewallLedger) throws(StoreError) {
        let before = ledger.versionBeforeCommit(on: connection)
        try connection.statement("COMMIT").run()
        ledger.committed(on: connection, before: before)
    }

    /// The database failed under the batch: none of it stays, and every request hears so.
    private static func fail(_ batch: [Job], _ error: StoreError, on connection: SQLiteConnection, firewall: FirewallBatch) {
        _ = try? connection.statement("ROLLBACK").run()
        firewall.rolledBack()
        for job in batch { job.error = error }
    }
}

extension StoreError.Kind {
    /// Failures of the database rather than of one request's work.
    var failsTheBatch: Bool {
        switch self {
        case .full, .readOnly, .corrupt, .cannotOpen, .unreachable, .busy: true
        case .schemaTooNew, .other: false
        }
    }
}

/// The group's writing connection. Only the leader of the running batch touches it, one thread
/// at a time (`Queue.leading`, taken and handed over under the queue's lock).
private final class Writer: @unchecked Sendable {
    let connection: SQLiteConnection
    init(_ connection: SQLiteConnection) { self.connection = connection }
}

/// One request's work in a batch, and how its thread waits for it.
private final class Job: @unchecked Sendable {
    enum Signal { case done, lead }

    /// Dropped once run, before `finish`: it holds the owner's non-escaping body, which must not
    /// outlive the owner's call (the leader may hold the job a moment longer).
    private var work: ((SQLiteTransaction) throws(StoreError) -> Void)?
    /// Written by the batch's leader before `finish`, read by the owner after `await`.
    var error: StoreError?
    private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private let signal = Mutex<Signal?>(nil)

    init(_ work: @escaping (SQLiteTransaction) throws(StoreError) -> Void) {
        self.work = work
        sem_init(semaphore, 0, 0)
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    /// Runs the work (once), on the leader's transaction.
    func run(_ transaction: SQLiteTransaction) throws(StoreError) {
        guard let work else { return }
        self.work = nil
        try work(transaction)
    }

    func finish() {
        work = nil
        post(.done)
    }
    func handOverLead() { post(.lead) }

    private func post(_ value: Signal) {
        signal.withLock { $0 = value }
        sem_post(semaphore)
    }

    /// Blocks until the job is done or its thread must lead the next batch.
    func await() -> Signal {
        while sem_wait(semaphore) != 0 && errno == EINTR {}
        return signal.withLock { current in
            defer { current = nil }
            return current ?? .done
        }
    }
}
