import Foundation
import Testing

extension Integration {
    /// The real lighttpd with the shipped lighttpd/ files: the API through mod_fastcgi, the
    /// protected path through mod_fastcgi in authorizer mode (otp-fcgi's refusal goes to the client).
    @Suite struct Lighttpd {
        @Test func stepUpTokenAdmitsOnceOnlyForItsOwner() throws {
            let stack = try WebServerStack(.lighttpd)
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: "+14155550211")

            let asBob = stack.protectedAction(token: token, as: .bob)
            #expect(asBob.status == 401)
            #expect(asBob.json["step_up"] == "required")
            #expect(asBob.header("Content-Type") == "application/json")
            #expect(asBob.header("Cache-Control") == "no-store")

            // A body does not reach the authorizer (it must not wait for one), only the application.
            let first = stack.protectedAction(token: token, headers: ["Content-Type: application/json"], body: #"{"appointment_id": 42}"#)
            #expect(first.status == 200)
            #expect(first.json["status"] == "cancelled")
            #expect(first.json["confirmed_by"] == "alice")

            let second = stack.protectedAction(token: token)
            #expect(second.status == 401)
            #expect(second.body == #"{"detail": "Step-up required: verify a step_up code and send the token in X-Step-Up-Token", "step_up": "required", "action": "cancel-appointment"}"#)
            #expect(second.header("WWW-Authenticate") == #"OTP-Step-Up action="cancel-appointment""#)
        }

        @Test func loginComesFromLighttpdNotFromTheClient() throws {
            let stack = try WebServerStack(.lighttpd)
            defer { stack.finish() }

            let noLogin = stack.protectedAction(token: nil, as: nil)
            #expect(noLogin.status == 401)
            #expect(noLogin.header("WWW-Authenticate")?.hasPrefix("Basic") == true)
            #expect(stack.protectedAction(token: nil, as: .init(user: "alice", password: "wrong")).status == 401)
            #expect(stack.send("+14155550212", "step_up", as: nil).status == 401)
            #expect(stack.protectedAction(token: nil).json["step_up"] == "required")

            let token = try stack.stepUpToken(phone: "+14155550213", as: .alice)
            let spoofed = stack.protectedAction(token: token, as: .bob, headers: ["Remote-User: alice", "Variable-STEP_UP_USER: alice"])
            #expect(spoofed.status == 401)
            let admitted = stack.protectedAction(token: token, as: .alice, headers: ["Step-Up-User: mallory"])
            #expect(admitted.status == 200)
            #expect(admitted.json["confirmed_by"] == "alice")
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

            let health = stack.client.request("GET", "/api/otp/health", as: .alice)
            #expect(health.status == 200)
            #expect(health.body == #"{"status": "ok"}"#)
            for path in ["/api/otp/step-up-check", "/api/otp/nothing"] {
                #expect(stack.client.request("POST", path, as: .alice, body: "").status == 404, "\(path)")
            }
        }
    }
}
