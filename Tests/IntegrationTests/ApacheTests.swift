import Foundation
import TestSupport
import Testing

extension Integration {
    /// The real Apache httpd with the shipped apache2/ files: the API through mod_proxy_fcgi, the
    /// protected actions gated by mod_authnz_fcgi with otp-fcgi as the FastCGI Authorizer, each
    /// location naming its action (SetEnvIf), Apache writing the refusals (protected.conf).
    @Suite struct Apache {
        @Test func stepUpTokenAdmitsOnceOnlyForItsOwner() throws {
            let stack = try WebServerStack(.apache)
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: "+14155550201")

            stack.expectStepUpRequired(stack.protectedAction(token: token, as: .bob), action: "cancel-appointment")

            // A body does not reach the authorizer (it must not wait for one), only the application.
            let first = stack.protectedAction(token: token, headers: ["Content-Type: application/json"], body: #"{"appointment_id": 42}"#)
            #expect(first.status == 200)
            #expect(first.json["status"] == "cancelled")
            #expect(first.json["confirmed_by"] == "alice")
            #expect(first.json["delegate"] == "")
            #expect(first.body.contains(#""step_up_token_forwarded": false"#), "the spent token must not reach the application: \(first.body)")

            stack.expectStepUpRequired(stack.protectedAction(token: token), action: "cancel-appointment")
        }

        /// The location's action reaches the authorizer: a token is refused where another action
        /// is asked for (and not spent there), and admitted once where its own is.
        @Test func aTokenIsAdmittedOnlyWhereItsActionIsAskedFor() throws {
            let stack = try WebServerStack(.apache)
            defer { stack.finish() }
            try stack.expectTokensAdmittedOnlyWhereTheirActionIsAskedFor(phones: ["+14155550205", "+14155550206", "+14155550207"])
        }

        @Test func aListedDelegateActsForASubjectAndNobodyElseMay() throws {
            let stack = try WebServerStack(.apache)
            defer { stack.finish() }
            let token = try stack.delegatedStepUpToken(phone: "+14155550208", subject: .alice, action: "cancel-appointment")

            // bob is not a delegate: 403 (Apache would say 401 to any refusal: protected.conf).
            let forbidden = stack.protectedAction(token: token, as: .bob, headers: ["X-Step-Up-Subject: alice"])
            #expect(forbidden.status == 403)
            #expect(forbidden.body == #"{"detail": "Only a delegate principal may act for a subject"}"#)
            #expect(forbidden.header("Content-Type") == "application/json")
            // alice's token is not the delegate's own.
            stack.expectStepUpRequired(stack.protectedAction(token: token, as: .voiceAgent), action: "cancel-appointment")

            let admitted = stack.protectedAction(token: token, as: .voiceAgent, headers: ["X-Step-Up-Subject: alice", "X-Step-Up-Delegate: mallory"])
            #expect(admitted.status == 200)
            #expect(admitted.json["confirmed_by"] == "alice")
            #expect(admitted.json["delegate"] == "voice-agent")
            #expect(admitted.body.contains(#""step_up_subject_forwarded": false"#), "\(admitted.body)")
            #expect(stack.logs.contains("delegate=voice-agent"))
            // A delegate with a spent token is asked for a step-up, not forbidden.
            stack.expectStepUpRequired(
                stack.protectedAction(token: token, as: .voiceAgent, headers: ["X-Step-Up-Subject: alice"]), action: "cancel-appointment"
            )
        }

        @Test func loginComesFromApacheNotFromTheClient() throws {
            let stack = try WebServerStack(.apache)
            defer { stack.finish() }

            let noLogin = stack.protectedAction(token: nil, as: nil)
            #expect(noLogin.status == 401)
            #expect(noLogin.json["detail"] == "Not authenticated")
            #expect(noLogin.headers["www-authenticate"] == [#"Basic realm="otp-fcgi example""#])
            // A wrong password looks like a refused step-up (README), but keeps the Basic challenge.
            let wrongPassword = stack.protectedAction(token: nil, as: .init(user: "alice", password: "wrong"))
            #expect(wrongPassword.status == 401)
            #expect(wrongPassword.headers["www-authenticate"]?.contains(#"Basic realm="otp-fcgi example""#) == true)
            #expect(stack.send("+14155550202", "step_up", as: nil).status == 401)

            // Headers cannot choose the principal: REMOTE_USER comes from mod_auth_basic, and the
            // application's X-Step-Up-User from the authorizer.
            let token = try stack.stepUpToken(phone: "+14155550203", as: .alice)
            let spoofed = stack.protectedAction(token: token, as: .bob, headers: ["Remote-User: alice", "X-Step-Up-User: alice"])
            #expect(spoofed.status == 401)
            let admitted = stack.protectedAction(token: token, as: .alice, headers: ["X-Step-Up-User: mallory", "X-Step-Up-Delegate: mallory"])
            #expect(admitted.status == 200)
            #expect(admitted.json["confirmed_by"] == "alice")
            #expect(admitted.json["delegate"] == "")
        }

        /// Eight logged-in clients trickle a 4 KiB body into the API (mod_proxy_fcgi forwards it as
        /// it arrives) against four workers: the step-up check, its own instance on TCP, answers all
        /// along, and each trickler gets 408 at the API's body deadline, not at the end of its trickle.
        @Test func tricklingBodiesHoldNoWorkerPastTheDeadlineAndTheCheckKeepsAnswering() throws {
            let stack = try WebServerStack(.apache, serveArguments: ["--body-timeout", "2"])
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: "+14155550206")
            let body = #"{"phone": "+14155550207", "purpose": "verify_phone"}"# + String(repeating: " ", count: 4096 - 52)
            #expect(body.utf8.count == 4096)
            let started = Date()
            let trickling = DispatchGroup()
            let answers = Locked<[Trickled]>([])
            for _ in 0..<8 {
                trickling.enter()
                Thread {
                    // 16 bytes every 250 ms: 64 s for the whole body, which never arrives in time.
                    let answer = stack.client.request(
                        "POST", "/api/otp/send", as: .alice, headers: ["Content-Type: application/json"], body: body,
                        trickle: .init(bytes: 16, pause: 0.25), timeoutSeconds: 20
                    )
                    answers.update { $0.append(Trickled(status: answer.status, seconds: Date().timeIntervalSince(started))) }
                    trickling.leave()
                }.start()
            }
            usleep(500_000)
            var checkTimes: [TimeInterval] = []
            while Date().timeIntervalSince(started) < 1.8 {
                let before = Date()
                stack.expectStepUpRequired(stack.protectedAction(token: nil), action: "cancel-appointment")
                checkTimes.append(Date().timeIntervalSince(before))
            }
            #expect(stack.protectedAction(token: token).status == 200)
            #expect(checkTimes.count >= 3 && checkTimes.allSatisfy { $0 < 1 }, "\(checkTimes)")

            #expect(trickling.wait(timeout: .now() + 25) == .success)
            let finished = answers.value
            #expect(finished.count == 8)
            #expect(finished.filter { $0.seconds < 4 }.count >= 4, "the first four at the deadline: \(finished)")
            for answer in finished {
                #expect(answer.status == 408, "\(finished)")
                // Four at a time (the workers), each 2 s after a worker took it: two rounds, not 64 s.
                #expect(answer.seconds >= 2 && answer.seconds < 9, "408 at the 2 s deadline: \(finished)")
            }
            // The workers are free again.
            #expect(stack.statusClient.request("GET", "/health", timeoutSeconds: 5).status == 200)
            #expect(stack.sms.messages().allSatisfy { $0.to != "+14155550207" })
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

            stack.expectStatusOnItsOwnPortOnly()
            for path in ["/api/otp/step-up-check", "/api/otp/nothing", "/api/otp/"] {
                #expect(stack.client.request("POST", path, as: .alice, body: "").status == 404, "\(path)")
            }
            let wrongType = stack.client.request("POST", "/api/otp/send", as: .alice, headers: ["Content-Type: text/plain"], body: "{}")
            #expect(wrongType.status == 415)
        }
    }
}

private struct Trickled: Sendable {
    var status: Int
    var seconds: TimeInterval
}
