import OTPLogic

/// Raw bytes as a request body: the strict JSON parser, then the send and verify bodies.
///
/// Invariants: nothing traps; an accepted document is UTF-8 and reads back the same after
/// `JSONText` writes it again; the bodies refuse exactly what the parser refuses, with one of
/// their fixed messages (nothing from the input echoed); an accepted body has its required fields
/// and only allowed ones, once each, a phone matching the documented `^\+[1-9][0-9]{6,14}$` (always
/// for verify_phone), a known purpose, a code of exactly the configured number of digits, and an
/// action or subject only for step_up, an action of the documented form.
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
        try check(send, parsed: parsed, fields: SendBody.fields, required: ["purpose"], codeLength: nil) {
            Parts(phone: $0.phone, purpose: $0.purpose, code: nil, action: $0.action, subject: $0.subject, locale: $0.locale)
        }

        for codeLength in [4, 6, 10] {
            let verify: Result<VerifyBody, RequestError>
            do { verify = .success(try VerifyBody(json: bytes, codeLength: codeLength)) } catch { verify = .failure(error) }
            try check(verify, parsed: parsed, fields: VerifyBody.fields, required: ["purpose", "code"], codeLength: codeLength) {
                Parts(phone: $0.phone, purpose: $0.purpose, code: $0.code, action: $0.action, subject: $0.subject, locale: nil)
            }
        }
    }

    /// What a body kept of its fields.
    private struct Parts {
        var phone: PhoneNumber?
        var purpose: Purpose
        var code: String?
        var action: String?
        var subject: String?
        var locale: String?
    }

    private static func check<Body>(
        _ result: Result<Body, RequestError>, parsed: Result<[JSONObjectParser.Member], JSONObjectParser.Failure>,
        fields: [String], required: [String], codeLength: Int?, _ parts: (Body) -> Parts
    ) throws(InvariantViolation) {
        switch (result, parsed) {
        case (.success(let body), .success(let members)):
            let kept = parts(body)
            let names = members.map(\.name)
            try require(Set(names).count == names.count && names.allSatisfy(fields.contains) && required.allSatisfy(names.contains),
                        "accepted a body whose fields are \(names)")
            if let phone = kept.phone {
                try require(members.contains { $0.name == "phone_e164" && $0.value == .string(phone.e164) }, "phone is not the field's value")
                try require(e164.matches(phone.e164), "accepted a phone that is not E.164: \(phone.e164.debugDescription)")
            } else {
                try require(kept.purpose == .stepUp && !names.contains("phone_e164"), "accepted a verify_phone body without a phone")
            }
            try require(members.contains { $0.name == "purpose" && $0.value == .string(kept.purpose.rawValue) }, "purpose is not the field's value")
            if kept.purpose == .verifyPhone {
                try require(kept.action == nil && kept.subject == nil, "accepted an action or subject for verify_phone")
            }
            if let locale = kept.locale {
                try require(locale.contains(/^[a-z]{2}(-[A-Z]{2})?$/), "accepted locale \(locale.debugDescription)")
            }
            if let action = kept.action {
                try require(actionName.matches(action), "accepted action \(action.debugDescription)")
            }
            if let subject = kept.subject {
                try require(!subject.isEmpty && subject.utf8.count <= 256 && !subject.utf8.contains { $0 < 0x20 || $0 == 0x7f },
                            "accepted subject \(subject.debugDescription)")
            }
            if let codeLength, let code = kept.code {
                try require(code.utf8.count == codeLength && code.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "accepted code \(code.debugDescription)")
            }
        case (.success, .failure(let failure)):
            throw InvariantViolation(description: "body accepted what the parser refused (\(failure))")
        case (.failure(let error), .failure(.malformed)):
            try require(error == .malformed("Request body is not valid JSON"), "malformed JSON answered as \(error)")
        case (.failure(let error), .failure(.notAnObject)):
            try require(error == .invalid("Request body must be a JSON object"), "a JSON non-object answered as \(error)")
        case (.failure(let error), .success(let members)):
            guard case .invalid(let message) = error else { throw InvariantViolation(description: "valid JSON answered as \(error)") }
            let unknown = members.map(\.name).filter { !fields.contains($0) }.map {
                "Unknown field \(shownName($0)) in request body; allowed fields are \(fields.joined(separator: ", "))"
            }
            try require(refusals(fields: fields, codeLength: codeLength).contains(message) || unknown.contains(message),
                        "unexpected refusal text \(message.debugDescription)")
        }
    }

    /// The regular expression the README documents for phones, matched scalar by scalar.
    private static var e164: Regex<AnyRegexOutput> {
        try! Regex(#"^\+[1-9][0-9]{6,14}$"#).matchingSemantics(.unicodeScalar)
    }

    /// A field name as a refusal names it (README): quoted, its first 64 characters, unless it holds
    /// seven digits in a row.
    private static func shownName(_ name: String) -> String {
        // Digits as bytes: a combining mark after a digit must not hide a phone number from the rule.
        if name.contains(try! Regex("[0-9]{7}").matchingSemantics(.unicodeScalar)) { return "(its name holds a number and is not shown)" }
        return JSONText.quoted(String(name.prefix(64)))
    }

    /// The documented form of an action name.
    private static var actionName: Regex<AnyRegexOutput> {
        try! Regex(#"^[a-z0-9][a-z0-9._-]{0,63}$"#).matchingSemantics(.unicodeScalar)
    }

    /// Every text a body may be refused with once it parsed: fixed, or naming an allowed field.
    private static func refusals(fields: [String], codeLength: Int?) -> Set<String> {
        var texts: Set<String> = [
            "Field phone_e164 must be an E.164 phone number: + then 7 to 15 digits, no spaces",
            "Field purpose must be verify_phone or step_up",
            "Field action is only for purpose step_up",
            "Field subject is only for purpose step_up",
            "Field action must be an action name: a-z, 0-9, '.', '_' or '-', at most 64 characters",
            "Field subject must be a user name of 1 to 256 bytes without control characters",
            "Field locale must be a language like de or de-AT",
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
