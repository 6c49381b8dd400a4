import Synchronization

/// What the main thread and the workers share: the shutdown flag and the requests in flight.
final class ServerState: Sendable {
    private let shuttingDown = Atomic<Bool>(false)
    private let inFlight = Atomic<Int>(0)

    var isShuttingDown: Bool { shuttingDown.load(ordering: .acquiring) }
    var requestsInFlight: Int { inFlight.load(ordering: .acquiring) }

    func beginShutdown() {
        shuttingDown.store(true, ordering: .releasing)
    }

    func requestStarted() {
        inFlight.add(1, ordering: .acquiringAndReleasing)
    }

    func requestFinished() {
        inFlight.subtract(1, ordering: .acquiringAndReleasing)
    }
}
