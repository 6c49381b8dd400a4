extension Array where Element == UInt8 {
    /// Appends `text`'s UTF-8 in one copy (appending its `utf8` view goes byte by byte); for the
    /// response and log bytes built on every request.
    public mutating func appendUTF8(_ text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }
}

extension String {
    /// The bytes as a string if they are valid UTF-8, else nil: what `String(validating:as:)`
    /// answers, at a fraction of its cost. That initializer is generic over the encoding and runs
    /// unspecialized from the standard library, looking up type metadata on every call (about
    /// 1,100 instructions; the body parser and `REMOTE_USER` call it six times per request).
    /// Decoding repairs invalid UTF-8 with U+FFFD; a repaired string differs from the bytes where
    /// the first invalid sequence was (U+FFFD's own bytes are valid UTF-8, that sequence was not),
    /// so a string whose bytes equal the input came from valid input.
    init?(validUTF8 bytes: UnsafeBufferPointer<UInt8>) {
        var text = String(decoding: bytes, as: UTF8.self)
        // A plain loop: `elementsEqual` walks two iterators, some 40 instructions a byte.
        let same = text.withUTF8 { decoded in
            guard decoded.count == bytes.count else { return false }
            for index in 0..<decoded.count where decoded[index] != bytes[index] { return false }
            return true
        }
        guard same else { return nil }
        self = text
    }

    init?(validUTF8 bytes: ArraySlice<UInt8>) {
        guard let text = bytes.withUnsafeBufferPointer({ String(validUTF8: $0) }) else { return nil }
        self = text
    }

    init?(validUTF8 bytes: [UInt8]) {
        guard let text = bytes.withUnsafeBufferPointer({ String(validUTF8: $0) }) else { return nil }
        self = text
    }
}
