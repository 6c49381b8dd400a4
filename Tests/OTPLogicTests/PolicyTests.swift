import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

/// The pure rule functions, where a record is clearer to state than to produce through sends.
@Suite("Send and verify policies")
struct PolicyTests {
    static let now: UnixTime = 1_800_000_000
    let send = SendPolicy(rules: RulesConfiguration())
    let verify = VerifyPolicy(rules: RulesConfiguration())

    private func record(_ change: (inout CodeRecord) -> Void = { _ in }) -> CodeRecord {
        var record = CodeRecord(phoneHash: "h", purpose: .verifyPhone)
        change(&record)
        return record
    }

    private func live(_ change: (inout CodeRecord) -> Void = { _ in }) -> CodeRecord {
        record {
            $0.codeHash = "right"
            $0.issuedAt = PolicyTests.now - 10
            $0.expiresAt = PolicyTests.now + 590
            $0.lastSentAt = PolicyTests.now - 10
            $0.sendWindowStart = PolicyTests.now - 10
            $0.sendCount = 1
            change(&$0)
        }
    }

    @Test func firstSendIsNeverSuppressed() {
        #expect(send.suppression(of: nil, at: PolicyTests.now) == nil)
    }

    @Test func sendInFlightSuppressesAnotherSendUntilItsLimit() {
        #expect(send.suppression(of: record { $0.pendingSince = PolicyTests.now - 59 }, at: PolicyTests.now) == .sendInFlight)
        #expect(send.suppression(of: record { $0.pendingSince = PolicyTests.now - 60 }, at: PolicyTests.now) == nil)
    }

    @Test func lockoutIsReportedBeforeCooldown() {
        #expect(send.suppression(of: live { $0.attempts = 3 }, at: PolicyTests.now) == .lockedOut)
    }

    @Test func wallClockSetBackKeepsTheCooldown() {
        let stored = live { $0.lastSentAt = PolicyTests.now + 3000; $0.sendWindowStart = PolicyTests.now + 3000 }
        #expect(send.suppression(of: stored, at: PolicyTests.now) == .cooldown)
    }

    @Test func wallClockSetBackKeepsTheHourlyCap() {
        let stored = live { $0.lastSentAt = PolicyTests.now - 120; $0.sendWindowStart = PolicyTests.now + 100; $0.sendCount = 3 }
        #expect(send.suppression(of: stored, at: PolicyTests.now) == .hourlyCap)
    }

    @Test func reserveKeepsTheLiveCode() {
        let reserved = send.reserve(live(), phoneHash: "h", purpose: .verifyPhone, pendingHash: "new", at: PolicyTests.now)
        #expect(reserved.codeHash == "right")
        #expect(reserved.pendingCodeHash == "new")
        #expect(reserved.pendingSince == PolicyTests.now)
        #expect(reserved.sendCount == 1)
    }

    @Test func confirmOfAnotherSendsReservationChangesNothing() {
        let reserved = send.reserve(live(), phoneHash: "h", purpose: .verifyPhone, pendingHash: "theirs", at: PolicyTests.now)
        #expect(send.confirm(reserved, pendingHash: "mine", at: PolicyTests.now) == nil)
        #expect(send.release(reserved, pendingHash: "mine") == nil)
        #expect(send.confirm(nil, pendingHash: "mine", at: PolicyTests.now) == nil)
    }

    @Test func confirmInsideTheWindowCountsOneMoreSend() throws {
        let reserved = send.reserve(live { $0.attempts = 2 }, phoneHash: "h", purpose: .verifyPhone, pendingHash: "new", at: PolicyTests.now)
        let confirmed = try #require(send.confirm(reserved, pendingHash: "new", at: PolicyTests.now))
        #expect(confirmed.codeHash == "new")
        #expect(confirmed.sendCount == 2)
        #expect(confirmed.sendWindowStart == PolicyTests.now - 10)
        #expect(confirmed.attempts == 2)
        #expect(confirmed.expiresAt == PolicyTests.now + 600)
        #expect(confirmed.pendingCodeHash == nil && confirmed.pendingSince == nil)
    }

    @Test func lockedOutGuessIsNotCountedOrStored() {
        let evaluation = verify.evaluate(live { $0.attempts = 3 }, candidateHash: "right", at: PolicyTests.now)
        #expect(evaluation.failure == .lockedOut)
        #expect(evaluation.updated == nil)
    }

    @Test func guessAtAUsedCodeIsNotCounted() {
        let evaluation = verify.evaluate(live { $0.verifiedAt = PolicyTests.now - 5 }, candidateHash: "wrong", at: PolicyTests.now)
        #expect(evaluation.failure == .alreadyUsed)
        #expect(evaluation.updated == nil)
    }

    @Test func lastAllowedWrongGuessReportsTheLockout() {
        let evaluation = verify.evaluate(live { $0.attempts = 2 }, candidateHash: "wrong", at: PolicyTests.now)
        #expect(evaluation.failure == .wrongCode)
        #expect(evaluation.updated?.attempts == 3)
        #expect(evaluation.lockedOutNow)
        #expect(!verify.evaluate(live { $0.attempts = 0 }, candidateHash: "wrong", at: PolicyTests.now).lockedOutNow)
    }

    @Test func pendingCodeNeverVerifies() {
        let stored = record { $0.pendingCodeHash = "pending"; $0.pendingSince = PolicyTests.now }
        #expect(verify.evaluate(stored, candidateHash: "pending", at: PolicyTests.now).failure == .noCode)
    }
}
