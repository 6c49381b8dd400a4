/// What the operator's commands (`migrate`, `check-config`, `serve`'s start) need of a store
/// besides the rules' port: its schema version and what opening it migrated.
public protocol VersionedStore: OTPStore {
    /// The schema versions before and after opening (equal when nothing was migrated).
    var migration: (from: Int, to: Int) { get }
    /// The schema version the database is at now.
    func schemaVersion() throws(StoreError) -> Int
    /// Reads how this process's writes to the database were grouped into commits since it started,
    /// from any thread; nil for a store that commits each request's writes on its own (PostgreSQL:
    /// the server groups the flushes of concurrent commits itself).
    var writeBatches: (@Sendable () -> WriteBatchCounts)? { get }
}

/// Write transactions run (one commit, one fsync each, whether or not it succeeded) and the
/// requests' writes run in them: the second over the first is the mean batch of group commit.
public struct WriteBatchCounts: Sendable, Equatable {
    public var batches: Int
    public var writes: Int

    public init(batches: Int, writes: Int) {
        self.batches = batches
        self.writes = writes
    }
}

/// One finding of a read-only look at the configured database (`otp-fcgi check-config`):
/// nothing is created or migrated to find it.
public enum DatabaseFinding: Sendable, Equatable {
    /// A problem that would stop the start or break requests.
    case problem(String)
    case note(String)
}
