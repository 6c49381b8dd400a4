#if canImport(Glibc)
import Glibc
#endif

/// Seconds since the Unix epoch, the unit every time in the database is stored in.
public typealias UnixTime = Int64

/// The source of "now" for every rule; tests pass a clock they control.
public protocol UnixClock: Sendable {
    func now() -> UnixTime
}

/// The system's wall clock.
public struct SystemUnixClock: UnixClock {
    public init() {}

    public func now() -> UnixTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UnixTime(spec.tv_sec)
    }
}
