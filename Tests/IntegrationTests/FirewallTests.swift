import Foundation
import OTPLogic
import Testing

extension Integration {
    /// The SMS firewall through nginx with the file sink and the real libphonenumber (SPEC, "SMS
    /// firewall"). The test stacks run with the budgets off; each test turns on what it checks.
    @Suite struct Firewall {
        /// Numbers libphonenumber classifies as: US fixed-line-or-mobile (allowed), German and Dutch
        /// mobiles (allowed types; the country list decides), a UK premium-rate, a US toll-free, and
        /// an invalid US number (no such area code).
        static func mixedNumbers(_ count: Int) -> [(phone: String, allowed: Bool)] {
            (0..<count).map { index in
                switch index % 6 {
                case 0: (String(format: "+1415555%04d", index), true)
                case 1: (String(format: "+4915123%06d", index), true)
                case 2: (String(format: "+316123%05d", index), false)            // NL: not in the country list
                case 3: (String(format: "+4490123%05d", index % 100_000), false)  // premium rate
                case 4: (String(format: "+1800234%04d", index % 10_000), false)   // toll free
                default: (String(format: "+1123456%04d", index % 10_000), false)  // invalid
                }
            }
        }

        @Test func aPumpingRunGetsExactlyTheBudgetOutAndNeverReachesAPremiumOrForeignNumber() throws {
            let stack = try TestStack(.init(environment: [
                "OTP_SMS_PER_USER_PER_HOUR": "10", "OTP_SMS_ALLOWED_COUNTRIES": "US,DE",
            ]))
            defer { stack.finish() }
            var statuses: [Int: Int] = [:]
            var refusedAllowed = 0
            for (phone, allowed) in Firewall.mixedNumbers(1_000) {
                let answer = stack.send(phone, "verify_phone", as: .alice)
                statuses[answer.status, default: 0] += 1
                if !allowed {
                    #expect(answer.status == 422, "\(phone.prefix(5))…: \(answer.status)")
                    #expect(answer.body == #"{"detail": "This phone number cannot receive SMS"}"#)
                } else if answer.status == 429 {
                    refusedAllowed += 1
                    #expect(Int(answer.header("Retry-After") ?? "") ?? 0 > 0)
                    #expect(answer.body == #"{"detail": "Too many requests, try again later"}"#)
                }
            }
            let sent = stack.sms.messages()
            #expect(sent.count == 10, "the user's budget, no more")
            #expect(sent.allSatisfy { $0.to.hasPrefix("+1415") || $0.to.hasPrefix("+49") })
            #expect(statuses[200] == 10)
            #expect(statuses[422] == Firewall.mixedNumbers(1_000).filter { !$0.allowed }.count)
            #expect(statuses[429] == refusedAllowed)
            #expect(statuses[200, default: 0] + statuses[422, default: 0] + statuses[429, default: 0] == 1_000)
            #expect(stack.responderLog.contains("reason=user_budget"))
            #expect(stack.responderLog.contains("reason=number_type"))
            #expect(stack.responderLog.contains("reason=country_not_allowed"))
        }

        @Test func rotatingAddressesWithinOneSlash64DoesNotEscapeTheAddressBudget() throws {
            let stack = try TestStack(.init(environment: ["OTP_SMS_PER_ADDRESS_PER_HOUR": "3"]))
            defer { stack.finish() }
            func send(_ index: Int, from address: String) -> Int {
                stack.recordPhone(String(format: "+1415555%04d", index))
                return stack.anonymousClient.postJSON(
                    "/api/otp/send", OTPSessionJSON.body(phone: String(format: "+1415555%04d", index), purpose: "verify_phone"),
                    headers: ["X-Forwarded-For: \(address)"]
                ).status
            }
            let rotating = (1...6).map { send($0, from: "2001:db8:77:1::\(String($0, radix: 16))") }
            #expect(rotating == [200, 200, 200, 429, 429, 429])
            #expect(send(20, from: "2001:db8:77:2::1") == 200, "another /64 has its own budget")
            #expect(send(21, from: "192.0.2.10") == 200)
            #expect(stack.sms.messages().count == 5)
        }

        @Test func theTotalBudgetTripsLogsOnceAndRecoversWhenTheHourSlidesOn() throws {
            let stack = try TestStack(.init(environment: ["OTP_SMS_GLOBAL_PER_HOUR": "4"]))
            defer { stack.finish() }
            let answers = (0..<8).map { stack.send(String(format: "+1415555%04d", 100 + $0), "verify_phone").status }
            #expect(answers == [200, 200, 200, 200, 503, 503, 503, 503])
            let exhausted = stack.send("+14155550199", "verify_phone")
            #expect(exhausted.body == #"{"detail": "Could not send code, try again later"}"#)
            #expect(Int(exhausted.header("Retry-After") ?? "") ?? 0 > 3000)
            let critical = stack.responderLog.split(separator: "\n").filter { $0.contains("level=critical") && $0.contains("reason=total_budget") }
            #expect(critical.count == 1, "one critical line, not one per request")
            #expect(stack.sms.messages().count == 4)

            // An hour later. The operator's purge writes the firewall's records into sms_firewall (and
            // compacts the change log); there the total's sends move back 61 minutes, as the clock
            // would have moved on; otp-fcgi, restarted, reads them from the table.
            try ChildProcess.run(TestStack.binary, ["purge"], environment: stack.environment).requireSuccess()
            #expect(try stack.query("SELECT count(*) FROM sms_firewall_log") == "1")
            let stored = try stack.query("SELECT hex(window) FROM sms_firewall WHERE scope = 'total'")
            let window = try #require(BudgetWindow(encoded: Firewall.bytes(hex: stored)))
            #expect(window.used(at: window.buckets[0].minute * 60) == 4)
            let older = BudgetWindow(buckets: window.buckets.map { ($0.minute - 61, $0.count) })
            stack.stopResponder()
            try stack.execute("UPDATE sms_firewall SET window = x'\(Firewall.hex(older.encoded))' WHERE scope = 'total'")
            try stack.startResponder()
            #expect(stack.send("+14155550198", "verify_phone").status == 200)
        }

        @Test func aCountryWhoseCodesAreNeverVerifiedIsPausedAndTheOperatorUnblocksIt() throws {
            let stack = try TestStack(.init(environment: ["OTP_SMS_TRIPWIRE_SENDS": "5", "OTP_SMS_TRIPWIRE_MIN_VERIFIED": "20"]))
            defer { stack.finish() }
            let answers = (0..<7).map { stack.send(String(format: "+4915123%06d", $0), "verify_phone").status }
            #expect(answers == [200, 200, 200, 200, 200, 503, 503])
            #expect(stack.send("+14155550120", "verify_phone").status == 200, "other countries go on")
            let critical = stack.responderLog.split(separator: "\n").filter { $0.contains("level=critical") && $0.contains("country_paused") }
            #expect(critical.count == 1)
            #expect(critical.first?.contains("country=DE") == true)

            let status = try ChildProcess.run(TestStack.binary, ["firewall", "status"], environment: stack.environment)
            #expect(status.status == 0)
            #expect(status.output.contains("country DE:") && status.output.contains("PAUSED"), "\(status.output)")
            let unblock = try ChildProcess.run(TestStack.binary, ["firewall", "unblock", "DE"], environment: stack.environment)
            #expect(unblock.status == 0)
            #expect(unblock.output.contains("lifted every block on country DE"))
            #expect(unblock.output.contains("event=audit"))
            #expect(stack.send("+4915123000009", "verify_phone").status == 200)
        }

        @Test func monitorModeLetsEverythingThroughAndCountsWhatItWouldBlock() throws {
            let stack = try TestStack(.init(environment: [
                "OTP_SMS_FIREWALL_MODE": "monitor", "OTP_SMS_PER_USER_PER_HOUR": "2", "OTP_SMS_ALLOWED_COUNTRIES": "US",
            ]))
            defer { stack.finish() }
            #expect(stack.send("+449012312345", "verify_phone").status == 200)   // premium rate
            #expect(stack.send("+4915123000001", "verify_phone").status == 200)  // DE: not listed
            #expect(stack.send("+14155550130", "verify_phone").status == 200)    // over the user's 2
            #expect(stack.sms.messages().count == 3)
            let metrics = PrometheusText(stack.statusClient.request("GET", "/metrics").body)
            #expect(metrics["otp_sms_firewall_blocks_total{reason=\"number_type\",mode=\"monitor\"}"] == 1)
            #expect(metrics["otp_sms_firewall_blocks_total{reason=\"country_not_allowed\",mode=\"monitor\"}"] == 1)
            #expect(metrics["otp_sms_firewall_blocks_total{reason=\"user_budget\",mode=\"monitor\"}"] == 1)
            #expect(stack.responderLog.contains("outcome=would_block"))
        }

        @Test(arguments: StackDatabase.all) func twoProcessesOnOneDatabaseShareTheBudgetsExactly(database: StackDatabase) throws {
            let stack = try TestStack(.init(environment: ["OTP_SMS_PER_USER_PER_HOUR": "15"], workers: 4, responders: 2, database: database))
            defer { stack.finish() }
            let statuses = inParallel(60) { index in stack.send(String(format: "+1415555%04d", 500 + index), "verify_phone").status }
            #expect(statuses.filter { $0 == 200 }.count == 15, "\(statuses)")
            #expect(statuses.filter { $0 == 429 }.count == 45, "\(statuses)")
            #expect(stack.sms.messages().count == 15)
            #expect(!stack.responderLog(index: 0).isEmpty && !stack.responderLog(index: 1).isEmpty, "both processes served")
        }

        @Test func twilioPumpingProtectionIsCannotReceiveAndPausesTheCountry() throws {
            let twilio = try FakeTwilio(mode: .twilioError(code: 30453, status: 400))
            let stack = try TestStack(.init(environment: ["OTP_SMS_TRIPWIRE_SENDS": "5"], twilio: twilio))
            defer { stack.finish() }
            for index in 0..<5 {
                let answer = stack.send(String(format: "+4915123%06d", index), "verify_phone")
                #expect(answer.status == 422)
                #expect(answer.body == #"{"detail": "This phone number cannot receive SMS"}"#)
            }
            #expect(stack.send("+4915123000099", "verify_phone").status == 503)
            #expect(twilio.requests.count == 5, "the paused country's send never reached Twilio")
        }

        @Test func explainShowsTheFactsAndTheVerdictWithoutSending() throws {
            let stack = try TestStack()
            defer { stack.finish() }
            let premium = try ChildProcess.run(TestStack.binary, ["explain", "+449012312345"], environment: stack.environment)
            #expect(premium.status == 0)
            #expect(premium.output.contains("type: premium_rate"))
            #expect(premium.output.contains("region: GB"))
            #expect(premium.output.contains("refused (number_type)"))
            let mobile = try ChildProcess.run(TestStack.binary, ["explain", "+4915123456789", "--user", "alice"], environment: stack.environment)
            #expect(mobile.output.contains("type: mobile"))
            #expect(mobile.output.contains("passes the firewall"))
            #expect(stack.sms.messages().isEmpty)
            #expect(!premium.output.contains("449012312345"), "the number is not echoed")
        }

        static func bytes(hex: String) -> [UInt8] {
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
                bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
                index = next
            }
            return bytes
        }

        static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    }
}
