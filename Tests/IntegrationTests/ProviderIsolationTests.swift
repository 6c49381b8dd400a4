import Foundation
import Testing

extension Integration {
    /// A hung SMS provider holds at most OTP_SMS_MAX_INFLIGHT workers; verify and the step-up
    /// check keep being answered on the others.
    @Suite struct ProviderIsolation {
        static let checks = 60
        static let verifies = 30

        @Test func twentyHangingSendsDoNotDelayChecksOrVerifies() throws {
            let twilio = try FakeTwilio()
            let stack = try TestStack(.init(
                environment: ["OTP_SMS_TIMEOUT_SECONDS": "8", "OTP_SMS_CONNECT_TIMEOUT_SECONDS": "2", "OTP_SMS_MAX_INFLIGHT": "4"],
                workers: 8, twilio: twilio
            ))
            defer { stack.finish() }

            // Everything to check is minted first: while sends hang, no new send could get through.
            let calmInput = try prepare(stack, round: 0)
            let stressedInput = try prepare(stack, round: 1)
            let calm = measure(stack, calmInput)

            let hanging = (0..<20).map { "+1415556\(String(format: "%04d", $0))" }
            for phone in hanging { twilio.setMode(.hang, forRecipient: phone) }
            let sends = ResultCollector()
            let group = DispatchGroup()
            for phone in hanging {
                group.enter()
                Thread {
                    let started = Date()
                    let answer = stack.send(phone, "verify_phone")
                    sends.add(answer.status, Date().timeIntervalSince(started))
                    group.leave()
                }.start()
            }
            try TestStack.waitUntil("4 sends hanging on the provider") {
                twilio.requests.filter { $0.answeredWith == .hang }.count == 4
            }
            let stressed = measure(stack, stressedInput)
            #expect(twilio.requests.filter { $0.answeredWith == .hang }.count == 4, "no more than OTP_SMS_MAX_INFLIGHT sends reach the provider")
            group.wait()

            let sendResults = sends.values
            #expect(sendResults.allSatisfy { $0.0 == 503 }, "\(sendResults.map(\.0))")
            #expect(sendResults.filter { $0.1 < 2 }.count == 16, "sends past the in-flight bound are refused at once")

            for (name, calmTimes, stressedTimes) in [("step-up check", calm.checks, stressed.checks), ("verify", calm.verifies, stressed.verifies)] {
                let calmP99 = percentile(calmTimes, 0.99)
                let stressedP99 = percentile(stressedTimes, 0.99)
                print("MEASURED \(name) p99: \(ms(calmP99)) without hanging sends, \(ms(stressedP99)) with 20 sends hanging (p50 \(ms(percentile(calmTimes, 0.5))) / \(ms(percentile(stressedTimes, 0.5))))")
                #expect(stressedP99 < 2.0, "\(name) p99 with hanging sends was \(ms(stressedP99))")
            }
        }

        struct Timings {
            var checks: [TimeInterval] = []
            var verifies: [TimeInterval] = []
        }

        struct Input {
            var tokens: [String] = []
            var codes: [(String, String)] = []
        }

        /// Step-up tokens and delivered codes, made through the real API.
        private func prepare(_ stack: TestStack, round: Int) throws -> Input {
            var tokens: [String] = []
            for index in 0..<ProviderIsolation.checks {
                tokens.append(try stack.stepUpToken(phone: "+1415557\(round)\(String(format: "%03d", index))"))
            }
            var codes: [(String, String)] = []
            for index in 0..<ProviderIsolation.verifies {
                let phone = "+1415558\(round)\(String(format: "%03d", index))"
                #expect(stack.send(phone, "verify_phone").status == 200)
                codes.append((phone, try #require(stack.lastCode(to: phone, purpose: "verify_phone"))))
            }
            return Input(tokens: tokens, codes: codes)
        }

        /// Times each step-up check (the protected action through auth_request) and each verify.
        private func measure(_ stack: TestStack, _ input: Input) -> Timings {
            var timings = Timings()
            for token in input.tokens {
                let started = Date()
                #expect(stack.protectedAction(token: token).status == 200)
                timings.checks.append(Date().timeIntervalSince(started))
            }
            for (phone, code) in input.codes {
                let started = Date()
                #expect(stack.verifyAnonymously(phone, code: code).status == 200)
                timings.verifies.append(Date().timeIntervalSince(started))
            }
            return timings
        }
    }
}

func percentile(_ values: [TimeInterval], _ p: Double) -> TimeInterval {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

func ms(_ seconds: TimeInterval) -> String { String(format: "%.1f ms", seconds * 1000) }

final class ResultCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [(Int, TimeInterval)] = []
    func add(_ status: Int, _ duration: TimeInterval) { lock.lock(); stored.append((status, duration)); lock.unlock() }
    var values: [(Int, TimeInterval)] { lock.lock(); defer { lock.unlock() }; return stored }
}
