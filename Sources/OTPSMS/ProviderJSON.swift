import OTPLogic

/// Reading providers' JSON answers with the core's strict object reader.
extension Array where Element == JSONObjectParser.Member {
    /// The first member `name` that is a string.
    func string(_ name: String) -> String? {
        for member in self where member.name == name {
            if case .string(let text) = member.value { return text }
        }
        return nil
    }

    /// The first member `name` that is an integer number.
    func integer(_ name: String) -> Int? {
        for member in self where member.name == name {
            if case .number(let text) = member.value { return Int(text) }
        }
        return nil
    }
}

enum ProviderJSON {
    /// The objects directly inside the arrays of the top-level object (Vonage's `messages`), each
    /// read with the strict reader; an object that does not parse is left out.
    static func nestedObjects(in bytes: [UInt8]) -> [[JSONObjectParser.Member]] {
        var objects: [[JSONObjectParser.Member]] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start: Int?
        for (index, byte) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth == 3 && byte == UInt8(ascii: "{") { start = index }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 3, let begin = start, byte == UInt8(ascii: "}") {
                    if let members = try? JSONObjectParser.parse(Array(bytes[begin...index])) { objects.append(members) }
                    start = nil
                }
                depth -= 1
            default: break
            }
        }
        return objects
    }
}
