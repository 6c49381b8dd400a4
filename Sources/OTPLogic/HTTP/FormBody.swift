/// One `name=value` pair of a form body, decoded.
public struct FormField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// The strict reader of `application/x-www-form-urlencoded` bodies (the providers' status
/// callbacks). Refused, each for its reason, rather than guessed at:
/// - an empty pair (`a=1&&b=2`), a pair without `=`, an empty name;
/// - `%` not followed by two hexadecimal digits;
/// - bytes that do not decode to UTF-8, or a control character other than tab, CR and LF;
/// - a name given twice (no callback we read repeats one; a second value is someone's trick);
/// - more than `maximumFields` pairs.
public enum FormBody {
    public static let maximumFields = 64

    public enum Failure: Error, Equatable {
        case malformed(String)
    }

    public static func parse(_ bytes: [UInt8]) throws(Failure) -> [FormField] {
        guard !bytes.isEmpty else { return [] }
        var fields: [FormField] = []
        var names: Set<String> = []
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            guard !pair.isEmpty else { throw .malformed("empty field") }
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { throw .malformed("a field without =") }
            let name = try decode(pair[pair.startIndex..<equals])
            guard !name.isEmpty else { throw .malformed("a field without a name") }
            guard names.insert(name).inserted else { throw .malformed("a field name given twice") }
            fields.append(FormField(name, try decode(pair[(equals + 1)...])))
            guard fields.count <= maximumFields else { throw .malformed("more than \(maximumFields) fields") }
        }
        return fields
    }

    private static func decode(_ bytes: ArraySlice<UInt8>) throws(Failure) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "+"):
                out.append(0x20)
            case UInt8(ascii: "%"):
                guard index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                    throw .malformed("a % not followed by two hexadecimal digits")
                }
                out.append(high << 4 | low)
                index += 2
            default:
                out.append(byte)
            }
            index += 1
        }
        guard let text = String(validUTF8: out) else { throw .malformed("a field that is not UTF-8") }
        guard !text.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r") || $0.value == 0x7f }) else {
            throw .malformed("a control character")
        }
        return text
    }

    /// RFC 3986 percent-encoding: `A–Z a–z 0–9 - _ . ~` kept, every other byte as `%XX` (upper
    /// case), as AWS Signature Version 4 and form writers want it.
    public static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 0x41...0x5a, 0x61...0x7a, 0x30...0x39, UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(upperHex[Int(byte >> 4)]) + String(upperHex[Int(byte & 0x0f)])
            }
        }
        return out
    }

    private static let upperHex = Array("0123456789ABCDEF")

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}

extension Array where Element == FormField {
    /// The value of the field `name`, if the body has it.
    public subscript(field name: String) -> String? { first { $0.name == name }?.value }
}
