import Foundation
import Testing

extension Integration {
    /// The real lighttpd with the shipped lighttpd/ files: the API through mod_fastcgi, the
    /// protected paths through mod_fastcgi in authorizer mode, each naming its action
    /// (setenv.set-environment); otp-fcgi's refusal goes to the client as it is.
    @Suite struct Lighttpd {
        @Test func stepUpTokenAdmitsOnceOnlyForItsOwner() throws {
            let stack = try WebServerStack(.lighttpd)
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: "+14155550211")

            stack.expectStepUpRequired(stack.protectedAction(token: token, as: .bob), action: "cancel-appointment")

            // A body does not reach the authorizer (it must not wait for one), only the application.
            let first = stack.protectedAction(token: token, headers: ["Content-Type: application/json"], body: #"{"appointment_id": 42}"#)
            #expect(first.status == 200)
            #expect(first.json["status"] == "cancelled")
            #expect(first.json["confirmed_by"] == "alice")
            #expect(first.json["delegate"] == "")

            let second = stack.protectedAction(token: token)
            stack.expectStepUpRequired(second, action: "cancel-appointment")
            // otp-fcgi's answer as it is: one challenge, the step-up one.
            #expect(second.headers["www-authenticate"] == [#"OTP-Step-Up action="cancel-appointment""#])
        }

        /// The location's action reaches the authorizer: a token is refused where another action
        /// is asked for (and not spent there), and admitted once where its own is.
        @Test func aTokenIsAdmittedOnlyWhereItsActionIsAskedFor() throws {
            let stack = try WebServerStack(.lighttpd)
            defer { stack.finish() }
            let elsewhere = try stack.expectTokensAdmittedOnlyWhereTheirActionIsAskedFor(phones: ["+14155550215", "+14155550216", "+14155550217"])
            #expect(elsewhere.headers["www-authenticate"]?.count == 1)
        }

        @Test func aListedDelegateActsForASubjectAndNobodyElseMay() throws {
            let stack = try WebServerStack(.lighttpd)
            defer { stack.finish() }
            let token = try stack.delegatedStepUpToken(phone: "+14155550218", subject: .alice, action: "cancel-appointment")

            // bob is not a delegate: otp-fcgi's 403, as it is.
            let forbidden = stack.protectedAction(token: token, as: .bob, headers: ["X-Step-Up-Subject: alice"])
            #expect(forbidden.status == 403)
            #expect(forbidden.body == #"{"detail": "Only a delegate principal may act for a subject"}"#)
            // alice's token is not the delegate's own.
            stack.expectStepUpRequired(stack.protectedAction(token: token, as: .voiceAgent), action: "cancel-appointment")

            let admitted = stack.protectedAction(token: token, as: .voiceAgent, headers: ["X-Step-Up-Subject: alice", "Step-Up-Delegate: mallory"])
            #expect(admitted.status == 200)
            #expect(admitted.json["confirmed_by"] == "alice")
            #expect(admitted.json["delegate"] == "voice-agent")
            #expect(stack.logs.contains("delegate=voice-agent"))
            stack.expectStepUpRequired(
                stack.protectedAction(token: token, as: .voiceAgent, headers: ["X-Step-Up-Subject: alice"]), action: "cancel-appointment"
            )
        }

        @Test func loginComesFromLighttpdNotFromTheClient() throws {
            let stack = try WebServerStack(.lighttpd)
            defer { stack.finish() }

            let noLogin = stack.protectedAction(token: nil, as: nil)
            #expect(noLogin.status == 401)
            #expect(noLogin.header("WWW-Authenticate")?.hasPrefix("Basic") == true)
            #expect(stack.protectedAction(token: nil, as: .init(user: "alice", password: "wrong")).status == 401)
            #expect(stack.send("+14155550212", "step_up", as: nil).status == 401)
            stack.expectStepUpRequired(stack.protectedAction(token: nil), action: "cancel-appointment")

            let token = try stack.stepUpToken(phone: "+14155550213", as: .alice)
            let spoofed = stack.protectedAction(token: token, as: .bob, headers: ["Remote-User: alice", "Variable-STEP_UP_USER: alice"])
            #expect(spoofed.status == 401)
            let admitted = stack.protectedAction(token: token, as: .alice, headers: ["Step-Up-User: mallory", "Step-Up-Delegate: mallory"])
            #expect(admitted.status == 200)
            #expect(admitted.json["confirmed_by"] == "alice")
            #expect(admitted.json["delegate"] == "")
        }

        @Test func verifyPhoneHealthAndUnknownPaths() throws {
            let stack = try WebServerStack(.lighttpd)
            defer { stack.finish() }
            #expect(stack.send("+14155550214", "verify_phone").status == 200)
            let code = try #require(stack.lastCode(to: "+14155550214", purpose: "verify_phone"))
            let verified = stack.verify("+14155550214", "verify_phone", code: code)
            #expect(verified.status == 200)
            #expect(verified.body == #"{"status": "verified"}"#)
            #expect(try sqlite(stack.databasePath, "SELECT phone_e164, phone_verified FROM users WHERE user_id = 'alice'") == "+14155550214|1")

            stack.expectStatusOnItsOwnPortOnly(metrics: true)
            for path in ["/api/otp/step-up-check", "/api/otp/nothing"] {
                #expect(stack.client.request("POST", path, as: .alice, body: "").status == 404, "\(path)")
            }
        }
    }
}
