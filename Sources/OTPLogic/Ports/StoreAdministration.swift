/// What the operator's commands (`migrate`, `check-config`, `serve`'s start) need of a store
/// besides the rules' port: its schema version and what opening it migrated.
public protocol VersionedStore: OTPStore {
    /// The schema versions before and after opening (equal when nothing was migrated).
    var migration: (from: Int, to: Int) { get }
    /// The schema version the database is at now.
    func schemaVersion() throws(StoreError) -> Int
}

/// One finding of a read-only look at the configured database (`otp-fcgi check-config`):
/// nothing is created or migrated to find it.
public enum DatabaseFinding: Sendable, Equatable {
    /// A problem that would stop the start or break requests.
    case problem(String)
    case note(String)
}
