import OTPLogic

#if canImport(Glibc)
import Glibc
#endif

/// The machine's clocks: the wall clock (`CLOCK_REALTIME`), Linux's boot-time clock with the
/// kernel's boot id, and `CLOCK_MONOTONIC` with `nanosleep` for durations and waiting.
public struct SystemClock: UnixClock, MonotonicClock {
    public init() {}

    public func now() -> UnixTime {
        UnixTime(SystemClock.wallClock().tv_sec)
    }

    public func unixMilliseconds() -> Int64 {
        let spec = SystemClock.wallClock()
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    private static func wallClock() -> timespec {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return spec
    }

    /// The kernel's id of this boot: boot-time readings from different boots are not comparable.
    private static let bootID: String? = {
        guard let file = fopen("/proc/sys/kernel/random/boot_id", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? nil : text
    }()

    public func bootClock() -> BootClockReading? {
        guard let bootID = SystemClock.bootID else { return nil }
        var spec = timespec()
        clock_gettime(CLOCK_BOOTTIME, &spec)
        return BootClockReading(bootID: bootID, milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public func nanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    public func sleep(milliseconds: Int) {
        var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
