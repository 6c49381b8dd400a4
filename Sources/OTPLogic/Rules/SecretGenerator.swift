/// Makes codes and step-up tokens from an injected random source (the OS CSPRNG in production).
public struct SecretGenerator {
    private var random: any RandomNumberGenerator

    /// `random` must be cryptographically secure outside tests; `SystemRandomNumberGenerator` is.
    public init(random: any RandomNumberGenerator = SystemRandomNumberGenerator()) {
        self.random = random
    }

    /// `length` decimal digits, each equally likely (rejection sampling, no modulo bias).
    public mutating func code(length: Int) -> String {
        precondition((1...19).contains(length))
        var bound: UInt64 = 1
        for _ in 0..<length { bound *= 10 }
        let value = UInt64.random(in: 0..<bound, using: &random)
        let digits = String(value)
        return String(repeating: "0", count: length - digits.count) + digits
    }

    /// 32 random bytes, base64url without padding (43 characters).
    public mutating func stepUpToken() -> String {
        Base64URL.encode(random.bytes(32))
    }

    /// The key of a message sent at `milliseconds` since the Unix epoch (`DeliveryReference`).
    public mutating func deliveryReference(milliseconds: Int64) -> DeliveryReference {
        DeliveryReference(milliseconds: milliseconds, random: random.bytes(8))
    }
}

extension RandomNumberGenerator {
    /// `count` (a multiple of 8) random bytes, one 64-bit draw per 8: each draw of the system
    /// generator is a `getrandom` call.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        precondition(count % 8 == 0)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for _ in 0..<count / 8 {
            var word = next()
            for _ in 0..<8 {
                bytes.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return bytes
    }
}

/// base64url (RFC 4648 §5) without padding, for tokens that travel in headers.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int((chunk >> UInt32(shift)) & 63)]) }
            index += 3
        }
        let remaining = bytes.count - index
        if remaining > 0 {
            var chunk = UInt32(bytes[index]) << 16
            if remaining == 2 { chunk |= UInt32(bytes[index + 1]) << 8 }
            let shifts = remaining == 1 ? [18, 12] : [18, 12, 6]
            for shift in shifts { out.append(alphabet[Int((chunk >> UInt32(shift)) & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Each byte's value in the alphabet, or 0xff for bytes outside it.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    /// True for exactly the strings `encode` produces from 32 bytes: 43 characters of the alphabet,
    /// the last one carrying no stray bits.
    public static func isEncodedToken(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.count == 43 else { return false }
            for byte in bytes where values[Int(byte)] == 0xff { return false }
            return values[Int(bytes[42])] & 0b11 == 0
        }
    }
}
