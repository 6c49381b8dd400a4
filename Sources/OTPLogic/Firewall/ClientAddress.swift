/// The client address a send is counted against (`REMOTE_ADDR`): an IPv4 address as it is, an
/// IPv6 address by its /64, the smallest block a customer usually gets (counting single IPv6
/// addresses would let one host rotate through 2^64 of them).
public struct ClientAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// `192.0.2.7`, or the /64 as `2001:db8:1:2::/64`.
    public let key: String

    /// Nil for text that is not an IPv4 or IPv6 address.
    public init?(_ text: String) {
        if let v4 = ClientAddress.ipv4(text) {
            key = v4
        } else if let groups = ClientAddress.ipv6Groups(text) {
            // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 address.
            if groups[0..<5].allSatisfy({ $0 == 0 }) && groups[5] == 0xffff {
                key = "\(groups[6] >> 8).\(groups[6] & 0xff).\(groups[7] >> 8).\(groups[7] & 0xff)"
            } else {
                key = groups[0..<4].map { String($0, radix: 16) }.joined(separator: ":") + "::/64"
            }
        } else {
            return nil
        }
    }

    public var description: String { key }

    /// Four decimal octets (1 to 3 digits each, at most 255), written without leading zeros. Read
    /// byte by byte: every send parses its client's address.
    private static func ipv4(_ text: String) -> String? {
        var octets: [Int] = []
        octets.reserveCapacity(4)
        var value = 0
        var digits = 0
        var canonical = true
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, octets.count < 3 else { return nil }
                octets.append(value)
                value = 0
                digits = 0
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                if digits == 1 && value == 0 { canonical = false }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, value <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, octets.count == 3 else { return nil }
        octets.append(value)
        return canonical ? text : octets.map(String.init).joined(separator: ".")
    }

    /// The eight 16-bit groups of an IPv6 address (with `::` and an embedded IPv4 tail); a zone
    /// (`%eth0`) is ignored.
    private static func ipv6Groups(_ text: String) -> [UInt16]? {
        var text = Substring(text)
        if let percent = text.firstIndex(of: "%") { text = text[..<percent] }
        guard text.contains(":"), text.count <= 45 else { return nil }
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            guard !part.isEmpty else { return [] }
            var result: [UInt16] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, field) in fields.enumerated() {
                if index == fields.count - 1, field.contains("."), let v4 = ipv4(String(field)) {
                    let octets = v4.split(separator: ".").compactMap { UInt16($0) }
                    result += [octets[0] << 8 | octets[1], octets[2] << 8 | octets[3]]
                    continue
                }
                guard (1...4).contains(field.count), let value = UInt16(field, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 8 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
        return head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
    }
}
