import Crypto

/// HMAC-SHA256 (RFC 2104) with one key, kept as the SHA-256 states after the key's inner and outer
/// pads: each MAC copies them and hashes the message and the inner digest, two blocks.
/// `HMAC<SHA256>` gives the same bytes (tests compare them), but takes every message through its
/// generic `update`, whose unspecialised calls cost as much as the hashing on a phone hash.
struct KeyedSHA256MAC: Sendable {
    private let inner: SHA256
    private let outer: SHA256

    init(key: [UInt8]) {
        var block = key.count > SHA256.blockByteCount ? Array(SHA256.hash(data: key)) : key
        block += repeatElement(0, count: SHA256.blockByteCount - block.count)
        var inner = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: block.map { $0 ^ 0x5c })
        self.inner = inner
        self.outer = outer
    }

    func code(for message: UnsafeRawBufferPointer) -> SHA256Digest {
        var inner = self.inner
        inner.update(bufferPointer: message)
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize()
    }
}
