import Crypto

/// The one place secrets are turned into what is stored: codes, phones and tokens at rest.
public struct SecretHasher: Sendable {
    private let pepperSuffix: [UInt8]
    /// The pepper as the phone hash's key, absorbed once.
    private let phoneMAC: KeyedSHA256MAC

    public init(pepper: Secret) {
        pepperSuffix = Array(":".utf8) + Array(pepper.value.utf8)
        phoneMAC = KeyedSHA256MAC(key: Array(pepper.value.utf8))
    }

    /// `hex(sha256(code + ":" + pepper))`.
    public func codeHash(_ code: String) -> String {
        var hasher = SHA256()
        var code = code
        code.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        hasher.update(data: pepperSuffix)
        return Hex.encode(hasher.finalize())
    }

    /// `hex(HMAC-SHA256(pepper, phone))`: a plain hash of a phone number is brute-forced in minutes.
    public func phoneHash(_ phone: PhoneNumber) -> String {
        var e164 = phone.e164
        return Hex.encode(e164.withUTF8 { phoneMAC.code(for: UnsafeRawBufferPointer($0)) })
    }

    /// `hex(sha256(token))`: the token itself carries 256 random bits, so no pepper is needed.
    public func tokenHash(_ token: String) -> String {
        var token = token
        return Hex.encode(token.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) })
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
    public static func encode<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        Array(bytes).withUnsafeBytes(encode(raw:))
    }

    /// A digest or MAC in one pass over its bytes (iterating one as a sequence costs several
    /// times more, on every request's hashes).
    public static func encode<D: Digest>(_ digest: D) -> String { digest.withUnsafeBytes(encode(raw:)) }
    public static func encode<H: HashFunction>(_ code: HashedAuthenticationCode<H>) -> String { code.withUnsafeBytes(encode(raw:)) }

    private static let digits: StaticString = "0123456789abcdef"

    /// The digit of a value 0...15.
    static func digit(_ nibble: UInt8) -> UInt8 { digits.utf8Start[Int(nibble)] }

    private static func encode(raw bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in write(bytes, to: out, at: 0) }
    }

    /// Writes two digits a byte into `out` from `offset`; returns where they end.
    static func write(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        var index = offset
        for byte in bytes {
            out[index] = digit(byte >> 4)
            out[index + 1] = digit(byte & 0x0f)
            index += 2
        }
        return index
    }
}
