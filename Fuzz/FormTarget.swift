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
        let written = fields.map { "\(FormBody.percentEncoded($0.name))=\(FormBody.percentEncoded($0.value))" }.joined(separator: "&")
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
}
