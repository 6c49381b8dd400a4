import OTPLogic
import Synchronization

/// A clock the test sets: "now" moves only when the test says so. With a `bootID` it also has a
/// boot-time clock, which `advance(by:)` moves with the wall clock and `set(_:)` (a wall-clock
/// step) leaves where it is. Its monotonic clock moves with `advance(by:)` and with every
/// `sleep`, which returns at once and is recorded: retries and back-offs run without waiting.
public final class FixedClock: UnixClock, MonotonicClock, Sendable {
    private struct Readings {
        var wall: UnixTime
        var boot: BootClockReading?
        var monotonicNanoseconds: UInt64 = 1_000_000_000
        var sleeps: [Int] = []
    }

    private let readings: Mutex<Readings>
    private let start: UnixTime
    private let startBoot: BootClockReading?

    public init(_ start: UnixTime = 1_700_000_000, bootID: String? = nil) {
        let boot = bootID.map { BootClockReading(bootID: $0, milliseconds: 5_000_000) }
        self.start = start
        startBoot = boot
        readings = Mutex(Readings(wall: start, boot: boot))
    }

    public func now() -> UnixTime { readings.withLock { $0.wall } }
    public func bootClock() -> BootClockReading? { readings.withLock { $0.boot } }
    public func nanoseconds() -> UInt64 { readings.withLock { $0.monotonicNanoseconds } }

    /// Every `sleep` so far, in milliseconds.
    public var sleeps: [Int] { readings.withLock { $0.sleeps } }

    public func sleep(milliseconds: Int) {
        readings.withLock {
            $0.sleeps.append(milliseconds)
            $0.monotonicNanoseconds += UInt64(max(milliseconds, 0)) * 1_000_000
        }
    }

    /// Time passes.
    public func advance(by seconds: Int64) {
        move(wallSeconds: seconds, bootMilliseconds: seconds * 1000)
    }

    /// The wall clock and the boot-time clock move by different amounts (a wall-clock step while
    /// time passes).
    public func move(wallSeconds: Int64, bootMilliseconds: Int64) {
        readings.withLock {
            $0.wall += wallSeconds
            $0.boot?.milliseconds += bootMilliseconds
            $0.monotonicNanoseconds += UInt64(max(bootMilliseconds, 0)) * 1_000_000
        }
    }

    /// The wall clock is stepped to `time`; the boot-time clock does not move.
    public func set(_ time: UnixTime) { readings.withLock { $0.wall = time } }

    /// The machine restarted: a new boot id, its boot-time clock starting near zero.
    public func reboot(as bootID: String) {
        readings.withLock { $0.boot = BootClockReading(bootID: bootID, milliseconds: 10_000) }
    }

    /// Back to the readings it was made with.
    public func reset() {
        readings.withLock { $0 = Readings(wall: start, boot: startBoot) }
    }
}
