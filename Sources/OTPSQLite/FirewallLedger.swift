import OTPLogic
import Synchronization

/// The SMS firewall's records of one database file, held in this process and shared with every
/// other process on the file through `sms_firewall_log`, an append-only log of the rules' changes.
///
/// Why: a send changes up to four records (user, address, country with its tripwire, total);
/// reading and rewriting their rows cost a third of a send. Here a send reads its records from
/// memory and appends one row of changes. It stays exact across processes because a transaction
/// reads the log up to its end (`catchUp`) after `BEGIN IMMEDIATE`, under SQLite's write lock, so
/// nobody can append meanwhile; and a replayed change goes through `FirewallRecord.apply`, the
/// function that made it, so every process holds the same records.
///
/// The log's row ids have no gaps: a row gets the largest id plus one, a rolled-back row leaves no
/// trace, and the compaction never deletes the newest row. So rows that do not start right after
/// the last id seen mean the ones between were compacted away, and the process loads everything
/// again. `sms_firewall` holds the records as of the last compaction (every purge): it writes the
/// records changed since, deletes those in which nothing counts, appends an empty anchor row and
/// deletes the rows before it.
final class FirewallLedger: Sendable {
    fileprivate struct Entry {
        var record: FirewallRecord
        /// Its `sms_firewall` row may be out of date.
        var dirty: Bool
    }

    private struct State {
        var entries: [BudgetKey: Entry] = [:]
        var lastSeen: Int64 = 0
        var loaded = false
        /// The writing connection's file data version at which these records are known to be the
        /// log's: set by a catch-up, and moved on by a commit of this process that is the only
        /// change since (`committed`). While it stays the same no other connection has committed,
        /// so the log still ends with this process's own rows and `catchUp` need not read it
        /// (reading it to find nothing new cost every send with the firewall on 2,800 instructions).
        var dataVersion: UInt32?
        /// Changes whenever a key is added or removed, so indices into `entries` taken before are
        /// known to be stale.
        var generation = 0
        /// The keys the last read found and where, in `recentGeneration`. Sends read the same total
        /// and country records again and again (a user's too, on a resend), and a transaction
        /// writes back what it read: comparing a few short keys costs a fraction of hashing each.
        var recent: [(key: BudgetKey, index: Dictionary<BudgetKey, Entry>.Index)] = []
        var recentGeneration = -1

        /// Where `key` is: as the last read found it while no key came or went since, else looked up.
        /// (`mutating` only so that a call through a closure's capture reads the state in place
        /// instead of copying it.)
        mutating func index(of key: BudgetKey) -> Dictionary<BudgetKey, Entry>.Index? {
            if recentGeneration == generation {
                for found in recent where found.key == key { return found.index }
            }
            return entries.index(forKey: key)
        }

        mutating func replay(_ changes: [FirewallChange]) {
            for change in changes {
                if let index = entries.index(forKey: change.key) {
                    entries.values[index].record.apply(change)
                    entries.values[index].dirty = true
                } else {
                    var record = FirewallRecord(key: change.key)
                    record.apply(change)
                    entries[change.key] = Entry(record: record, dirty: true)
                    generation += 1
                }
            }
        }
    }

    private let state = Mutex(State())
    /// The records are loaded, so commits must keep `State.dataVersion` in step (read without the
    /// lock on every commit, firewall on or off).
    private let tracking = Atomic<Bool>(false)

    /// Every record as stored (`otp-fcgi firewall status`), read in one read transaction without
    /// touching any process's copy.
    static func allRecords(on connection: SQLiteConnection) throws(StoreError) -> [FirewallRecord] {
        try connection.execute("BEGIN")
        do {
            var state = State()
            try load(&state, on: connection)
            try connection.execute("COMMIT")
            return state.entries.values.map(\.record).sorted { ($0.key.scope.rawValue, $0.key.key) < ($1.key.scope.rawValue, $1.key.key) }
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Brings this process's records up to the end of the log. Only inside a write transaction.
    fileprivate func catchUp(on connection: SQLiteConnection) throws(StoreError) {
        try state.withLock { state throws(StoreError) in
            let version = connection.fileDataVersion()
            guard state.loaded else {
                try FirewallLedger.load(&state, on: connection)
                state.dataVersion = version
                tracking.store(true, ordering: .relaxed)
                return
            }
            guard version != state.dataVersion else { return }
            // Row by row, never the whole backlog in memory (another process may have appended
            // tens of thousands since the last look).
            var missed = false
            var unreadable: Int64?
            try connection.statement("SELECT id, changes FROM sms_firewall_log WHERE id > ?1 ORDER BY id").each([.integer(state.lastSeen)]) { row in
                guard !missed, unreadable == nil else { return }
                let id = row.integer(0)
                guard id == state.lastSeen + 1 else {
                    missed = true
                    return
                }
                guard let changes = FirewallChange.decoded(row.bytes(1)) else {
                    unreadable = id
                    return
                }
                state.replay(changes)
                state.lastSeen = id
            }
            if let unreadable { throw FirewallLedger.unreadable(unreadable) }
            if missed { try FirewallLedger.load(&state, on: connection) }
            state.dataVersion = version
        }
    }

    /// What `committed` compares with, read just before a commit (inside the transaction, or before
    /// an autocommit statement); nil while the ledger holds nothing.
    func versionBeforeCommit(on connection: SQLiteConnection) -> UInt32? {
        tracking.load(ordering: .relaxed) ? connection.fileDataVersion() : nil
    }

    /// A transaction on the writing connection committed. If the records were the log's at
    /// `before` and the version moved by exactly this commit (no transaction start found another
    /// connection's commit), they still are: this process's own changes reached them as the
    /// transaction made them. Anything else leaves the old version, and the next catch-up reads.
    func committed(on connection: SQLiteConnection, before: UInt32?) {
        guard let before else { return }
        let after = connection.fileDataVersion()
        guard after == before &+ 1 else { return }
        state.withLock { state in
            if state.dataVersion == before { state.dataVersion = after }
        }
    }

    /// The records as of the last compaction, then every change logged since.
    private static func load(_ state: inout State, on connection: SQLiteConnection) throws(StoreError) {
        var entries: [BudgetKey: Entry] = [:]
        try connection.statement("SELECT scope, key, window, paused_until, alerted_until, tripwire FROM sms_firewall").each { row in
            if let record = FirewallRecord(storedRow: row) { entries[record.key] = Entry(record: record, dirty: false) }
        }
        state = State(entries: entries, lastSeen: 0, loaded: true, generation: state.generation + 1)
        var unreadable: Int64?
        try connection.statement("SELECT id, changes FROM sms_firewall_log ORDER BY id").each { row in
            guard unreadable == nil else { return }
            guard let changes = FirewallChange.decoded(row.bytes(1)) else {
                unreadable = row.integer(0)
                return
            }
            state.replay(changes)
            state.lastSeen = row.integer(0)
        }
        if let unreadable { throw FirewallLedger.unreadable(unreadable) }
    }

    private static func unreadable(_ id: Int64) -> StoreError {
        StoreError(kind: .corrupt, detail: "(sms_firewall_log): row \(id) is not a list of firewall changes")
    }

    /// The records of `keys` this process holds (those it holds none of count nothing).
    fileprivate func records(_ keys: [BudgetKey]) -> [FirewallRecord] {
        state.withLock { state in
            var records: [FirewallRecord] = []
            records.reserveCapacity(keys.count)
            var found = 0
            for key in keys {
                guard let index = state.index(of: key) else { continue }
                records.append(state.entries.values[index].record)
                // Kept in place for the next read and for the write that follows.
                if found < state.recent.count { state.recent[found] = (key, index) } else { state.recent.append((key, index)) }
                found += 1
            }
            state.recent.removeLast(state.recent.count - found)
            state.recentGeneration = state.generation
            return records
        }
    }

    /// A transaction's changed records, and the log row it appended, taken at once: it must call
    /// `forget` if it does not commit after all.
    fileprivate func accept(_ records: FirewallRecords, appended: Int64) {
        state.withLock { state in
            records.forEachChanged { record in
                if let index = state.index(of: record.key) {
                    state.entries.values[index] = Entry(record: record, dirty: true)
                } else {
                    if state.entries.updateValue(Entry(record: record, dirty: true), forKey: record.key) == nil { state.generation += 1 }
                }
            }
            state.lastSeen = appended
        }
    }

    /// What this process holds may not be what the database holds (a transaction that changed it
    /// was rolled back): the next catch-up loads everything again.
    fileprivate func forget() {
        state.withLock { state in state = State(generation: state.generation + 1) }
        tracking.store(false, ordering: .relaxed)
    }

    /// Rewrites `sms_firewall` as of `now` and drops the log rows it covers (see the type's comment).
    fileprivate func compact(at now: UnixTime, on connection: SQLiteConnection) throws(StoreError) {
        try state.withLock { state throws(StoreError) in
            for (key, entry) in state.entries {
                if entry.record.isEmpty(at: now) {
                    try connection.statement("DELETE FROM sms_firewall WHERE scope = ?1 AND key = ?2").run([.text(key.scope.rawValue), .text(key.key)])
                } else if entry.dirty {
                    try connection.statement(
                        """
                        INSERT INTO sms_firewall (scope, key, window, paused_until, alerted_until, tripwire) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                        ON CONFLICT (scope, key) DO UPDATE SET window = excluded.window, paused_until = excluded.paused_until,
                            alerted_until = excluded.alerted_until, tripwire = excluded.tripwire
                        """
                    ).run(entry.record.storedValues)
                }
            }
            try connection.statement("INSERT INTO sms_firewall_log (changes) VALUES (x'')").run()
            let anchor = connection.lastInsertRowID
            try connection.statement("DELETE FROM sms_firewall_log WHERE id < ?1").run([.integer(anchor)])
            // A record in which nothing counts is the same as none, and its row is gone.
            state.entries = state.entries.filter { !$0.value.record.isEmpty(at: now) }
            state.generation += 1
            for key in state.entries.keys { state.entries[key]?.dirty = false }
            state.lastSeen = anchor
        }
    }
}

/// One write transaction's use of the ledger. A transaction's changes reach the ledger as it
/// makes them (the write lock keeps every other transaction out meanwhile); if it is then rolled
/// back, the ledger forgets everything and loads again (rare: a failed commit, a full disk).
final class FirewallBatch {
    private let ledger: FirewallLedger
    private var caughtUp = false
    /// Changes handed to the ledger so far: a rolled-back savepoint compares it with its `mark`.
    private(set) var changeCount = 0

    init(_ ledger: FirewallLedger) {
        self.ledger = ledger
    }

    /// The transaction, or a savepoint that made changes since `changeCount` was `mark`, was
    /// rolled back.
    func rolledBack(since mark: Int = 0) {
        guard changeCount > mark else { return }
        ledger.forget()
        // Later work in the same transaction loads again, seeing what the transaction still holds.
        caughtUp = false
    }

    private func catchUp(on connection: SQLiteConnection) throws(StoreError) {
        guard !caughtUp else { return }
        try ledger.catchUp(on: connection)
        caughtUp = true
    }

    func records(_ keys: [BudgetKey], on connection: SQLiteConnection) throws(StoreError) -> [FirewallRecord] {
        try catchUp(on: connection)
        return ledger.records(keys)
    }

    /// Appends the changes as one log row; the changed records (read in this transaction, then
    /// changed by `FirewallRecord.apply`, as every other process will replay them) become the
    /// ledger's.
    func save(_ records: FirewallRecords, on connection: SQLiteConnection) throws(StoreError) {
        guard !records.changes.isEmpty else { return }
        try catchUp(on: connection)
        try connection.statement("INSERT INTO sms_firewall_log (changes) VALUES (?1)").run([.bytes(FirewallChange.encoded(records.changes))])
        changeCount += 1
        ledger.accept(records, appended: connection.lastInsertRowID)
    }

    /// Rewrites `sms_firewall` as of now and drops the log rows it covers.
    func compact(at now: UnixTime, on connection: SQLiteConnection) throws(StoreError) {
        try catchUp(on: connection)
        changeCount += 1
        try ledger.compact(at: now, on: connection)
    }
}
