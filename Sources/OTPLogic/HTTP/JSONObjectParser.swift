/// A strict RFC 8259 parser for request bodies whose top level is an object of named values.
///
/// Written for this one shape rather than decoding through a general-purpose library so that
/// duplicate names are seen (a general decoder keeps one of them silently, a classic source of
/// parser disagreement), nesting is bounded, and non-string values are reported by kind.
public enum JSONObjectParser {
    public enum Value: Sendable, Equatable {
        case string(String)
        /// The number's text exactly as written.
        case number(String)
        case bool
        case null
        case array
        case object
    }

    public struct Member: Sendable, Equatable {
        public var name: String
        public var value: Value
    }

    public enum Failure: Error, Equatable {
        /// Not JSON at all, or not UTF-8.
        case malformed
        /// Valid JSON whose top level is not an object.
        case notAnObject
    }

    static let maximumDepth = 32

    /// The top-level members in document order, duplicates included.
    public static func parse(_ bytes: [UInt8]) throws(Failure) -> [Member] {
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        guard reader.peek() == UInt8(ascii: "{") else {
            _ = try reader.value(depth: 0)
            reader.skipWhitespace()
            guard reader.atEnd else { throw .malformed }
            throw .notAnObject
        }
        let members = try reader.object(depth: 0, collect: true)
        reader.skipWhitespace()
        guard reader.atEnd else { throw .malformed }
        return members
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }
        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(Failure) {
            guard peek() == byte else { throw .malformed }
            index += 1
        }

        mutating func object(depth: Int, collect: Bool) throws(Failure) -> [Member] {
            guard depth < JSONObjectParser.maximumDepth else { throw .malformed }
            try expect(UInt8(ascii: "{"))
            var members: [Member] = []
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { index += 1; return members }
            // A request body has a handful of members: one allocation instead of one per doubling.
            if collect { members.reserveCapacity(8) }
            while true {
                skipWhitespace()
                let name = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                let value = try self.value(depth: depth + 1)
                if collect { members.append(Member(name: name, value: value)) }
                skipWhitespace()
                switch peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"): index += 1; return members
                default: throw .malformed
                }
            }
        }

        mutating func array(depth: Int) throws(Failure) {
            guard depth < JSONObjectParser.maximumDepth else { throw .malformed }
            try expect(UInt8(ascii: "["))
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { index += 1; return }
            while true {
                skipWhitespace()
                _ = try value(depth: depth + 1)
                skipWhitespace()
                switch peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return
                default: throw .malformed
                }
            }
        }

        mutating func value(depth: Int) throws(Failure) -> Value {
            switch peek() {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "{"): _ = try object(depth: depth, collect: false); return .object
            case UInt8(ascii: "["): try array(depth: depth); return .array
            case UInt8(ascii: "t"): try literal("true"); return .bool
            case UInt8(ascii: "f"): try literal("false"); return .bool
            case UInt8(ascii: "n"): try literal("null"); return .null
            case .some(let byte) where byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39):
                let start = index
                try number()
                return .number(String(decoding: bytes[start..<index], as: UTF8.self))
            default: throw .malformed
            }
        }

        mutating func literal(_ word: StaticString) throws(Failure) {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw .malformed }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw .malformed }
            index += count
        }

        mutating func digits() throws(Failure) {
            let start = index
            while let byte = peek(), byte >= 0x30 && byte <= 0x39 { index += 1 }
            guard index > start else { throw .malformed }
        }

        mutating func number() throws(Failure) {
            if peek() == UInt8(ascii: "-") { index += 1 }
            if peek() == UInt8(ascii: "0") {
                index += 1
            } else {
                try digits()
            }
            if peek() == UInt8(ascii: ".") { index += 1; try digits() }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                index += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
                try digits()
            }
        }

        mutating func hex4() throws(Failure) -> UInt32 {
            guard index + 4 <= bytes.count else { throw .malformed }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw .malformed
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        mutating func string() throws(Failure) -> String {
            try expect(UInt8(ascii: "\""))
            // The usual string has no escapes: find its end and validate it in one go.
            var end = index
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 {
                end += 1
            }
            if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
                guard let text = String(validUTF8: bytes[index..<end]) else { throw .malformed }
                index = end + 1
                return text
            }
            var scalars = String.UnicodeScalarView()
            var run = index
            func flush(_ end: Int) throws(Failure) {
                guard run < end else { return }
                guard let text = String(validUTF8: bytes[run..<end]) else { throw .malformed }
                scalars.append(contentsOf: text.unicodeScalars)
            }
            while true {
                guard let byte = peek() else { throw .malformed }
                switch byte {
                case UInt8(ascii: "\""):
                    try flush(index)
                    index += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    try flush(index)
                    index += 1
                    guard let escape = peek() else { throw .malformed }
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800...0xDBFF).contains(code) {
                            guard peek() == UInt8(ascii: "\\") else { throw .malformed }
                            index += 1
                            try expect(UInt8(ascii: "u"))
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw .malformed }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(code) {
                            throw .malformed
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw .malformed }
                        scalars.append(scalar)
                    default:
                        throw .malformed
                    }
                    run = index
                case 0x00..<0x20:
                    throw .malformed
                default:
                    index += 1
                }
            }
        }
    }
}
