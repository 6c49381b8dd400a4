/// When a store may try to reach its database server again after failing to: 50 ms after the
/// first failure, doubling up to 5 s. Between attempts requests fail at once (503) instead of
/// each waiting for a connect timeout, and a server that comes back is found within the cap.
/// Times are readings of the injected `MonotonicClock`, so tests step through it without waiting.
public struct ReconnectBackoff: Sendable, Equatable {
    public static let firstDelayMilliseconds: UInt64 = 50
    public static let maximumDelayMilliseconds: UInt64 = 5000

    /// Failed attempts since the last success.
    public private(set) var failures = 0
    /// No attempt before this reading (nanoseconds); 0 = at once.
    public private(set) var notBefore: UInt64 = 0

    public init() {}

    public func allowsAttempt(at now: UInt64) -> Bool { now >= notBefore }

    /// Milliseconds until the next attempt is allowed (0 when it is).
    public func millisecondsToWait(at now: UInt64) -> UInt64 { now >= notBefore ? 0 : (notBefore - now) / 1_000_000 }

    public mutating func failed(at now: UInt64) {
        let delay = min(ReconnectBackoff.maximumDelayMilliseconds, ReconnectBackoff.firstDelayMilliseconds << UInt64(min(failures, 16)))
        failures += 1
        notBefore = now + delay * 1_000_000
    }

    public mutating func succeeded() {
        failures = 0
        notBefore = 0
    }
}
