import OTPLogic

/// Raw bytes as a request body: the strict JSON parser, then the send and verify bodies.
///
/// Invariants: nothing traps; an accepted document is UTF-8 and reads back the same after
/// `JSONText` writes it again; the bodies refuse exactly what the parser refuses, with one of
/// their fixed messages (nothing from the input echoed); an accepted body has the allowed fields
/// once each, a phone matching the documented `^\+[1-9][0-9]{6,14}$`, a known purpose and a code
/// of exactly the configured number of digits.
enum BodyTarget {
    static func run(_ bytes: [UInt8]) throws(InvariantViolation) {
        let parsed: Result<[JSONObjectParser.Member], JSONObjectParser.Failure>
        do {
            parsed = .success(try JSONObjectParser.parse(bytes))
        } catch {
            parsed = .failure(error)
        }
        if case .success(let members) = parsed {
            try require(String(validating: bytes, as: UTF8.self) != nil, "parser accepted bytes that are not UTF-8")
            try JSONRoundTrip.check(members)
        }

        let send: Result<SendBody, RequestError>
        do { send = .success(try SendBody(json: bytes)) } catch { send = .failure(error) }
        try check(send, parsed: parsed, fields: ["phone_e164", "purpose"], codeLength: nil) { ($0.phone, $0.purpose, nil) }

        for codeLength in [4, 6, 10] {
            let verify: Result<VerifyBody, RequestError>
            do { verify = .success(try VerifyBody(json: bytes, codeLength: codeLength)) } catch { verify = .failure(error) }
            try check(verify, parsed: parsed, fields: ["phone_e164", "purpose", "code"], codeLength: codeLength) {
                ($0.phone, $0.purpose, $0.code)
            }
        }
    }

    private static func check<Body>(
        _ result: Result<Body, RequestError>, parsed: Result<[JSONObjectParser.Member], JSONObjectParser.Failure>,
        fields: [String], codeLength: Int?, _ parts: (Body) -> (PhoneNumber, Purpose, String?)
    ) throws(InvariantViolation) {
        switch (result, parsed) {
        case (.success(let body), .success(let members)):
            let (phone, purpose, code) = parts(body)
            try require(members.map(\.name).sorted() == fields.sorted(), "accepted a body whose fields are \(members.map(\.name))")
            try require(members.contains { $0.name == "phone_e164" && $0.value == .string(phone.e164) }, "phone is not the field's value")
            try require(e164.matches(phone.e164), "accepted a phone that is not E.164: \(phone.e164.debugDescription)")
            try require(members.contains { $0.name == "purpose" && $0.value == .string(purpose.rawValue) }, "purpose is not the field's value")
            if let codeLength, let code {
                try require(code.utf8.count == codeLength && code.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "accepted code \(code.debugDescription)")
            }
        case (.success, .failure(let failure)):
            throw InvariantViolation(description: "body accepted what the parser refused (\(failure))")
        case (.failure(let error), .failure(.malformed)):
            try require(error == .malformed("Request body is not valid JSON"), "malformed JSON answered as \(error)")
        case (.failure(let error), .failure(.notAnObject)):
            try require(error == .invalid("Request body must be a JSON object"), "a JSON non-object answered as \(error)")
        case (.failure(let error), .success):
            guard case .invalid(let message) = error else { throw InvariantViolation(description: "valid JSON answered as \(error)") }
            try require(refusals(fields: fields, codeLength: codeLength).contains(message), "unexpected refusal text \(message.debugDescription)")
        }
    }

    /// The regular expression the README documents for phones, matched scalar by scalar.
    private static var e164: Regex<AnyRegexOutput> {
        try! Regex(#"^\+[1-9][0-9]{6,14}$"#).matchingSemantics(.unicodeScalar)
    }

    /// Every text a body may be refused with once it parsed: fixed, or naming an allowed field.
    private static func refusals(fields: [String], codeLength: Int?) -> Set<String> {
        var texts: Set<String> = [
            "Unknown field in request body; allowed fields are \(fields.joined(separator: ", "))",
            "Field phone_e164 must be an E.164 phone number: + then 7 to 15 digits, no spaces",
            "Field purpose must be verify_phone or step_up",
        ]
        if let codeLength { texts.insert("Field code must be exactly \(codeLength) digits") }
        for field in fields {
            texts.insert("Field \(field) appears more than once")
            texts.insert("Field \(field) must be a string")
            texts.insert("Missing field: \(field)")
        }
        return texts
    }
}

extension Regex<AnyRegexOutput> {
    func matches(_ text: String) -> Bool {
        (try? wholeMatch(in: text)) != nil
    }
}
