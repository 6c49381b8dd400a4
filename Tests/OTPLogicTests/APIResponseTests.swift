import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

@Suite("HTTP answers")
struct APIResponseTests {
    static let invalidCode = #"{"detail": "Invalid or expired code"}"#

    private func expectJSONHeaders(_ response: HTTPResponse, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
        #expect(response.header("Cache-Control") == "no-store", sourceLocation: sourceLocation)
    }

    @Test func sendAnswersSent() throws {
        let h = try Harness()
        let response = h.post("/api/otp/send", RequestJSON.send())
        #expect(response.status == 200)
        #expect(response.body == #"{"status": "sent"}"#)
        expectJSONHeaders(response)
    }

    @Test func suppressedSendsAnswerExactlyLikeADeliveredOne() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 1 })
        let delivered = h.post("/api/otp/send", RequestJSON.send())
        let cooldown = h.post("/api/otp/send", RequestJSON.send())
        h.clock.advance(by: 60)
        _ = h.post("/api/otp/verify", RequestJSON.verify(h.wrongCode(for: try #require(h.lastCode))))
        let lockedOut = h.post("/api/otp/send", RequestJSON.send())
        #expect(h.sender.attempted.count == 1)
        #expect(cooldown == delivered)
        #expect(lockedOut == delivered)
    }

    @Test func verifyPhoneAnswersVerified() throws {
        let h = try Harness()
        _ = h.post("/api/otp/send", RequestJSON.send())
        let response = h.post("/api/otp/verify", RequestJSON.verify(try #require(h.lastCode)))
        #expect(response.status == 200)
        #expect(response.body == #"{"status": "verified"}"#)
        expectJSONHeaders(response)
    }

    @Test func stepUpVerifyAnswersWithATokenThatPassesTheCheckOnce() throws {
        let h = try Harness()
        try h.givePhone(to: "alice")
        _ = h.post("/api/otp/send", RequestJSON.send("+14155550123", "step_up"), principal: .user("alice"))
        let response = h.post("/api/otp/verify", RequestJSON.verify(try #require(h.lastCode), "+14155550123", "step_up"), principal: .user("alice"))
        #expect(response.status == 200)
        expectJSONHeaders(response)
        let prefix = #"{"status": "verified", "step_up_token": ""#
        let suffix = #""}"#
        #expect(response.body.hasPrefix(prefix) && response.body.hasSuffix(suffix))
        let token = String(response.body.dropFirst(prefix.count).dropLast(suffix.count))
        #expect(Base64URL.isEncodedToken(token))

        let admitted = h.stepUpCheck(token: token, principal: .user("alice"))
        #expect(admitted.status == 204)
        #expect(admitted.header("X-Step-Up-User") == "alice")
        #expect(admitted.header("Cache-Control") == "no-store")
        #expect(admitted.body.isEmpty)

        let replayed = h.stepUpCheck(token: token, principal: .user("alice"))
        #expect(replayed.status == 401)
        #expect(replayed.header("X-Step-Up-User") == nil)
        expectJSONHeaders(replayed)
    }

    @Test(arguments: [Principal.user("bob"), .anonymous, .ambiguous, .invalid])
    func stepUpCheckRefusesAnyoneButTheTokensUser(principal: Principal) throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        let refused = h.stepUpCheck(token: token, principal: principal)
        #expect(refused.status == 401)
        #expect(refused.header("X-Step-Up-User") == nil)
        #expect(h.stepUpCheck(token: token, principal: .user("alice")).status == 204)
    }

    @Test(arguments: [nil, "", "not-a-token", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"] as [String?])
    func stepUpCheckRefusesMissingMalformedOrUnknownTokens(token: String?) throws {
        let h = try Harness()
        #expect(h.stepUpCheck(token: token, principal: .user("alice")).status == 401)
    }

    @Test func stepUpVerifyWithoutAUserIsNotAuthenticated() throws {
        let h = try Harness()
        try h.givePhone(to: "alice")
        try h.send(Fixture.phone, .stepUp, user: "alice")
        let response = h.post("/api/otp/verify", RequestJSON.verify(try #require(h.lastCode), "+14155550123", "step_up"))
        #expect(response.status == 401)
        #expect(response.body == #"{"detail": "Not authenticated"}"#)
        expectJSONHeaders(response)
    }

    @Test func everyVerifyFailureHasTheSameAnswer() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 1 })
        var answers: [HTTPResponse] = []
        answers.append(h.post("/api/otp/verify", RequestJSON.verify("123456")))  // no code
        _ = h.post("/api/otp/send", RequestJSON.send())
        let code = try #require(h.lastCode)
        answers.append(h.post("/api/otp/verify", RequestJSON.verify(h.wrongCode(for: code))))  // wrong
        answers.append(h.post("/api/otp/verify", RequestJSON.verify(code)))  // locked out
        h.clock.advance(by: 600)
        answers.append(h.post("/api/otp/verify", RequestJSON.verify(code)))  // expired
        _ = h.post("/api/otp/send", RequestJSON.send())
        let fresh = try #require(h.lastCode)
        #expect(h.post("/api/otp/verify", RequestJSON.verify(fresh)).status == 200)
        answers.append(h.post("/api/otp/verify", RequestJSON.verify(fresh)))  // used
        for answer in answers {
            #expect(answer.status == 400)
            #expect(answer.body == APIResponseTests.invalidCode)
            expectJSONHeaders(answer)
        }
        #expect(Set(answers.map { $0.headers.map { "\($0.name): \($0.value)" } }).count == 1)
    }

    @Test func unavailableProviderAnswers503WithRetryAfter() throws {
        let h = try Harness()
        h.sender.failNextSend(with: .unavailable(.timeout, retryAfterSeconds: 30))
        let response = h.post("/api/otp/send", RequestJSON.send())
        #expect(response.status == 503)
        #expect(response.body == #"{"detail": "Could not send code, try again later"}"#)
        #expect(response.header("Retry-After") == "30")
        expectJSONHeaders(response)
    }

    @Test func undeliverableRecipientAnswers422() throws {
        let h = try Harness()
        h.sender.failNextSend(with: .recipientCannotReceive(providerCode: 21614))
        let response = h.post("/api/otp/send", RequestJSON.send())
        #expect(response.status == 422)
        #expect(response.body == #"{"detail": "This phone number cannot receive SMS"}"#)
        expectJSONHeaders(response)
    }

    @Test func busyDatabaseAnswers503WithRetryAfterAndTheTokenSurvives() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        let worker = try Harness.worker(path: h.dbPath, rules: h.rules, clock: h.clock, logs: h.logs, seed: 9, busyTimeoutMilliseconds: 50)
        let handler = APIHandler(service: worker, logger: h.logs.logger())
        let check = HTTPRequest(method: "GET", documentURI: "/", endpoint: "step-up-check", principal: .user("alice"), stepUpToken: token)
        let (locked, send) = try SQLiteFile.whileWriteLocked(h.dbPath) {
            (handler.respond(to: check), handler.respond(to: HTTPRequest(
                method: "POST", documentURI: "/api/otp/send", contentType: "application/json", body: .complete(Array(RequestJSON.send().utf8))
            )))
        }
        for response in [locked, send] {
            #expect(response.status == 503)
            #expect(response.body == #"{"detail": "Service temporarily unavailable, try again later"}"#)
            #expect(response.header("Retry-After") != nil)
            expectJSONHeaders(response)
            #expect(!response.body.contains("sqlite") && !response.body.contains("locked"))
        }
        #expect(handler.respond(to: check).status == 204)
    }

    @Test func everyAnswerButNoContentIsUncacheableJSON() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        h.clock.advance(by: 60)
        h.sender.failNextSend(with: .unavailable(.timeout, retryAfterSeconds: 5))
        let responses = [
            h.post("/nowhere", "{}"),
            h.handler.respond(to: HTTPRequest(method: "GET", documentURI: "/api/otp/send")),
            h.handler.respond(to: HTTPRequest(method: "POST", documentURI: "/api/otp/send", contentType: "application/json", body: .tooLarge)),
            h.post("/api/otp/send", "{}", contentType: "text/plain"),
            h.post("/api/otp/send", "{"),
            h.post("/api/otp/send", "{}"),
            h.post("/api/otp/send", RequestJSON.send()),
            h.post("/api/otp/send", RequestJSON.send()),
            h.post("/api/otp/verify", RequestJSON.verify("000000")),
            h.post("/api/otp/send", RequestJSON.send("+14155550123", "step_up")),
            h.stepUpCheck(token: "bad", principal: .user("alice")),
            h.handler.respond(to: HTTPRequest(method: "GET", documentURI: "/", endpoint: "health")),
        ]
        #expect(responses.map(\.status) == [404, 405, 413, 415, 400, 422, 503, 200, 400, 401, 401, 200])
        for response in responses { expectJSONHeaders(response) }
        #expect(h.stepUpCheck(token: token, principal: .user("alice")).header("Cache-Control") == "no-store")
    }
}
