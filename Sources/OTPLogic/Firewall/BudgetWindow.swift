/// The sends of one budget key (a user, an address, a country, everyone) in the last hour, by
/// minute: at most 61 buckets of (minute, count). The window slides by the minute and never lets
/// more through than its limit: a bucket counts while any second of it is within the last hour,
/// so a send stops counting between 60 and 61 minutes after it happened. Constant size whatever
/// the limit, so a busy key costs what an idle one does.
public struct BudgetWindow: Sendable, Equatable {
    public static let seconds: Int64 = 3600
    static let bucketSeconds: Int64 = 60

    /// (minute since the epoch, sends in it), oldest first.
    public private(set) var buckets: [(minute: Int64, count: Int)]

    public init(buckets: [(minute: Int64, count: Int)] = []) {
        self.buckets = buckets
    }

    public static func == (a: BudgetWindow, b: BudgetWindow) -> Bool {
        a.buckets.count == b.buckets.count && zip(a.buckets, b.buckets).allSatisfy { $0.minute == $1.minute && $0.count == $1.count }
    }

    /// The first minute still inside the window at `now`.
    private static func oldestMinute(at now: UnixTime) -> Int64 {
        floorDivide(now - seconds, bucketSeconds)
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : (a - b + 1) / b
    }

    /// The window at `now`: buckets that left it are gone.
    public func current(at now: UnixTime) -> BudgetWindow {
        var window = self
        window.dropExpired(at: now)
        return window
    }

    /// Buckets are kept oldest first, so the ones that left the window are a prefix.
    private mutating func dropExpired(at now: UnixTime) {
        let oldest = BudgetWindow.oldestMinute(at: now)
        var expired = 0
        while expired < buckets.count && buckets[expired].minute < oldest { expired += 1 }
        if expired > 0 { buckets.removeFirst(expired) }
    }

    /// Sends that still count at `now`.
    public func used(at now: UnixTime) -> Int {
        let oldest = BudgetWindow.oldestMinute(at: now)
        var total = 0
        var index = buckets.count
        while index > 0 && buckets[index - 1].minute >= oldest {
            index -= 1
            total += buckets[index].count
        }
        return total
    }

    /// Seconds until one more send would fit under `limit` (at least 1), or 0 when it fits now.
    public func secondsUntilRoom(under limit: Int, at now: UnixTime) -> Int64 {
        var excess = used(at: now) - limit + 1
        guard excess > 0 else { return 0 }
        let oldest = BudgetWindow.oldestMinute(at: now)
        for bucket in buckets where bucket.minute >= oldest {
            excess -= bucket.count
            if excess <= 0 {
                // The bucket leaves the window once its last second is an hour old.
                return max(1, (bucket.minute + 1) * BudgetWindow.bucketSeconds + BudgetWindow.seconds - now)
            }
        }
        return BudgetWindow.seconds
    }

    /// One more send at `now`.
    public func charged(at now: UnixTime) -> BudgetWindow {
        var window = self
        window.charge(at: now)
        return window
    }

    /// One more send at `now`, in place. A clock set back lands the send in its own minute's
    /// bucket, so the buckets stay oldest first.
    public mutating func charge(at now: UnixTime) {
        dropExpired(at: now)
        let minute = BudgetWindow.floorDivide(now, BudgetWindow.bucketSeconds)
        var index = buckets.count
        while index > 0 && buckets[index - 1].minute > minute { index -= 1 }
        if index > 0 && buckets[index - 1].minute == minute {
            buckets[index - 1].count += 1
        } else {
            buckets.insert((minute, 1), at: index)
        }
    }

    /// The send charged at `chargedAt` taken back (it certainly did not reach the provider).
    public func released(chargedAt: UnixTime, at now: UnixTime) -> BudgetWindow {
        var window = self
        window.release(chargedAt: chargedAt, at: now)
        return window
    }

    /// The same, in place; an emptied bucket goes.
    public mutating func release(chargedAt: UnixTime, at now: UnixTime) {
        dropExpired(at: now)
        let minute = BudgetWindow.floorDivide(chargedAt, BudgetWindow.bucketSeconds)
        guard let index = buckets.lastIndex(where: { $0.minute == minute }) else { return }
        buckets[index].count -= 1
        if buckets[index].count <= 0 { buckets.remove(at: index) }
    }

    /// True when no send counts at `now`.
    public func isEmpty(at now: UnixTime) -> Bool { used(at: now) == 0 }

    /// Little-endian (Int64 minute, UInt32 count) pairs: how stores keep it.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(buckets.count * 12)
        for bucket in buckets {
            withUnsafeBytes(of: bucket.minute.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: UInt32(clamping: bucket.count).littleEndian) { bytes += $0 }
        }
        return bytes
    }

    /// Nil for bytes that are not `encoded` output.
    public init?(encoded bytes: [UInt8]) {
        guard bytes.count % 12 == 0 else { return nil }
        var buckets: [(minute: Int64, count: Int)] = []
        buckets.reserveCapacity(bytes.count / 12)
        var offset = 0
        while offset < bytes.count {
            var minute: Int64 = 0
            var count: UInt32 = 0
            for index in 0..<8 { minute |= Int64(bytes[offset + index]) << (8 * index) }
            for index in 0..<4 { count |= UInt32(bytes[offset + 8 + index]) << (8 * index) }
            if count > 0 { buckets.append((minute, Int(count))) }
            offset += 12
        }
        // Oldest first, as every operation expects (a version before 4 could append out of order
        // after the clock was set back).
        if zip(buckets, buckets.dropFirst()).contains(where: { $0.minute >= $1.minute }) {
            var merged: [Int64: Int] = [:]
            for bucket in buckets { merged[bucket.minute, default: 0] += bucket.count }
            buckets = merged.sorted { $0.key < $1.key }.map { (minute: $0.key, count: $0.value) }
        }
        self.buckets = buckets
    }
}
