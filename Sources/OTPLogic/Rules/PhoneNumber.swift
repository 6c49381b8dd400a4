/// A phone number in E.164 form (`^\+[1-9][0-9]{6,14}$`). Its `description` never shows the digits.
public struct PhoneNumber: Sendable, Equatable, CustomStringConvertible {
    public let e164: String

    /// Nil unless `text` is exactly a `+`, a non-zero digit and 6 to 14 more digits.
    public init?(_ text: String) {
        let bytes = text.utf8
        guard bytes.count >= 8, bytes.count <= 16, bytes.first == UInt8(ascii: "+") else { return nil }
        let digits = bytes.dropFirst()
        guard digits.first != UInt8(ascii: "0"), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        e164 = text
    }

    public var description: String { "<phone>" }
}
