/// The last sends to one country and whether each was verified: pumped numbers never verify, so
/// a country whose recent sends mostly stay unverified is being pumped (SPEC, "Conversion
/// tripwire"). At most `capacity` entries, newest last; each is a tag of the code it sent.
public struct Tripwire: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        /// Which code (`Tripwire.tag(phoneHash:)`), so its verification can find it.
        public var tag: UInt32
        public var verified: Bool
    }

    public private(set) var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    /// A short tag of a code's phone: enough to tell apart the last few dozen sends of a country.
    public static func tag(phoneHash: String) -> UInt32 {
        // The first eight hex digits, read byte by byte (once a send: no substring, no parser).
        var tag: UInt32 = 0
        var digits = 0
        for byte in phoneHash.utf8 {
            guard digits < 8 else { break }
            let value: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = byte - UInt8(ascii: "A") + 10
            default: return 0
            }
            tag = tag << 4 | UInt32(value)
            digits += 1
        }
        return digits == 8 ? tag : 0
    }

    /// With a new unverified send, keeping the newest `capacity`.
    public func recording(tag: UInt32, capacity: Int) -> Tripwire {
        var tripwire = self
        tripwire.record(tag: tag, capacity: capacity)
        return tripwire
    }

    /// The same, in place.
    public mutating func record(tag: UInt32, capacity: Int) {
        entries.append(Entry(tag: tag, verified: false))
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    /// With the newest unverified send of `tag` marked verified; nil when there is none.
    public func verifying(tag: UInt32) -> Tripwire? {
        var tripwire = self
        return tripwire.verify(tag: tag) ? tripwire : nil
    }

    /// The same, in place; false (and nothing changed) when there is none.
    public mutating func verify(tag: UInt32) -> Bool {
        guard let index = entries.lastIndex(where: { $0.tag == tag && !$0.verified }) else { return false }
        entries[index].verified = true
        return true
    }

    /// True when the last `sends` sends (all of them there) had fewer than `minimumVerifiedPercent`
    /// percent verified.
    public func trips(sends: Int, minimumVerifiedPercent: Int) -> Bool {
        guard entries.count >= sends, sends > 0 else { return false }
        var verified = 0
        for index in (entries.count - sends)..<entries.count where entries[index].verified { verified += 1 }
        return verified * 100 < minimumVerifiedPercent * sends
    }

    /// Little-endian (UInt32 tag, UInt8 verified) pairs: how stores keep it.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 5)
        for entry in entries {
            withUnsafeBytes(of: entry.tag.littleEndian) { bytes += $0 }
            bytes.append(entry.verified ? 1 : 0)
        }
        return bytes
    }

    /// Nil for bytes that are not `encoded` output.
    public init?(encoded bytes: [UInt8]) {
        guard bytes.count % 5 == 0 else { return nil }
        var entries: [Entry] = []
        var offset = 0
        while offset < bytes.count {
            var tag: UInt32 = 0
            for index in 0..<4 { tag |= UInt32(bytes[offset + index]) << (8 * index) }
            entries.append(Entry(tag: tag, verified: bytes[offset + 4] != 0))
            offset += 5
        }
        self.entries = entries
    }
}
