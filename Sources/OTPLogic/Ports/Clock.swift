/// Seconds since the Unix epoch, the unit every time in the database is stored in.
public typealias UnixTime = Int64

/// A reading of the machine's boot-time clock (`CLOCK_BOOTTIME`), which the wall clock's steps
/// do not move. Comparable only between readings with the same `bootID`.
public struct BootClockReading: Sendable, Equatable {
    public var bootID: String
    public var milliseconds: Int64

    public init(bootID: String, milliseconds: Int64) {
        self.bootID = bootID
        self.milliseconds = milliseconds
    }

    /// Milliseconds from `earlier` to this reading; nil across a reboot.
    public func milliseconds(since earlier: BootClockReading) -> Int64? {
        bootID == earlier.bootID ? milliseconds - earlier.milliseconds : nil
    }
}

/// The source of "now" for every rule and every stored time; tests pass a clock they control.
public protocol UnixClock: Sendable {
    func now() -> UnixTime
    /// The boot-time clock, when the platform has one. Lifetimes are checked against it too, so a
    /// wall clock set back never lets a code or token live longer than its TTL.
    func bootClock() -> BootClockReading?
    /// The wall clock in milliseconds, for keys that should grow with time (never for rules).
    func unixMilliseconds() -> Int64
}

extension UnixClock {
    public func bootClock() -> BootClockReading? { nil }
    public func unixMilliseconds() -> Int64 { now() * 1000 }
}

/// Elapsed time and waiting, for timeouts, back-offs and latencies (never for stored times).
/// Retries sleep on this clock, so tests run them without waiting.
public protocol MonotonicClock: Sendable {
    /// A reading that never goes backwards; only differences between readings mean anything.
    func nanoseconds() -> UInt64
    /// Blocks the calling thread for `milliseconds`.
    func sleep(milliseconds: Int)
}

extension MonotonicClock {
    public func milliseconds() -> Int {
        Int(nanoseconds() / 1_000_000)
    }

    public func seconds(since start: UInt64) -> Double {
        Double(nanoseconds() &- start) / 1_000_000_000
    }
}
