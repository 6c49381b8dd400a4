import Foundation
import Testing

extension Integration {
    /// Three portal nodes (three otp-fcgi processes with their own workers) behind one nginx
    /// upstream on one PostgreSQL database: the counters and one-time use stay exact across the
    /// nodes, and a database that goes away and comes back costs 503s, never a lost success.
    @Suite(.enabled(if: PostgresServer.url != nil, "needs OTP_TEST_PG_URL (make test starts a cluster)"))
    struct ScaleOut {
        static func threeNodes(_ environment: [String: String] = [:]) throws -> TestStack {
            try TestStack(.init(environment: environment, workers: 4, responders: 3, database: .postgres))
        }

        /// Each node's log shows it served some of `event`.
        static func everyNodeServed(_ stack: TestStack, _ event: String) -> Bool {
            (0..<3).allSatisfy { stack.responderLog(index: $0).contains("event=\(event)") }
        }

        @Test func hundredWrongGuessesOverThreeNodesAreExactlyMaxAttemptsEvaluations() throws {
            let stack = try ScaleOut.threeNodes()
            defer { stack.finish() }
            let phone = "+14155550610"
            #expect(stack.send(phone, "verify_phone").status == 200)
            let code = try #require(stack.lastCode(to: phone, purpose: "verify_phone"))
            let wrong = (0..<100).map { String(format: "%06d", (Int(code)! + 1 + $0) % 1_000_000) }

            let guesses = inParallel(100) { index in stack.verify(phone, "verify_phone", code: wrong[index]).status }
            #expect(guesses.allSatisfy { $0 == 400 }, "\(Set(guesses))")
            #expect(try stack.query("SELECT attempts FROM otp_codes") == "3")
            let log = stack.responderLog
            let evaluated = log.components(separatedBy: "reason=wrong_code").count - 1
            print("MEASURED three nodes: 100 parallel wrong guesses, \(evaluated) evaluated")
            #expect(evaluated == 3, "OTP_MAX_ATTEMPTS guesses are evaluated, the rest refused unread")
            #expect(log.components(separatedBy: "reason=locked_out").count - 1 == 97)
            #expect(ScaleOut.everyNodeServed(stack, "otp.verify"), "nginx spread the guesses over the three nodes")
            #expect(stack.verify(phone, "verify_phone", code: code).status == 400)
        }

        @Test func oneTokenPresentedAHundredTimesAcrossTheNodesAdmitsOnce() throws {
            let stack = try ScaleOut.threeNodes()
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: "+14155550611")
            let checks = inParallel(100) { _ in stack.protectedAction(token: token).status }
            print("MEASURED three nodes: one token presented 100 times, \(checks.filter { $0 == 200 }.count) admitted")
            #expect(checks.filter { $0 == 200 }.count == 1, "\(checks)")
            #expect(checks.filter { $0 == 401 }.count == 99)
            #expect(try stack.query("SELECT count(*) FROM step_up_tokens WHERE used_at IS NOT NULL") == "1")
        }

        @Test func theHourlyCapHoldsAcrossTheNodes() throws {
            let stack = try ScaleOut.threeNodes(["OTP_RESEND_COOLDOWN_SECONDS": "0", "OTP_MAX_SENDS_PER_HOUR": "3"])
            defer { stack.finish() }
            let phone = "+14155550612"
            let statuses = inParallel(60) { _ in stack.send(phone, "verify_phone").status }
            #expect(statuses.allSatisfy { $0 == 200 }, "suppressed sends answer 200 too: \(Set(statuses))")
            let delivered = stack.sms.messages().filter { $0.to == phone }.count
            print("MEASURED three nodes: 60 parallel sends to one phone, \(delivered) SMS")
            #expect(delivered == 3)
            #expect(try stack.query("SELECT send_count FROM otp_codes") == "3")
            #expect(ScaleOut.everyNodeServed(stack, "otp.send"))
        }

        @Test func theFirewallBudgetsHoldAcrossTheNodes() throws {
            let stack = try ScaleOut.threeNodes(["OTP_SMS_PER_USER_PER_HOUR": "15", "OTP_SMS_GLOBAL_PER_HOUR": "40"])
            defer { stack.finish() }
            let alice = inParallel(60) { index in stack.send(String(format: "+1415555%04d", 700 + index), "verify_phone").status }
            #expect(alice.filter { $0 == 200 }.count == 15, "\(alice)")
            #expect(alice.filter { $0 == 429 }.count == 45)
            // The total: 25 more SMS fit in the hour, whoever asks.
            let anonymous = inParallel(60) { index in
                stack.anonymousClient.postJSON(
                    "/api/otp/send", OTPSessionJSON.body(phone: String(format: "+1415555%04d", 800 + index), purpose: "verify_phone"),
                    headers: ["X-Forwarded-For: 192.0.2.\(index + 1)"]
                ).status
            }
            let sent = stack.sms.messages().count
            print("MEASURED three nodes: user budget 15 of 60 sent, total budget 40: \(sent) SMS")
            #expect(anonymous.filter { $0 == 200 }.count == 25, "\(anonymous)")
            #expect(anonymous.filter { $0 == 503 }.count == 35)
            #expect(sent == 40)
            #expect(ScaleOut.everyNodeServed(stack, "otp.send"))
        }

        /// The operator's commands on the shared database, and a password in OTP_DB_URL that no
        /// output and no log line ever shows (the test cluster trusts local users: the password is
        /// accepted and ignored).
        @Test func theAdminCommandsWorkOnPostgreSQLAndNeverShowThePassword() throws {
            let stack = try ScaleOut.threeNodes()
            defer { stack.finish() }
            let password = "pw-" + UUID().uuidString.prefix(8)
            stack.record(secret: password)
            let url = try #require(stack.databaseURL).replacingOccurrences(of: ":///", with: "://otp:\(password)@/")
            var environment = stack.environment
            environment["OTP_DB_URL"] = url
            func run(_ arguments: [String], _ environment: [String: String]) throws -> (status: Int32, text: String) {
                let result = try ChildProcess.run(TestStack.binary, arguments, environment: environment, stderr: .capture)
                #expect(!TestStack.containsStandalone(password, in: result.output + result.errors), "\(arguments)")
                return (result.status, result.output + result.errors)
            }

            let checked = try run(["check-config"], environment)
            #expect(checked.status == 0 && checked.text.contains("schema version 2"), "\(checked.text)")
            #expect(checked.text.contains("otp:***@"))
            #expect(try run(["migrate"], environment).text.contains("schema is up to date (version 2)"))

            try stack.ensureVerifiedPhone("+14155550620", of: .alice)
            #expect(try stack.query("SELECT phone_verified FROM users WHERE user_id = 'alice'") == "1")
            #expect(stack.send("+14155550621", "verify_phone").status == 200)
            let stats = try run(["stats"], environment)
            #expect(stats.status == 0 && stats.text.contains("codes verify_phone: active 1"), "\(stats.text)")
            #expect(try run(["firewall", "status"], environment).text.contains("mode: enforce"))
            #expect(try run(["reset-phone", "alice"], environment).text.contains("reset the verified phone of alice"))
            #expect(try stack.query("SELECT phone_verified FROM users WHERE user_id = 'alice'") == "0")
            #expect(try run(["purge"], environment).text.contains("purged 0 code rows"))

            // A newer schema is refused by check-config and by serve, naming the variable without the password.
            try stack.execute("INSERT INTO schema_version (version) VALUES (99)")
            let refused = try run(["check-config"], environment)
            #expect(refused.status == 78 && refused.text.contains("OTP_DB_URL: schema version 99 is newer"), "\(refused.text)")
            let serve = try run(["serve", "--listen", "unix:\(stack.state.path)/refused.sock", "--workers", "1"], environment)
            #expect(serve.status == 74 && serve.text.contains("OTP_DB_URL=postgresql://otp:***@"), "\(serve.text)")
            try stack.execute("DELETE FROM schema_version WHERE version = 99")

            // An unreachable server: the error names the URL, never the password.
            environment["OTP_DB_URL"] = url.replacingOccurrences(of: "host=", with: "host=/nonexistent")
            let unreachable = try run(["check-config"], environment)
            #expect(unreachable.status == 78 && unreachable.text.contains("OTP_DB_URL: cannot use postgresql://otp:***@"), "\(unreachable.text)")
        }

        @Test func killingPostgreSQLUnderLoadGives503sThenEveryNodeServesAgainAndNothingAcknowledgedIsLost() throws {
            let stack = try ScaleOut.threeNodes(["OTP_RESEND_COOLDOWN_SECONDS": "0"])
            defer { stack.finish() }
            let phones = (0..<3000).map { String(format: "+14155%06d", 100_000 + $0) }
            try stack.execute("INSERT INTO notification_preferences (user_id, sms_phone_number) VALUES "
                + phones.map { "('load', '\($0)')" }.joined(separator: ", "))
            let work = WorkQueue(tokens: [], codes: phones.map { ($0, "") })
            let seen = CrashRecovery.Observations()
            let running = Flag()
            let group = DispatchGroup()
            for _ in 0..<6 {
                group.enter()
                Thread {
                    // Each phone: a send, then its code verified; every 200 of a verify must be in the database.
                    while running.isSet, let (phone, _) = work.nextCode() {
                        let sent = stack.anonymousClient.postJSON("/api/otp/send", OTPSessionJSON.body(phone: phone, purpose: "verify_phone"))
                        stack.recordPhone(phone)
                        seen.add(sent)
                        guard sent.status == 200, let code = stack.lastCode(to: phone, purpose: "verify_phone") else {
                            usleep(20_000)  // a client backing off on 503
                            continue
                        }
                        seen.add(stack.verifyAnonymously(phone, code: code), phone: phone)
                    }
                    group.leave()
                }.start()
            }
            usleep(700_000)
            let stoppedAt = Date()
            try PostgresServer.control(["stop", "-m", "immediate"])
            usleep(1_500_000)
            let healthWhileDown = stack.statusClient.request("GET", "/health").status
            try PostgresServer.control(["start", "-w"])
            let restartedAt = Date()
            // Every node serves again on its own: their health (answered by whichever worker nginx picks) turns 200.
            try TestStack.waitUntil("every node healthy", timeout: 20) {
                (0..<3).allSatisfy { node in
                    (try? FastCGIClient(unixSocket: stack.socketPath(for: node)).exchange([
                        ("REQUEST_METHOD", "GET"), ("OTP_ENDPOINT", "health"), ("DOCUMENT_URI", "/health"),
                    ]))?.hasPrefix("Status: 200") ?? false
                }
            }
            let healthyAt = Date()
            usleep(1_000_000)
            running.clear()
            group.wait()

            let counts = Dictionary(grouping: seen.statuses.map(\.0), by: { $0 }).mapValues(\.count)
            print("MEASURED three nodes, PostgreSQL stopped (immediate) under load: answers by status \(counts.sorted { $0.key < $1.key }), "
                + "health while down \(healthWhileDown), all nodes healthy \(ms(healthyAt.timeIntervalSince(restartedAt))) after the restart")
            #expect(healthWhileDown == 503)
            #expect(seen.statuses.contains { $0.0 == 503 }, "requests while the database was down answered 503")
            #expect(seen.statuses.allSatisfy { [200, 400, 503].contains($0.0) }, "\(Set(seen.statuses.map(\.0)))")
            #expect(seen.statuses.contains { $0.0 == 200 && $0.1 > healthyAt }, "service resumed without restarting a node")
            #expect(seen.statuses.filter { $0.0 == 503 }.allSatisfy { $0.1 >= stoppedAt }, "no 503 before the stop")
            // Every success the clients saw is in the database.
            let verified = Set(try stack.query("SELECT sms_phone_number FROM notification_preferences WHERE sms_phone_verified = 1").split(separator: "\n").map(String.init))
            let lost = seen.verifiedPhones.filter { !verified.contains($0) }
            #expect(lost.isEmpty, "\(lost.count) acknowledged verifications are not in the database")
            #expect(!seen.verifiedPhones.isEmpty)
            #expect(stack.responders.allSatisfy { $0?.isRunning == true }, "no node exited")
        }
    }
}
