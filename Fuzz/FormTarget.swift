import OTPLogic

/// Bytes through the strict form reader the delivery-status endpoint uses: whatever it accepts
/// must survive being written back percent-encoded and read again unchanged, have distinct
/// names, and sign the same whatever the order of its fields (Twilio's rule sorts them).
enum FormTarget {
    static func run(_ bytes: [UInt8]) throws(InvariantViolation) {
        let fields: [FormField]
        do {
            fields = try FormBody.parse(bytes)
        } catch {
            return
        }
        try require(Set(fields.map(\.name)).count == fields.count, "accepted a name twice: \(fields)")
        try require(fields.count <= FormBody.maximumFields, "accepted \(fields.count) fields")
        let written = fields.map { "\(encoded($0.name))=\(encoded($0.value))" }.joined(separator: "&")
        let again: [FormField]
        do {
            again = try FormBody.parse(Array(written.utf8))
        } catch {
            throw InvariantViolation(description: "refuses its own encoding (\(error)): \(written.debugDescription)")
        }
        try require(again == fields, "round trip changed the fields: \(fields) became \(again)")
        let url = "https://portal.example/api/otp/delivery-status"
        try require(
            TwilioSignature.expected(authToken: "t", url: url, fields: fields) == TwilioSignature.expected(authToken: "t", url: url, fields: fields.reversed()),
            "the signature depends on the order of the fields"
        )
    }

    /// Every byte but unreserved characters as %XX.
    private static func encoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5a, 0x61...0x7a, UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF")
                out += "%\(digits[Int(byte >> 4)])\(digits[Int(byte & 0x0f)])"
            }
        }
        return out
    }
}
