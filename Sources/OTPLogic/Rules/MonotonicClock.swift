#if canImport(Glibc)
import Glibc
#endif

/// A clock that never goes backwards, for timeouts and durations (not for stored times).
public enum MonotonicClock {
    public static func nanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    public static func milliseconds() -> Int {
        Int(nanoseconds() / 1_000_000)
    }

    public static func seconds(since start: UInt64) -> Double {
        Double(nanoseconds() &- start) / 1_000_000_000
    }

    public static func sleep(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
