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

        /// nginx with the shipped files in front of a recorder instead of otp-fcgi: no header a client
        /// sends to send reaches it as a parameter, verify gets only X-Step-Up-Token (a change-phone
        /// token), and the step-up check gets the token and the delegate's subject (so the recorder
        /// does see a header whenever nginx forwards one).
        @Test func theApiNeverSeesTheStepUpTokenHeader() throws {
            let stack = try TestStack(.init(responders: 0))
            defer { stack.finish() }
            let upstream = try String(contentsOf: stack.state.appendingPathComponent("nginx/conf.d/otp-fcgi.conf"), encoding: .utf8)
            #expect(upstream.contains("server unix:\(stack.socketPath);"), "nginx's otp_fcgi upstream is the recorder's socket")
            let recorder = try RecordingFastCGIServer(socketPath: stack.socketPath)
            defer { recorder.stop() }
            let token = "client-token-" + UUID().uuidString
            let headers = ["X-Step-Up-Token: \(token)", "X-Step-Up-Subject: bob", "X-Client-Probe: from-the-client"]

            #expect(stack.send("+14155550152", "step_up", headers: headers).status == 200)
            let verify = stack.client.postJSON("/api/otp/verify", #"{"phone_e164": "+14155550152", "purpose": "step_up", "code": "000000"}"#,
                                               as: .alice, headers: headers)
            #expect(verify.status == 200)
            #expect(stack.protectedAction(token: token, headers: ["X-Step-Up-Subject: bob", "X-Client-Probe: from-the-client"]).status == 200)

            let api = recorder.requests.filter { $0.param("OTP_ENDPOINT") == nil }
            #expect(api.compactMap { $0.param("DOCUMENT_URI") }.sorted() == ["/api/otp/send", "/api/otp/verify"])
            for request in api {
                let uri = request.param("DOCUMENT_URI") ?? "?"
                let fromClient = request.params.map(\.name).filter { $0.hasPrefix("HTTP_") }
                if uri == "/api/otp/verify" {
                    #expect(fromClient == ["HTTP_X_STEP_UP_TOKEN"], "verify gets the token header and nothing else: \(fromClient)")
                    #expect(request.param("HTTP_X_STEP_UP_TOKEN") == token)
                } else {
                    #expect(request.param("HTTP_X_STEP_UP_TOKEN") == nil, "the step-up token header reached \(uri)")
                    #expect(fromClient.isEmpty, "client headers reached \(uri): \(fromClient)")
                }
            }
            let checks = recorder.requests.filter { $0.param("OTP_ENDPOINT") == "step-up-check" }
            #expect(checks.count == 1)
            #expect(checks.first?.param("HTTP_X_STEP_UP_TOKEN") == token, "the check gets the token the client sent")
            #expect(checks.first?.param("HTTP_X_STEP_UP_SUBJECT") == "bob", "and the subject")
            #expect(checks.first?.params.map(\.name).filter { $0.hasPrefix("HTTP_") }.sorted() == ["HTTP_X_STEP_UP_SUBJECT", "HTTP_X_STEP_UP_TOKEN"], "and no other header")
            #expect(checks.first?.param("OTP_STEP_UP_ACTION") == "cancel-appointment", "the location's action")
        }

        @Test func aTokenSentToTheApiStaysUnused() throws {
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
