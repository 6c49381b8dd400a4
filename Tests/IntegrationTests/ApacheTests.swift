import Foundation
import Testing

extension Integration {
    /// The real Apache httpd with the shipped apache2/ files: the API through mod_proxy_fcgi, the
    /// protected action gated by mod_authnz_fcgi with otp-fcgi as the FastCGI Authorizer.
    @Suite struct Apache {
        @Test func stepUpTokenAdmitsOnceOnlyForItsOwner() throws {
            let stack = try WebServerStack(.apache)
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: "+14155550201")

            let asBob = stack.protectedAction(token: token, as: .bob)
            #expect(asBob.status == 401)
            #expect(asBob.json["step_up"] == "required")
            #expect(asBob.header("Content-Type") == "application/json")

            // A body does not reach the authorizer (it must not wait for one), only the application.
            let first = stack.protectedAction(token: token, headers: ["Content-Type: application/json"], body: #"{"appointment_id": 42}"#)
            #expect(first.status == 200)
            #expect(first.json["status"] == "cancelled")
            #expect(first.json["confirmed_by"] == "alice")
            #expect(first.body.contains(#""step_up_token_forwarded": false"#), "the spent token must not reach the application: \(first.body)")

            let second = stack.protectedAction(token: token)
            #expect(second.status == 401)
            #expect(second.json["step_up"] == "required")
            #expect(second.header("Cache-Control") == "no-store")
        }

        @Test func loginComesFromApacheNotFromTheClient() throws {
            let stack = try WebServerStack(.apache)
            defer { stack.finish() }

            let noLogin = stack.protectedAction(token: nil, as: nil)
            #expect(noLogin.status == 401)
            #expect(noLogin.json["detail"] == "Not authenticated")
            #expect(noLogin.header("WWW-Authenticate")?.hasPrefix("Basic") == true)
            #expect(stack.protectedAction(token: nil, as: .init(user: "alice", password: "wrong")).status == 401)
            #expect(stack.send("+14155550202", "step_up", as: nil).status == 401)

            // Headers cannot choose the principal: REMOTE_USER comes from mod_auth_basic, and the
            // application's X-Step-Up-User from the authorizer.
            let token = try stack.stepUpToken(phone: "+14155550203", as: .alice)
            let spoofed = stack.protectedAction(token: token, as: .bob, headers: ["Remote-User: alice", "X-Step-Up-User: alice"])
            #expect(spoofed.status == 401)
            let admitted = stack.protectedAction(token: token, as: .alice, headers: ["X-Step-Up-User: mallory"])
            #expect(admitted.status == 200)
            #expect(admitted.json["confirmed_by"] == "alice")
        }

        @Test func verifyPhoneHealthAndUnknownPaths() throws {
            let stack = try WebServerStack(.apache)
            defer { stack.finish() }
            #expect(stack.send("+14155550204", "verify_phone").status == 200)
            let code = try #require(stack.lastCode(to: "+14155550204", purpose: "verify_phone"))
            let verified = stack.verify("+14155550204", "verify_phone", code: code)
            #expect(verified.status == 200)
            #expect(verified.body == #"{"status": "verified"}"#)
            #expect(try sqlite(stack.databasePath, "SELECT phone_e164, phone_verified FROM users WHERE user_id = 'alice'") == "+14155550204|1")
            #expect(stack.verify("+14155550204", "verify_phone", code: code).status == 400)

            let health = stack.client.request("GET", "/api/otp/health", as: .alice)
            #expect(health.status == 200)
            #expect(health.body == #"{"status": "ok"}"#)
            for path in ["/api/otp/step-up-check", "/api/otp/nothing", "/api/otp/"] {
                #expect(stack.client.request("POST", path, as: .alice, body: "").status == 404, "\(path)")
            }
            let wrongType = stack.client.request("POST", "/api/otp/send", as: .alice, headers: ["Content-Type: text/plain"], body: "{}")
            #expect(wrongType.status == 415)
        }
    }
}
