import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

/// Input errors: the right status, a message that names the problem without echoing the phone,
/// and no side effect.
@Suite("HTTP input validation")
struct APIInputTests {
    /// Checks the answer's status, its JSON `detail`, that no digits of `phoneDigits` come back,
    /// and that nothing was sent or stored.
    private func expectRefused(
        _ h: Harness, _ response: HTTPResponse, status: Int, detailContains fragment: String? = nil, phoneDigits: String = "4155550123",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(response.body.hasPrefix(#"{"detail": ""#), sourceLocation: sourceLocation)
        if let fragment { #expect(response.body.contains(fragment), "body: \(response.body)", sourceLocation: sourceLocation) }
        #expect(!response.body.contains(phoneDigits), "phone echoed: \(response.body)", sourceLocation: sourceLocation)
        #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
        #expect(response.header("Cache-Control") == "no-store", sourceLocation: sourceLocation)
        #expect(h.sender.attempted.isEmpty, sourceLocation: sourceLocation)
        for table in ["otp_codes", "step_up_tokens", "users"] {
            #expect(try h.rows("SELECT count(*) FROM \(table)") == [["0"]], "\(table) written", sourceLocation: sourceLocation)
        }
    }

    @Test func bodyOverTheLimitIsTooLarge() throws {
        let h = try Harness()
        let response = h.handler.respond(to: HTTPRequest(method: "POST", documentURI: "/api/otp/send", contentType: "application/json", body: .tooLarge))
        try expectRefused(h, response, status: 413)
    }

    @Test(arguments: [nil, "", "text/plain", "application/x-www-form-urlencoded", "application/jsonx", "application/json; charset=latin1", "json"] as [String?])
    func otherContentTypesAreUnsupported(contentType: String?) throws {
        let h = try Harness()
        try expectRefused(h, h.post("/api/otp/send", RequestJSON.send(), contentType: contentType), status: 415)
    }

    @Test(arguments: ["application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8", " application/json "])
    func jsonContentTypeVariantsAreAccepted(contentType: String) throws {
        let h = try Harness()
        #expect(h.post("/api/otp/send", RequestJSON.send(), contentType: contentType).status == 200)
    }

    @Test(arguments: [
        "{", #"{"phone_e164": "+14155550123", "purpose": "verify_phone""#, #"{"phone_e164": +14155550123}"#,
        "phone_e164=+14155550123&purpose=verify_phone", #"{"phone_e164": "+14155550123", "purpose": "verify_phone",}"#, "",
    ])
    func malformedJSONIsABadRequest(json: String) throws {
        let h = try Harness()
        let response = h.post("/api/otp/send", json)
        try expectRefused(h, response, status: 400)
        #expect(response.body == #"{"detail": "Request body is not valid JSON"}"#)
    }

    @Test func invalidUTF8IsABadRequest() throws {
        let h = try Harness()
        var bytes = Array(#"{"phone_e164": "+14155550123", "purpose": "verify_"#.utf8)
        bytes += [0xC3, 0x28] + Array(#"phone"}"#.utf8)
        let response = h.handler.respond(to: HTTPRequest(method: "POST", documentURI: "/api/otp/send", contentType: "application/json", body: .complete(bytes)))
        try expectRefused(h, response, status: 400)
        #expect(response.body == #"{"detail": "Request body is not valid JSON"}"#)
    }

    @Test func bodyShorterThanItsContentLengthIsABadRequest() throws {
        let h = try Harness()
        let response = h.handler.respond(to: HTTPRequest(method: "POST", documentURI: "/api/otp/send", contentType: "application/json", body: .incomplete))
        try expectRefused(h, response, status: 400)
    }

    @Test func topLevelArrayIsUnprocessable() throws {
        let h = try Harness()
        try expectRefused(h, h.post("/api/otp/send", #"[{"phone_e164": "+14155550123", "purpose": "verify_phone"}]"#), status: 422, detailContains: "object")
    }

    @Test func unknownFieldIsUnprocessable() throws {
        let h = try Harness()
        let json = #"{"phone_e164": "+14155550123", "purpose": "verify_phone", "channel": "sms"}"#
        try expectRefused(h, h.post("/api/otp/send", json), status: 422, detailContains: "field")
    }

    @Test func unknownFieldIsNamedEscapedAndCut() throws {
        let h = try Harness()
        let named = h.post("/api/otp/send", #"{"phone_e164": "+14155550123", "purpose": "verify_phone", "channel": "sms"}"#)
        #expect(named.body == #"{"detail": "Unknown field \"channel\" in request body; allowed fields are phone_e164, purpose, action, subject, locale"}"#)
        let long = String(repeating: "x", count: 100)
        let cut = h.post("/api/otp/send", #"{"purpose": "verify_phone", "\#(long)": 1}"#)
        #expect(cut.body.contains(#"\"\#(String(repeating: "x", count: 64))\" in"#))
        let control = h.post("/api/otp/send", #"{"purpose": "verify_phone", "a\nb\u0001": 1}"#)
        #expect(control.body.contains(#"Unknown field \"a\\nb\\u0001\" in"#), "\(control.body)")
        let phoneLike = h.post("/api/otp/send", #"{"purpose": "verify_phone", "+14155550123": 1}"#)
        #expect(phoneLike.status == 422)
        #expect(!phoneLike.body.contains("4155550123"))
    }

    @Test func duplicateFieldIsUnprocessable() throws {
        let h = try Harness()
        let json = #"{"phone_e164": "+14155550123", "purpose": "verify_phone", "phone_e164": "+447700900123"}"#
        try expectRefused(h, h.post("/api/otp/send", json), status: 422, detailContains: "phone_e164")
    }

    @Test func duplicateFieldSpelledWithAnEscapeIsUnprocessable() throws {
        let h = try Harness()
        let json = #"{"phone_e164": "+447700900123", "purpose": "verify_phone", "phone\u005fe164": "+14155550123"}"#
        try expectRefused(h, h.post("/api/otp/send", json), status: 422, detailContains: "phone_e164")
    }

    @Test(arguments: [(#"{"phone_e164": "+14155550123"}"#, "purpose"), (#"{"purpose": "verify_phone"}"#, "phone_e164"), ("{}", "purpose")])
    func missingFieldIsUnprocessableAndNamed(json: String, field: String) throws {
        let h = try Harness()
        try expectRefused(h, h.post("/api/otp/send", json), status: 422, detailContains: field)
    }

    @Test(arguments: [
        (#"{"phone_e164": 14155550123, "purpose": "verify_phone"}"#, "phone_e164"),
        (#"{"phone_e164": "+14155550123", "purpose": null}"#, "purpose"),
        (#"{"phone_e164": ["+14155550123"], "purpose": "verify_phone"}"#, "phone_e164"),
        (#"{"phone_e164": "+14155550123", "purpose": true}"#, "purpose"),
        (#"{"phone_e164": {"n": "+14155550123"}, "purpose": "verify_phone"}"#, "phone_e164"),
    ])
    func nonStringValueIsUnprocessableAndNamed(json: String, field: String) throws {
        let h = try Harness()
        try expectRefused(h, h.post("/api/otp/send", json), status: 422, detailContains: field)
    }

    @Test(arguments: [
        ("+0123456789", "0123456789"), ("14155550123", "4155550123"), ("+1234", "1234"),
        ("+1415555012345678", "1415555012345678"), ("+1 4155550123", "4155550123"), ("+1415555012a", "1415555012"),
        (#"+14155550123\n"#, "4155550123"), ("+123456", "123456"),
    ])
    func phoneThatIsNotE164IsUnprocessableAndNotEchoed(phone: String, digits: String) throws {
        let h = try Harness()
        try expectRefused(h, h.post("/api/otp/send", RequestJSON.send(phone)), status: 422, detailContains: "phone_e164", phoneDigits: digits)
    }

    @Test(arguments: ["+1234567", "+123456789012345"])
    func shortestAndLongestE164NumbersAreAccepted(phone: String) throws {
        let h = try Harness()
        #expect(h.post("/api/otp/send", RequestJSON.send(phone)).status == 200)
    }

    @Test(arguments: ["login", "", "VERIFY_PHONE", "step-up"])
    func unknownPurposeIsUnprocessable(purpose: String) throws {
        let h = try Harness()
        try expectRefused(h, h.post("/api/otp/send", RequestJSON.send("+14155550123", purpose)), status: 422, detailContains: "purpose")
    }

    @Test(arguments: ["12345", "1234567", "12345a", " 12345", "12 345", "", "١٢٣٤٥٦", "+12345"])
    func codeThatIsNotSixDigitsIsUnprocessable(code: String) throws {
        let h = try Harness()
        try expectRefused(h, h.post("/api/otp/verify", RequestJSON.verify(code)), status: 422, detailContains: "code")
    }

    @Test func codeLengthFollowsTheConfiguration() throws {
        let h = try Harness(rules: .with { $0.codeLength = 8 })
        try expectRefused(h, h.post("/api/otp/verify", RequestJSON.verify("123456")), status: 422, detailContains: "code")
        _ = h.post("/api/otp/send", RequestJSON.send())
        let code = try #require(h.lastCode)
        #expect(code.count == 8)
        #expect(h.post("/api/otp/verify", RequestJSON.verify(code)).status == 200)
    }

    @Test func verifyBodyWithoutCodeIsUnprocessable() throws {
        let h = try Harness()
        try expectRefused(h, h.post("/api/otp/verify", RequestJSON.send()), status: 422, detailContains: "code")
    }

    @Test func sendBodyWithACodeIsUnprocessable() throws {
        let h = try Harness()
        try expectRefused(h, h.post("/api/otp/send", RequestJSON.verify("123456")), status: 422)
    }
}
