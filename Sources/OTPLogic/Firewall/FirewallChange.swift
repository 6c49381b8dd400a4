/// One change the firewall's rules make to one record. `FirewallRecord.apply` is the only way a
/// record changes, both where the rule runs and wherever the change is replayed (a store that
/// shares records between processes through a log of changes), so every process that applies the
/// same changes in the same order holds the same records.
public enum FirewallChange: Sendable, Equatable {
    /// One more send counted at that time.
    case charged(BudgetKey, at: UnixTime)
    /// The send charged at `chargedAt` given back.
    case released(BudgetKey, chargedAt: UnixTime, at: UnixTime)
    /// A send to the country entered its tripwire, which keeps the newest `capacity`.
    case tripwireSend(BudgetKey, tag: UInt32, capacity: Int)
    /// A code sent to the country was verified.
    case tripwireVerified(BudgetKey, tag: UInt32)
    /// The country paused until then; its tripwire starts over.
    case paused(BudgetKey, until: UnixTime)
    /// The "budget exhausted" line was logged; the next not before then.
    case alerted(BudgetKey, until: UnixTime)
    /// The whole record replaced (an operator's unblock, a test's setup).
    indirect case replaced(FirewallRecord)

    public var key: BudgetKey {
        switch self {
        case .charged(let key, _), .released(let key, _, _), .tripwireSend(let key, _, _), .tripwireVerified(let key, _),
             .paused(let key, _), .alerted(let key, _):
            key
        case .replaced(let record): record.key
        }
    }
}

extension FirewallRecord {
    /// The record with `change` made (a change of another key leaves it as it is).
    public mutating func apply(_ change: FirewallChange) {
        guard change.key == key else { return }
        switch change {
        case .charged(_, let at): window.charge(at: at)
        case .released(_, let chargedAt, let at): window.release(chargedAt: chargedAt, at: at)
        case .tripwireSend(_, let tag, let capacity): tripwire.record(tag: tag, capacity: capacity)
        case .tripwireVerified(_, let tag): _ = tripwire.verify(tag: tag)
        case .paused(_, let until):
            pausedUntil = until
            // A paused country starts over: the sends that tripped it do not trip it again at once.
            tripwire = Tripwire()
        case .alerted(_, let until): alertedUntil = until
        case .replaced(let record): self = record
        }
    }

    /// Nothing in it counts at `now`: no send in the window, no pause or alert still running, no
    /// tripwire entry. Such a record is the same as none.
    public func isEmpty(at now: UnixTime) -> Bool {
        window.isEmpty(at: now) && (pausedUntil ?? now) <= now && (alertedUntil ?? now) <= now && tripwire.entries.isEmpty
    }
}

extension FirewallChange {
    private enum Kind: UInt8 {
        case charged = 1, released, tripwireSend, tripwireVerified, paused, alerted, replaced
    }

    /// Changes as bytes, how a store keeps them: for each, its kind, the key's scope and its UTF-8
    /// text, then the kind's numbers, little-endian.
    public static func encoded(_ changes: [FirewallChange]) -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes.reserveCapacity(changes.count * 40)
        for change in changes {
            switch change {
            case .charged(let key, let at):
                writer.header(.charged, key)
                writer.integer(at)
            case .released(let key, let chargedAt, let at):
                writer.header(.released, key)
                writer.integer(chargedAt)
                writer.integer(at)
            case .tripwireSend(let key, let tag, let capacity):
                writer.header(.tripwireSend, key)
                writer.integer(tag)
                writer.integer(UInt32(clamping: capacity))
            case .tripwireVerified(let key, let tag):
                writer.header(.tripwireVerified, key)
                writer.integer(tag)
            case .paused(let key, let until):
                writer.header(.paused, key)
                writer.integer(until)
            case .alerted(let key, let until):
                writer.header(.alerted, key)
                writer.integer(until)
            case .replaced(let record):
                writer.header(.replaced, record.key)
                writer.integer(record.pausedUntil ?? Int64.min)
                writer.integer(record.alertedUntil ?? Int64.min)
                writer.blob(record.window.encoded)
                writer.blob(record.tripwire.encoded)
            }
        }
        return writer.bytes
    }

    /// Nil for bytes that are not `encoded` output.
    public static func decoded(_ bytes: [UInt8]) -> [FirewallChange]? {
        var reader = ByteReader(bytes: bytes)
        var changes: [FirewallChange] = []
        while !reader.atEnd {
            guard let kind = reader.byte().flatMap(Kind.init(rawValue:)), let scopeIndex = reader.byte(),
                  Int(scopeIndex) < BudgetScope.allCases.count, let name = reader.text() else { return nil }
            let key = BudgetKey(BudgetScope.allCases[Int(scopeIndex)], name)
            switch kind {
            case .charged:
                guard let at = reader.int64() else { return nil }
                changes.append(.charged(key, at: at))
            case .released:
                guard let chargedAt = reader.int64(), let at = reader.int64() else { return nil }
                changes.append(.released(key, chargedAt: chargedAt, at: at))
            case .tripwireSend:
                guard let tag = reader.uint32(), let capacity = reader.uint32() else { return nil }
                changes.append(.tripwireSend(key, tag: tag, capacity: Int(capacity)))
            case .tripwireVerified:
                guard let tag = reader.uint32() else { return nil }
                changes.append(.tripwireVerified(key, tag: tag))
            case .paused:
                guard let until = reader.int64() else { return nil }
                changes.append(.paused(key, until: until))
            case .alerted:
                guard let until = reader.int64() else { return nil }
                changes.append(.alerted(key, until: until))
            case .replaced:
                guard let paused = reader.int64(), let alerted = reader.int64(),
                      let window = reader.blob().flatMap(BudgetWindow.init(encoded:)),
                      let tripwire = reader.blob().flatMap(Tripwire.init(encoded:)) else { return nil }
                changes.append(.replaced(FirewallRecord(
                    key: key, window: window, pausedUntil: paused == Int64.min ? nil : paused,
                    alertedUntil: alerted == Int64.min ? nil : alerted, tripwire: tripwire
                )))
            }
        }
        return changes
    }

    private struct ByteWriter {
        var bytes: [UInt8] = []

        mutating func header(_ kind: Kind, _ key: BudgetKey) {
            bytes.append(kind.rawValue)
            bytes.append(UInt8(key.scope.index))
            var name = key.key
            name.withUTF8 { blob($0) }
        }

        mutating func integer<T: FixedWidthInteger>(_ value: T) {
            var remaining = value
            for _ in 0..<MemoryLayout<T>.size {
                bytes.append(UInt8(truncatingIfNeeded: remaining))
                remaining >>= 8
            }
        }

        mutating func blob(_ data: UnsafeBufferPointer<UInt8>) {
            integer(UInt32(data.count))
            bytes.append(contentsOf: data)
        }

        mutating func blob(_ data: [UInt8]) {
            data.withUnsafeBufferPointer { blob($0) }
        }
    }

    private struct ByteReader {
        let bytes: [UInt8]
        var offset = 0

        var atEnd: Bool { offset >= bytes.count }

        mutating func byte() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        private mutating func little<T: FixedWidthInteger>(_: T.Type) -> T? {
            let size = MemoryLayout<T>.size
            guard bytes.count - offset >= size else { return nil }
            var value: T = 0
            for index in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + index]) << (8 * index) }
            offset += size
            return value
        }

        mutating func int64() -> Int64? { little(Int64.self) }
        mutating func uint32() -> UInt32? { little(UInt32.self) }

        mutating func blob() -> [UInt8]? {
            guard let count = uint32(), bytes.count - offset >= Int(count) else { return nil }
            defer { offset += Int(count) }
            return Array(bytes[offset..<offset + Int(count)])
        }

        mutating func text() -> String? {
            guard let data = blob() else { return nil }
            return String(validating: data, as: UTF8.self)
        }
    }
}
