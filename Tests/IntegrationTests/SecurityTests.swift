import Foundation
import Testing

extension Integration {
    @Suite struct Security {
        /// The spec's trap: Debian's stock fastcgi_params sends REMOTE_USER $remote_user (from any
        /// client's Basic header), then the site adds its real user; libfcgi would return the first.
        /// otp-fcgi must treat the repeated parameter as anonymous and log a configuration error.
        @Test func repeatedRemoteUserIsTreatedAsAnonymous() throws {
            let trapPort = try TestStack.freePort()
            let site = """
                server {
                    listen 127.0.0.1:\(trapPort);
                    location /api/otp/ {
                        set $sso_user "alice";
                        include /etc/nginx/fastcgi_params;
                        fastcgi_param REMOTE_USER $sso_user;
                        fastcgi_pass otp_fcgi;
                    }
                    location = /check {
                        include /etc/nginx/fastcgi_params;
                        fastcgi_param REMOTE_USER "alice";
                        fastcgi_param OTP_ENDPOINT step-up-check;
                        fastcgi_pass otp_fcgi;
                    }
                }
                """
            let stack = try TestStack(.init(extraSites: ["trap.conf": site]))
            defer { stack.finish() }
            let trap = HTTPClient(baseURL: "http://127.0.0.1:\(trapPort)", caFile: stack.client.caFile)
            let mallory = HTTPClient.Credentials(user: "mallory", password: "anything")

            let send = trap.postJSON("/api/otp/send", #"{"phone_e164": "+14155550150", "purpose": "step_up"}"#, as: mallory)
            #expect(send.status == 401)
            #expect(stack.sms.messages().isEmpty)

            // A valid token of alice's, presented where REMOTE_USER arrives twice, admits nobody.
            let token = try stack.stepUpToken(phone: "+14155550151", as: .alice)
            let check = trap.request("GET", "/check", as: mallory, headers: ["X-Step-Up-Token: \(token)"])
            #expect(check.status == 401)
            #expect(stack.responderLog.contains("event=config_error"))
            #expect(stack.protectedAction(token: token, as: .alice).status == 200)
        }

        @Test func theApiNeverSeesTheStepUpTokenHeader() throws {
            let stack = try TestStack()
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: "+14155550152")
            // Sent to the public API, the token header is dropped by the snippet: the request is an
            // ordinary verify and the token stays unused.
            let stray = stack.client.postJSON("/api/otp/verify", #"{"phone_e164": "+14155550152", "purpose": "step_up", "code": "000000"}"#,
                                              as: .alice, headers: ["X-Step-Up-Token: \(token)"])
            #expect(stray.status == 400)
            #expect(try sqlite(stack.databasePath, "SELECT count(*) FROM step_up_tokens WHERE used_at IS NULL") == "1")
            #expect(stack.protectedAction(token: token).status == 200)
        }

        @Test func databaseHoldsOnlyHashesOfPhonesCodesAndTokens() throws {
            let stack = try TestStack()
            defer { stack.finish() }
            let phone = "+14155550153"
            let token = try stack.stepUpToken(phone: phone)
            #expect(stack.send(phone, "verify_phone").status == 200)
            let code = try #require(stack.lastCode(to: phone, purpose: "verify_phone"))
            let codes = try sqlite(stack.databasePath, "SELECT * FROM otp_codes")
            let tokens = try sqlite(stack.databasePath, "SELECT * FROM step_up_tokens")
            #expect(!codes.isEmpty && !tokens.isEmpty)
            for secret in [phone, String(phone.dropFirst()), code, token] {
                #expect(!codes.contains(secret))
                #expect(!tokens.contains(secret))
            }
        }
    }
}
