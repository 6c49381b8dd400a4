import OTPLogic

/// Writes parsed members back as JSON with `JSONText` and parses them again: the parser and the
/// writer the responses use must agree on every string, escapes and non-ASCII included.
enum JSONRoundTrip {
    static func check(_ members: [JSONObjectParser.Member]) throws(InvariantViolation) {
        let text = "{" + members.map { "\(JSONText.quoted($0.name)): \(literal($0.value))" }.joined(separator: ", ") + "}"
        let again: [JSONObjectParser.Member]
        do {
            again = try JSONObjectParser.parse(Array(text.utf8))
        } catch {
            throw InvariantViolation(description: "parser refuses what JSONText wrote (\(error)): \(text.debugDescription)")
        }
        try require(again == members, "round trip changed the members: \(members) became \(again)")
    }

    private static func literal(_ value: JSONObjectParser.Value) -> String {
        switch value {
        case .string(let text): JSONText.quoted(text)
        case .number(let text): text
        case .bool: "true"
        case .null: "null"
        case .array: "[1, [\"x\"]]"
        case .object: "{\"a\": {}}"
        }
    }
}
