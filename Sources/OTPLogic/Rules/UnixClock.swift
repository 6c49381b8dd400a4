#if canImport(Glibc)
import Glibc
#endif

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

/// The source of "now" for every rule; tests pass a clock they control.
public protocol UnixClock: Sendable {
    func now() -> UnixTime
    /// The boot-time clock, when the platform has one. Lifetimes are checked against it too, so a
    /// wall clock set back never lets a code or token live longer than its TTL.
    func bootClock() -> BootClockReading?
}

extension UnixClock {
    public func bootClock() -> BootClockReading? { nil }
}

/// The system's wall clock, and Linux's boot-time clock.
public struct SystemUnixClock: UnixClock {
    public init() {}

    public func now() -> UnixTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UnixTime(spec.tv_sec)
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
        guard let bootID = SystemUnixClock.bootID else { return nil }
        var spec = timespec()
        clock_gettime(CLOCK_BOOTTIME, &spec)
        return BootClockReading(bootID: bootID, milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}
