import Foundation
import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

/// Several connections to one database on threads of their own, as the workers of one or more
/// processes (or nodes, on PostgreSQL) have them. Each thread opens its own store and service.
/// Part of the store contract: every race runs on every store.
@Suite("Races on one database")
struct ConcurrencyTests {
    static let threads = 20

    @Test(arguments: StoreKind.all)
    func parallelWrongGuessesAreNeverMoreThanMaxAttemptsEvaluations(_ kind: StoreKind) throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3 }, store: kind)
        try h.send()
        let code = try #require(h.lastCode)
        let wrong = h.wrongCode(for: code)
        let (location, rules, clock) = (h.location, h.rules, h.clock)
        let workerLogs = LogRecorder()
        let outcomes = Locked<[Failure?]>([])

        let finished = runOnThreads(ConcurrencyTests.threads) { index, barrier in
            let service: OTPService
            do {
                service = try Harness.worker(location: location, rules: rules, clock: clock, logs: workerLogs, seed: UInt64(index))
            } catch {
                barrier()
                outcomes.update { $0.append(.unexpected("open: \(error)")) }
                return
            }
            barrier()
            let outcome = failure { try service.verify(CodeRequest(purpose: .verifyPhone, phone: Fixture.phone), code: wrong) }
            outcomes.update { $0.append(outcome) }
        }
        try #require(finished)

        #expect(outcomes.value == Array(repeating: .invalidOrExpiredCode, count: ConcurrencyTests.threads))
        #expect(try h.storedCode()?.attempts == 3)
        // Only a comparison counts as an evaluation; the log names each guess's fate.
        let reasons = workerLogs.entries.filter { $0.metadata["event"] == "otp.verify" }.compactMap { $0.metadata["reason"] }
        #expect(reasons.count == ConcurrencyTests.threads)
        #expect(reasons.filter { $0 == "wrong_code" }.count == 3)
        #expect(reasons.filter { $0 == "locked_out" }.count == ConcurrencyTests.threads - 3)
        #expect(failure { try h.verify(code) } == .invalidOrExpiredCode)
    }

    /// Half the threads present it where its action belongs, half where another action is needed.
    @Test(arguments: StoreKind.all, [nil, "cancel-appointment"] as [String?])
    func tokenPresentedInParallelAdmitsExactlyOnce(_ kind: StoreKind, action: String?) throws {
        let h = try Harness(store: kind)
        let token = try h.stepUpToken(user: "alice", action: action)
        let (location, rules, clock) = (h.location, h.rules, h.clock)
        let logs = LogRecorder()
        let outcomes = Locked<[String]>([])

        let finished = runOnThreads(ConcurrencyTests.threads) { index, barrier in
            let service: OTPService
            do {
                service = try Harness.worker(location: location, rules: rules, clock: clock, logs: logs, seed: UInt64(index))
            } catch {
                barrier()
                outcomes.update { $0.append("open failed: \(error)") }
                return
            }
            barrier()
            var admitted: String?
            let location = index.isMultiple(of: 2) ? action : "change-payout"
            let refusal = failure { admitted = try service.consumeStepUpToken(token, principal: "alice", action: location).user }
            outcomes.update { $0.append(admitted.map { "admitted \($0)" } ?? "\(refusal.map { "\($0)" } ?? "nothing")") }
        }
        try #require(finished)

        let results = outcomes.value
        #expect(results.count == ConcurrencyTests.threads)
        #expect(results.filter { $0 == "admitted alice" }.count == 1)
        #expect(results.filter { $0 == "\(Failure.stepUpDenied)" }.count == ConcurrencyTests.threads - 1)
        #expect(try h.query("SELECT count(*) FROM step_up_tokens WHERE used_at IS NOT NULL") == [["1"]])
    }

    @Test(arguments: StoreKind.all)
    func parallelSendsForOnePhoneDeliverOneSMS(_ kind: StoreKind) throws {
        let h = try Harness(rules: .with { $0.resendCooldownSeconds = 60 }, store: kind)
        let (location, rules, clock) = (h.location, h.rules, h.clock)
        let logs = LogRecorder()
        let outcomes = Locked<[String]>([])

        let finished = runOnThreads(ConcurrencyTests.threads) { index, barrier in
            guard let service = try? Harness.worker(location: location, rules: rules, clock: clock, logs: logs, seed: UInt64(index)) else {
                barrier()
                outcomes.update { $0.append("open failed") }
                return
            }
            barrier()
            var outcome: SendOutcome?
            let refusal = failure { outcome = try service.send(CodeRequest(purpose: .verifyPhone, phone: Fixture.phone)).outcome }
            outcomes.update { $0.append(outcome.map { "\($0)" } ?? "\(refusal.map { "\($0)" } ?? "nothing")") }
        }
        try #require(finished)

        let results = outcomes.value
        #expect(results.count == ConcurrencyTests.threads)
        #expect(results.filter { $0 == "sent" }.count == 1)
        #expect(results.allSatisfy { $0 == "sent" || $0.hasPrefix("suppressed") })
        #expect(try h.storedCode()?.sendCount == 1)
    }
}
