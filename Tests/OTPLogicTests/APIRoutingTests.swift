import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

@Suite("HTTP routing")
struct APIRoutingTests {
    @Test(arguments: ["/api/otp/send", "/otp/send", "/send", "/a/b/c/d/send"])
    func sendIsRoutedByTheLastPathSegmentUnderAnyPrefix(path: String) throws {
        let h = try Harness()
        let response = h.post(path, RequestJSON.send())
        #expect(response.status == 200)
        #expect(response.body == #"{"status": "sent"}"#)
        #expect(h.sender.delivered.count == 1)
    }

    @Test(arguments: ["/api/otp/verify", "/x/verify"])
    func verifyIsRoutedByTheLastPathSegmentUnderAnyPrefix(path: String) throws {
        let h = try Harness()
        try h.send()
        let response = h.post(path, RequestJSON.verify(try #require(h.lastCode)))
        #expect(response.status == 200)
        #expect(response.body == #"{"status": "verified"}"#)
    }

    @Test(arguments: [
        "/api/otp/send/", "/api/otp/verify/", "/api/otp/step-up-check", "/api/otp/health", "/api/otp/metrics",
        "/api/otp/sendx", "/api/otp/Send", "/api/otp", "/", "",
    ])
    func otherPathsAreNotFound(path: String) throws {
        let h = try Harness()
        let response = h.post(path, RequestJSON.send())
        #expect(response.status == 404)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.header("Cache-Control") == "no-store")
        #expect(h.sender.attempted.isEmpty)
    }

    @Test func healthIsReachedThroughOTPEndpointOnly() throws {
        let h = try Harness()
        let response = h.handler.respond(to: HTTPRequest(method: "GET", documentURI: "/whatever", endpoint: "health"))
        #expect(response.status == 200)
        #expect(response.body == #"{"status": "ok"}"#)
        #expect(response.header("Cache-Control") == "no-store")
    }

    @Test func stepUpCheckIsReachedThroughOTPEndpointEvenOnASendPath() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        let response = h.handler.respond(to: HTTPRequest(
            method: "POST", documentURI: "/api/otp/send", endpoint: "step-up-check", principal: .user("alice"), stepUpToken: token
        ))
        #expect(response.status == 204)
        #expect(h.sender.attempted.count == 1)
    }

    @Test(arguments: [("PUT", HTTPRequest.Body.tooLarge), ("DELETE", .incomplete), ("GET", .complete(Array("not json".utf8)))])
    func stepUpCheckIgnoresMethodAndBody(method: String, body: HTTPRequest.Body) throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        let response = h.handler.respond(to: HTTPRequest(
            method: method, documentURI: "/", endpoint: "step-up-check", contentType: "text/plain", body: body,
            principal: .user("alice"), stepUpToken: token
        ))
        #expect(response.status == 204)
        #expect(response.header("X-Step-Up-User") == "alice")
    }

    @Test(arguments: ["bogus", "send", "verify", "Health"])
    func unknownEndpointIsNotFound(endpoint: String) throws {
        let h = try Harness()
        let response = h.handler.respond(to: HTTPRequest(
            method: "POST", documentURI: "/api/otp/send", endpoint: endpoint, contentType: "application/json",
            body: .complete(Array(RequestJSON.send().utf8))
        ))
        #expect(response.status == 404)
        #expect(h.sender.attempted.isEmpty)
    }

    @Test func emptyEndpointFallsBackToThePath() throws {
        let h = try Harness()
        let response = h.handler.respond(to: HTTPRequest(
            method: "POST", documentURI: "/api/otp/send", endpoint: "", contentType: "application/json",
            body: .complete(Array(RequestJSON.send().utf8))
        ))
        #expect(response.status == 200)
    }

    @Test(arguments: [("GET", "/api/otp/send"), ("PUT", "/api/otp/verify"), ("HEAD", "/api/otp/send"), ("post", "/api/otp/send")])
    func otherMethodsThanPostAreNotAllowed(method: String, path: String) throws {
        let h = try Harness()
        let response = h.handler.respond(to: HTTPRequest(
            method: method, documentURI: path, contentType: "application/json", body: .complete(Array(RequestJSON.send().utf8))
        ))
        #expect(response.status == 405)
        #expect(response.header("Allow") == "POST")
        #expect(h.sender.attempted.isEmpty)
    }

    @Test func healthRefusesPostWithItsAllowHeader() throws {
        let h = try Harness()
        let response = h.handler.respond(to: HTTPRequest(method: "POST", documentURI: "/", endpoint: "health"))
        #expect(response.status == 405)
        #expect(response.header("Allow") == "GET, HEAD")
    }

    @Test func metricsEndpointIsNotFoundWithoutAnExposition() throws {
        let h = try Harness()
        let response = h.handler.respond(to: HTTPRequest(method: "GET", documentURI: "/", endpoint: "metrics"))
        #expect(response.status == 404)
    }

    @Test func metricsEndpointAnswersPrometheusText() throws {
        let h = try Harness()
        let handler = APIHandler(service: h.service, logger: h.logs.logger(), metricsExposition: { "otp_sends_total 1\n" })
        let response = handler.respond(to: HTTPRequest(method: "GET", documentURI: "/", endpoint: "metrics"))
        #expect(response.status == 200)
        #expect(response.body == "otp_sends_total 1\n")
        #expect(response.header("Content-Type")?.hasPrefix("text/plain") == true)
        #expect(response.header("Cache-Control") == "no-store")
    }
}

@Suite("Principal from REMOTE_USER")
struct PrincipalTests {
    @Test func noValueIsAnonymous() { #expect(Principal(remoteUserValues: []) == .anonymous) }
    @Test func emptyValueIsAnonymous() { #expect(Principal(remoteUserValues: [""]) == .anonymous) }
    @Test func oneValueIsThatUser() { #expect(Principal(remoteUserValues: ["alice"]) == .user("alice")) }

    @Test func repeatedValueIsAmbiguousAndHasNoUser() {
        let principal = Principal(remoteUserValues: ["alice", "bob"])
        #expect(principal == .ambiguous)
        #expect(principal.userID == nil)
        #expect(Principal(remoteUserValues: ["alice", "alice"]) == .ambiguous)
        #expect(Principal(remoteUserValues: ["", "alice"]) == .ambiguous)
    }

    @Test(arguments: ["ali\u{0}ce", "alice\n", "alice\r\nX-Step-Up-User: root", "\u{7f}", "tab\there"])
    func controlCharactersAreInvalid(value: String) {
        let principal = Principal(remoteUserValues: [value])
        #expect(principal == .invalid)
        #expect(principal.userID == nil)
    }

    @Test func valueUpTo256BytesIsAUserAndLongerIsInvalid() {
        #expect(Principal(remoteUserValues: [String(repeating: "a", count: 256)]) == .user(String(repeating: "a", count: 256)))
        #expect(Principal(remoteUserValues: [String(repeating: "a", count: 257)]) == .invalid)
        // Bytes, not characters: 129 two-byte characters are 258 bytes.
        #expect(Principal(remoteUserValues: [String(repeating: "é", count: 128)]) == .user(String(repeating: "é", count: 128)))
        #expect(Principal(remoteUserValues: [String(repeating: "é", count: 129)]) == .invalid)
    }

    @Test func repeatedRemoteUserIsLoggedAsAConfigurationError() throws {
        let h = try Harness()
        _ = h.post("/api/otp/send", RequestJSON.send(), principal: .ambiguous)
        let errors = h.logs.entries.filter { $0.level == .error && $0.metadata["event"] == "config_error" }
        #expect(errors.count == 1)
        #expect(h.logs.entries.allSatisfy { $0.metadata["event"] != "config_error" || $0.level == .error })
    }

    @Test func singleRemoteUserLogsNoConfigurationError() throws {
        let h = try Harness()
        _ = h.post("/api/otp/send", RequestJSON.send(), principal: .user("alice"))
        #expect(!h.logs.entries.contains { $0.metadata["event"] == "config_error" })
    }

    @Test(arguments: [Principal.ambiguous, .invalid, .anonymous])
    func stepUpSendWithoutAClearUserIsNotAuthenticated(principal: Principal) throws {
        let h = try Harness()
        let response = h.post("/api/otp/send", RequestJSON.send("+14155550123", "step_up"), principal: principal)
        #expect(response.status == 401)
        #expect(response.body == #"{"detail": "Not authenticated"}"#)
        #expect(h.sender.attempted.isEmpty)
    }
}

@Suite("CGI response bytes")
struct CGIResponseTests {
    @Test func cgiBytesStartWithTheStatusLine() {
        let text = String(decoding: HTTPResponse.json(200, #"{"status": "sent"}"#).cgiBytes(), as: UTF8.self)
        #expect(text.hasPrefix("Status: 200 OK\r\n"))
        #expect(text.hasSuffix("\r\n\r\n{\"status\": \"sent\"}"))
        #expect(text.contains("\r\nContent-Type: application/json\r\n"))
        #expect(text.contains("\r\nCache-Control: no-store\r\n"))
    }

    @Test func contentLengthCountsBytesNotCharacters() throws {
        let response = HTTPResponse.detail(422, "Numéro refusé")
        let bytes = response.cgiBytes()
        let text = String(decoding: bytes, as: UTF8.self)
        let bodyBytes = Array(response.body.utf8).count
        #expect(bodyBytes == response.body.count + 2)
        #expect(text.contains("\r\nContent-Length: \(bodyBytes)\r\n"))
        let separator = Array("\r\n\r\n".utf8)
        let headerEnd = try #require((0...(bytes.count - 4)).first { Array(bytes[$0..<$0 + 4]) == separator })
        #expect(bytes.count - (headerEnd + 4) == bodyBytes)
    }

    @Test func noContentAnswerHasAStatusLineAndNoBody() {
        let text = String(decoding: HTTPResponse(status: 204, headers: [.init("X-Step-Up-User", "alice")]).cgiBytes(), as: UTF8.self)
        #expect(text == "Status: 204 No Content\r\nX-Step-Up-User: alice\r\n\r\n")
    }
}

@Suite("REMOTE_USER bytes")
struct RemoteUserBytesTests {
    @Test func utf8NameIsThatUser() {
        #expect(Principal(remoteUserBytes: [Array("zoë".utf8)]) == .user("zoë"))
    }

    @Test func latin1NamesAreAnonymousInsteadOfOneReplacementCharacterUser() {
        // "zoë" and "joë" in Latin-1: decoded with replacement they would both be "zo\u{FFFD}"-like names.
        let zoe: [UInt8] = [0x7a, 0x6f, 0xeb]
        let joe: [UInt8] = [0x6a, 0x6f, 0xeb]
        #expect(Principal(remoteUserBytes: [zoe]) == .invalid)
        #expect(Principal(remoteUserBytes: [joe]) == .invalid)
        #expect(Principal(remoteUserBytes: [zoe]).userID == nil)
    }

    @Test func repeatedValuesStayAmbiguousWhateverTheirBytes() {
        #expect(Principal(remoteUserBytes: [[0xff], Array("alice".utf8)]) == .ambiguous)
    }
}

@Suite("An instance for the step-up check only")
struct StepUpCheckOnlyTests {
    @Test func everyOtherEndpointIsNotFound() throws {
        let h = try Harness()
        let handler = APIHandler(service: h.service, exposure: .stepUpCheckOnly, logger: h.logs.logger())
        let send = handler.respond(to: HTTPRequest(method: "POST", documentURI: "/api/otp/send", contentType: "application/json", body: .complete(Array(RequestJSON.send().utf8))))
        #expect(send.status == 404)
        #expect(handler.respond(to: HTTPRequest(method: "GET", documentURI: "/x", endpoint: "health")).status == 404)
        #expect(h.sender.attempted.isEmpty)
        let token = try h.stepUpToken(user: "alice")
        #expect(handler.respond(to: HTTPRequest(method: "GET", documentURI: "/p", endpoint: "step-up-check", principal: .user("alice"), stepUpToken: token)).status == 204)
        #expect(handler.respond(to: HTTPRequest(role: .authorizer, method: "GET", documentURI: "/p", principal: .user("alice"), stepUpToken: token)).status == 401)
    }
}

@Suite("Environment files for admin commands")
struct EnvironmentFileTests {
    @Test func readsNamesValuesQuotesAndSkipsComments() throws {
        let variables = try EnvironmentFile.parse("""
            # comment
            ; another
            OTP_PEPPER=abc def
            TWILIO_AUTH_TOKEN="quoted value"
            EMPTY=
              SPACED = 'single'
            """)
        #expect(variables == ["OTP_PEPPER": "abc def", "TWILIO_AUTH_TOKEN": "quoted value", "EMPTY": "", "SPACED": "single"])
    }

    @Test func badLinesAreNamedByNumberWithoutTheirValue() {
        #expect {
            _ = try EnvironmentFile.parse("OK=1\nsecret-value-line\nBAD NAME=2")
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.problems == ["line 2: expected NAME=value", "line 3: the name must be letters, digits and _"]
                && !error.description.contains("secret-value")
        }
    }
}
