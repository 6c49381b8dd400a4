import Crypto

/// The one place secrets are turned into what is stored: codes, phones and tokens at rest.
public struct SecretHasher: Sendable {
    private let pepperSuffix: [UInt8]
    /// HMAC state after the key is absorbed: each phone hash copies it instead of redoing the key.
    private let phoneMAC: HMAC<SHA256>

    public init(pepper: Secret) {
        pepperSuffix = Array(":".utf8) + Array(pepper.value.utf8)
        phoneMAC = HMAC<SHA256>(key: SymmetricKey(data: Array(pepper.value.utf8)))
    }

    /// `hex(sha256(code + ":" + pepper))`.
    public func codeHash(_ code: String) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(code.utf8))
        hasher.update(data: pepperSuffix)
        return Hex.encode(hasher.finalize())
    }

    /// `hex(HMAC-SHA256(pepper, phone))`: a plain hash of a phone number is brute-forced in minutes.
    public func phoneHash(_ phone: PhoneNumber) -> String {
        var mac = phoneMAC
        mac.update(data: Array(phone.e164.utf8))
        return Hex.encode(mac.finalize())
    }

    /// `hex(sha256(token))`: the token itself carries 256 random bits, so no pepper is needed.
    public func tokenHash(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Array(token.utf8)))
    }

    /// The short, non-reversible phone reference that log lines carry.
    public static func logReference(phoneHash: String) -> String {
        String(phoneHash.prefix(12))
    }

    /// Compares two strings in time that depends only on their lengths, not on where they differ.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8)
        let right = Array(b.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices {
            difference |= left[index] ^ right[index]
        }
        return difference == 0
    }
}

/// Lower-case hexadecimal, two digits a byte.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
