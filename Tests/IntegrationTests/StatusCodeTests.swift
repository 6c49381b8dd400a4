import Foundation
import Testing

extension Integration {
    /// Every status code of the spec, through nginx and the shipped snippet.
    @Suite struct StatusCodes {
        @Test func inputErrorsAreAnsweredClearlyAndChangeNothing() throws {
            let stack = try TestStack()
            defer { stack.finish() }
            let client = stack.client
            let phone = "+14155550111"

            let malformed = client.postJSON("/api/otp/send", #"{"phone_e164": "+14155550111", "purpose": "#, as: .alice)
            #expect(malformed.status == 400)
            #expect(malformed.body == #"{"detail": "Request body is not valid JSON"}"#)

            let unknownField = client.postJSON("/api/otp/send", #"{"phone_e164": "\#(phone)", "purpose": "verify_phone", "admin": "1"}"#, as: .alice)
            #expect(unknownField.status == 422)
            #expect(unknownField.json["detail"]?.contains("Unknown field") == true)

            let missing = client.postJSON("/api/otp/verify", #"{"phone_e164": "\#(phone)", "purpose": "verify_phone"}"#, as: .alice)
            #expect(missing.status == 422)
            #expect(missing.json["detail"] == "Missing field: code")

            let badPhone = client.postJSON("/api/otp/send", #"{"phone_e164": "0014155550111", "purpose": "verify_phone"}"#, as: .alice)
            #expect(badPhone.status == 422)
            #expect(badPhone.json["detail"]?.contains("phone_e164") == true)
            #expect(!badPhone.body.contains("4155550111"))

            let badCode = client.postJSON("/api/otp/verify", #"{"phone_e164": "\#(phone)", "purpose": "verify_phone", "code": "12ab56"}"#, as: .alice)
            #expect(badCode.status == 422)
            #expect(badCode.json["detail"] == "Field code must be exactly 6 digits")

            let wrongType = client.request("POST", "/api/otp/send", as: .alice, headers: ["Content-Type: text/plain"],
                                           body: #"{"phone_e164": "\#(phone)", "purpose": "verify_phone"}"#)
            #expect(wrongType.status == 415)

            let tooLarge = client.postJSON("/api/otp/send", #"{"phone_e164": "\#(phone)", "purpose": "verify_phone", "pad": "\#(String(repeating: "x", count: 5000))"}"#, as: .alice)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.header("Content-Type") == "application/json")

            let wrongMethod = client.request("GET", "/api/otp/send", as: .alice)
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("Allow") == "POST")

            let unknownPath = client.postJSON("/api/otp/resend", #"{"phone_e164": "\#(phone)", "purpose": "verify_phone"}"#, as: .alice)
            #expect(unknownPath.status == 404)

            for answer in [malformed, unknownField, missing, badPhone, badCode, wrongType, tooLarge, wrongMethod, unknownPath] {
                #expect(answer.header("Cache-Control") == "no-store")
                #expect(answer.json["detail"] != nil)
            }
            #expect(stack.sms.messages().isEmpty)
            #expect(try sqlite(stack.databasePath, "SELECT count(*) FROM otp_codes") == "0")
        }

        @Test func stepUpWithoutAuthenticatedUserIs401() throws {
            let plainPort = try TestStack.freePort()
            let site = """
                server {
                    listen 127.0.0.1:\(plainPort);
                    include snippets/otp-fcgi.conf;
                }
                """
            let stack = try TestStack(.init(extraSites: ["plain.conf": site]))
            defer { stack.finish() }
            let plain = HTTPClient(baseURL: "http://127.0.0.1:\(plainPort)", caFile: stack.client.caFile)

            let send = plain.postJSON("/api/otp/send", #"{"phone_e164": "+14155550112", "purpose": "step_up"}"#)
            #expect(send.status == 401)
            #expect(send.body == #"{"detail": "Not authenticated"}"#)
            let verify = plain.postJSON("/api/otp/verify", #"{"phone_e164": "+14155550112", "purpose": "step_up", "code": "123456"}"#)
            #expect(verify.status == 401)
            #expect(verify.body == #"{"detail": "Not authenticated"}"#)
            #expect(stack.sms.messages().isEmpty)

            // verify_phone works without a user (it then updates only notification_preferences).
            #expect(plain.postJSON("/api/otp/send", #"{"phone_e164": "+14155550112", "purpose": "verify_phone"}"#).status == 200)
        }

        @Test func providerFailureIs503WithRetryAfterAndStartsNoCooldown() throws {
            let stack = try TestStack(.init(environment: ["OTP_SMS_FILE": "/nonexistent-directory/sms.jsonl"]))
            defer { stack.finish() }
            let failed = stack.send("+14155550113", "verify_phone")
            #expect(failed.status == 503)
            #expect(failed.body == #"{"detail": "Could not send code, try again later"}"#)
            #expect(Int(failed.header("Retry-After") ?? "") != nil)
            // The file sink delivers inside the transaction that records the send: a failure rolls it back.
            #expect(try sqlite(stack.databasePath, "SELECT count(*) FROM otp_codes WHERE send_count > 0 OR last_sent_at IS NOT NULL OR code_hash IS NOT NULL OR pending_code_hash IS NOT NULL") == "0")
        }

        /// otp-fcgi down: the API is nginx's 502, a protected route the example site's JSON 503 (not
        /// nginx's HTML 500), and the application is never reached.
        @Test func aProtectedRouteAnswers503WhenTheCheckCannotAnswer() throws {
            let stack = try TestStack()
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: "+14155550113")
            stack.killResponder()
            let refused = stack.protectedAction(token: token)
            #expect(refused.status == 503)
            #expect(refused.body == #"{"detail": "Step-up check unavailable, try again later"}"#)
            #expect(refused.header("Content-Type") == "application/json")
            #expect(refused.header("Retry-After") == "5")
            #expect(refused.header("Cache-Control") == "no-store")
            #expect(stack.send("+14155550113", "step_up").status == 502)
            // The token was never presented to a check: once otp-fcgi is back it is admitted, once.
            try stack.startResponder()
            #expect(stack.protectedAction(token: token).status == 200)
            #expect(stack.protectedAction(token: token).status == 401)
        }

        @Test func shippedRateLimitAnswers429AsJSON() throws {
            let stack = try TestStack(.init(sendRate: nil))
            defer { stack.finish() }
            let answers = (0..<10).map { index in stack.send("+1415555012\(index)", "verify_phone").status }
            #expect(answers.prefix(6).allSatisfy { $0 == 200 }, "burst of 5 plus the first request pass: \(answers)")
            #expect(answers.contains(429), "\(answers)")
            let limited = stack.send("+14155550130", "verify_phone")
            #expect(limited.status == 429)
            #expect(limited.json["detail"] != nil)
            #expect(limited.header("Retry-After") != nil)
            // Another path ending in /send must not slip past the limit to the send endpoint.
            let detour = stack.client.postJSON("/api/otp/x/send", #"{"phone_e164": "+14155550131", "purpose": "verify_phone"}"#, as: .alice)
            #expect(detour.status == 404)
            #expect(detour.json["detail"] == "Not found")
            #expect(!stack.sms.messages().contains { $0.to == "+14155550131" })
            // Verify is not rate-limited by nginx (otp-fcgi's attempt counter guards it).
            #expect(stack.verify("+14155550120", "verify_phone", code: "000000").status == 400)
        }
    }
}
