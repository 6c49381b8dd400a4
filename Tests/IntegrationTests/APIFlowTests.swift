import Foundation
import Testing

extension Integration {
    @Suite struct APIFlow {
        @Test(arguments: StackDatabase.all) func verifyPhoneFlowMarksTheUsersPhoneVerified(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            try stack.execute("INSERT INTO notification_preferences (user_id, sms_phone_number) VALUES ('alice', '+14155550101'), ('carol', '+14155550999')")

            let sent = stack.send("+14155550101", "verify_phone")
            #expect(sent.status == 200)
            #expect(sent.body == #"{"status": "sent"}"#)
            #expect(sent.header("Cache-Control") == "no-store")
            #expect(sent.header("Content-Type") == "application/json")
            let sms = try #require(stack.sms.messages().last)
            #expect(sms.to == "+14155550101" && sms.purpose == "verify_phone")
            let code = try #require(sms.code)
            #expect(code.count == 6)

            let wrong = stack.verify("+14155550101", "verify_phone", code: code == "000000" ? "111111" : "000000")
            #expect(wrong.status == 400)
            #expect(wrong.body == #"{"detail": "Invalid or expired code"}"#)

            let verified = stack.verify("+14155550101", "verify_phone", code: code)
            #expect(verified.status == 200)
            #expect(verified.body == #"{"status": "verified"}"#)
            #expect(try stack.query("SELECT phone_e164, phone_verified FROM users WHERE user_id = 'alice'") == "+14155550101|1")
            #expect(try stack.query("SELECT user_id, sms_phone_verified FROM notification_preferences ORDER BY user_id") == "alice|1\ncarol|0")

            let again = stack.verify("+14155550101", "verify_phone", code: code)
            #expect(again.status == 400)
            #expect(again.body == #"{"detail": "Invalid or expired code"}"#)
        }

        @Test(arguments: StackDatabase.all) func stepUpTokenAdmitsTheProtectedActionExactlyOnce(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: "+14155550102")
            #expect(token.count == 43)

            let first = stack.protectedAction(token: token)
            #expect(first.status == 200)
            #expect(first.json["confirmed_by"] == "alice")

            let second = stack.protectedAction(token: token)
            #expect(second.status == 401)
            #expect(second.json["step_up"] == "required")
            #expect(second.header("Content-Type") == "application/json")
            #expect(second.header("Cache-Control") == "no-store")
        }

        @Test(arguments: StackDatabase.all) func alicesTokenIsRefusedForBobAndStillWorksForAlice(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: "+14155550103", as: .alice)

            let asBob = stack.protectedAction(token: token, as: .bob)
            #expect(asBob.status == 401)
            #expect(asBob.json["step_up"] == "required")

            #expect(stack.protectedAction(token: token, as: .alice).status == 200)
            #expect(stack.protectedAction(token: token, as: .alice).status == 401)
        }

        @Test(arguments: StackDatabase.all) func protectedActionWithoutTokenOrLoginAnswersJSON401(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            let noToken = stack.protectedAction(token: nil)
            #expect(noToken.status == 401)
            #expect(noToken.json["step_up"] == "required")

            let bogus = stack.protectedAction(token: String(repeating: "A", count: 43))
            #expect(bogus.status == 401)

            let noLogin = stack.protectedAction(token: nil, as: nil)
            #expect(noLogin.status == 401)
            #expect(noLogin.json["detail"] == "Not authenticated")
            #expect(noLogin.header("WWW-Authenticate")?.hasPrefix("Basic") == true)
        }

        @Test(arguments: StackDatabase.all) func stepUpCheckAndHealthAreNotReachableByPath(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            #expect(stack.client.request("GET", "/_otp/step-up-check", as: .alice).status == 404)
            #expect(stack.client.request("GET", "/api/otp/step-up-check", as: .alice).status == 404)
            // The shipped locations for health and metrics set OTP_ENDPOINT themselves; any other
            // path that merely ends in the endpoint's name reaches the public API and is unknown.
            #expect(stack.client.request("GET", "/api/otp/x/health", as: .alice).status == 404)
            #expect(stack.client.request("GET", "/api/otp/x/metrics", as: .alice).status == 404)
        }

        @Test(arguments: StackDatabase.all) func healthAndMetricsAnswerOnlyOnTheLoopbackStatusServer(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            stack.expectStatusOnItsOwnPortOnly()
            #expect(stack.statusClient.request("POST", "/health", body: "{}").status == 405)
            #expect(stack.statusClient.request("HEAD", "/metrics").status == 200)
        }

        @Test(arguments: StackDatabase.all) func codesOfOnePurposeDoNotVerifyTheOther(database: StackDatabase) throws {
            let stack = try TestStack(.init(environment: ["OTP_RESEND_COOLDOWN_SECONDS": "0"], database: database))
            defer { stack.finish() }
            // A step_up verify needs the number to be alice's phone on record.
            try stack.ensureVerifiedPhone("+14155550104", of: .alice)
            #expect(stack.send("+14155550104", "verify_phone").status == 200)
            let code = try #require(stack.lastCode(to: "+14155550104", purpose: "verify_phone"))
            #expect(stack.verify("+14155550104", "step_up", code: code).status == 400)
            #expect(stack.verify("+14155550104", "verify_phone", code: code).status == 200)
        }
    }
}
