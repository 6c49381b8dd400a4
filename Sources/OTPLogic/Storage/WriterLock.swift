#if canImport(Glibc)
import Glibc
#endif

/// Serialises the writes of one process to one database file. Without it, worker threads that
/// want the write lock at once sleep and retry in SQLite's busy handler, which is unfair and
/// gives a long tail; waiting here queues them instead (measured: p99 at 32 connections fell
/// from hundreds of milliseconds to the fsync time). Other processes are still kept in order by
/// SQLite's own locking.
final class WriterLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    private init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    /// The lock for the database at `path`, the same object for every connection of the process.
    static func forDatabase(at path: String) -> WriterLock {
        registry.lock()
        defer { registry.unlock() }
        if let existing = registry.locks[path] { return existing }
        let made = WriterLock()
        registry.locks[path] = made
        return made
    }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    private final class Registry: @unchecked Sendable {
        private let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
            let made = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
            pthread_mutex_init(made, nil)
            return made
        }()
        var locks: [String: WriterLock] = [:]
        func lock() { pthread_mutex_lock(mutex) }
        func unlock() { pthread_mutex_unlock(mutex) }
    }

    private static let registry = Registry()
}
