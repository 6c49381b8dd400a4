import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

@Suite("SMS provider failures")
struct ProviderFailureTests {
    static let outage = SMSError.unavailable(.status(503), retryAfterSeconds: 17)

    @Test func unavailableProviderMakesSendFailWithItsRetryAfter() throws {
        let h = try Harness()
        h.sender.failNextSend(with: ProviderFailureTests.outage)
        #expect(failure { try h.send() } == .smsUnavailable(retryAfter: 17))
        #expect(h.sender.attempted.count == 1)
        #expect(h.sender.delivered.isEmpty)
    }

    @Test func failedSendStartsNoCooldown() throws {
        let h = try Harness(rules: .with { $0.resendCooldownSeconds = 60 })
        h.sender.failNextSend(with: ProviderFailureTests.outage)
        _ = failure { try h.send() }
        #expect(try h.send() == .sent)
        #expect(h.sender.delivered.count == 1)
    }

    @Test func failedSendLeavesNoPendingReservation() throws {
        let h = try Harness()
        h.sender.failNextSend(with: ProviderFailureTests.outage)
        _ = failure { try h.send() }
        let row = try h.storedCode()
        #expect(row?.pendingCodeHash == nil)
        #expect(row?.lastSentAt == nil)
        #expect(row?.codeHash == nil)
    }

    @Test func failedSendDoesNotCountTowardTheHourlyCap() throws {
        let h = try Harness(rules: .with { $0.resendCooldownSeconds = 0; $0.maxSendsPerHour = 3 })
        try h.send()
        try h.send()
        #expect(try h.storedCode()?.sendCount == 2)
        h.sender.failNextSend(with: ProviderFailureTests.outage)
        _ = failure { try h.send() }
        #expect(try h.storedCode()?.sendCount == 2)
        #expect(try h.send() == .sent)
        #expect(try h.storedCode()?.sendCount == 3)
        #expect(try h.send() == .suppressed(.hourlyCap))
    }

    @Test func codeFromAFailedSendNeverVerifies() throws {
        let h = try Harness()
        h.sender.failNextSend(with: ProviderFailureTests.outage)
        _ = failure { try h.send() }
        let undelivered = try #require(h.sender.attempted.last.flatMap { h.code(in: $0.body) })
        #expect(failure { try h.verify(undelivered) } == .invalidOrExpiredCode)
    }

    @Test func earlierDeliveredCodeStillVerifiesAfterAFailedResend() throws {
        let h = try Harness()
        try h.send()
        let delivered = try #require(h.lastCode)
        h.clock.advance(by: 60)
        h.sender.failNextSend(with: ProviderFailureTests.outage)
        _ = failure { try h.send() }
        let undelivered = try #require(h.sender.attempted.last.flatMap { h.code(in: $0.body) })
        try #require(undelivered != delivered)
        let before = try h.storedCode()
        #expect(before?.issuedAt == Fixture.start)
        #expect(before?.expiresAt == Fixture.start + 600)
        #expect(failure { try h.verify(undelivered) } == .invalidOrExpiredCode)
        #expect(try h.verify(delivered) == .phoneVerified)
    }

    @Test func recipientThatCannotReceiveSMSIsReported() throws {
        let h = try Harness()
        h.sender.failNextSend(with: .recipientCannotReceive(providerCode: 21610))
        #expect(failure { try h.send() } == .recipientCannotReceiveSMS)
        #expect(try h.send() == .sent)
    }

    @Test func misconfiguredProviderIsReportedAsUnavailable() throws {
        let h = try Harness()
        h.sender.failNextSend(with: .misconfigured(providerCode: 21703, retryAfterSeconds: 300))
        #expect(failure { try h.send() } == .smsUnavailable(retryAfter: 300))
    }

    @Test func rejectedCredentialsAreReportedAsUnavailable() throws {
        let h = try Harness()
        h.sender.failNextSend(with: .credentialsRejected(retryAfterSeconds: 120))
        #expect(failure { try h.send() } == .smsUnavailable(retryAfter: 120))
        #expect(try h.storedCode()?.pendingCodeHash == nil)
    }
}
