import Synchronization

/// How many sends may wait on the SMS provider at once, across all workers of the process.
/// A hung provider then holds at most this many workers; the rest keep answering verify,
/// step-up checks and health.
public final class SMSInFlightLimit: Sendable {
    public let maximum: Int
    private let current = Atomic<Int>(0)

    public init(maximum: Int) {
        precondition(maximum >= 1)
        self.maximum = maximum
    }

    /// Takes a slot if one is free; never waits.
    func tryAcquire() -> Bool {
        var seen = current.load(ordering: .relaxed)
        while seen < maximum {
            let (exchanged, actual) = current.compareExchange(expected: seen, desired: seen + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            seen = actual
        }
        return false
    }

    func release() {
        current.subtract(1, ordering: .acquiringAndReleasing)
    }

    /// Sends waiting on the provider right now.
    public var inFlight: Int { current.load(ordering: .relaxed) }
}

/// Wraps a sender so that past the in-flight limit a send fails at once (503) instead of
/// queueing behind the stuck ones.
public final class BoundedSMSSender: SMSSender {
    private let inner: any SMSSender
    private let limit: SMSInFlightLimit

    /// Seconds a client is told to wait when every slot is taken.
    static let retryAfterSeconds = 5

    public init(_ inner: any SMSSender, limit: SMSInFlightLimit) {
        self.inner = inner
        self.limit = limit
    }

    public var deliversImmediately: Bool { inner.deliversImmediately }

    public func send(_ message: SMSMessage) throws(SMSError) -> SMSReceipt {
        guard limit.tryAcquire() else {
            throw .unavailable(.inFlightLimit, retryAfterSeconds: BoundedSMSSender.retryAfterSeconds)
        }
        defer { limit.release() }
        return try inner.send(message)
    }
}
