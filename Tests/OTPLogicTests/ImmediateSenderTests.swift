import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

/// The same send rules when the sender delivers locally and at once (the file sink), which the
/// service runs in one transaction: decide, deliver, record.
@Suite("Sends in one transaction")
struct ImmediateSenderTests {
    @Test func deliveredCodeVerifies() throws {
        let h = try Harness(immediateSender: true)
        #expect(try h.send() == .sent)
        #expect(h.sender.delivered.count == 1)
        #expect(try h.verify(try #require(h.lastCode)) == .phoneVerified)
    }

    @Test func cooldownSuppressesTheSecondSendWithoutSMS() throws {
        let h = try Harness(rules: .with { $0.resendCooldownSeconds = 60 }, immediateSender: true)
        #expect(try h.send() == .sent)
        h.clock.advance(by: 59)
        #expect(try h.send() == .suppressed(.cooldown))
        #expect(h.sender.attempted.count == 1)
        h.clock.advance(by: 1)
        #expect(try h.send() == .sent)
    }

    @Test func failedDeliveryChangesNothing() throws {
        let h = try Harness(rules: .with { $0.resendCooldownSeconds = 60 }, immediateSender: true)
        #expect(try h.send() == .sent)
        let earlier = try #require(h.lastCode)
        let before = try h.storedCode()
        h.clock.advance(by: 60)
        h.sender.failNextSend(with: .unavailable(.sinkWriteFailed(errno: 28), retryAfterSeconds: 30))
        #expect(failure { try h.send() } == .smsUnavailable(retryAfter: 30))
        #expect(try h.storedCode() == before, "no cooldown, no cap count, no new code")
        let undelivered = try #require(h.sender.attempted.last.flatMap { h.code(in: $0.body) })
        if undelivered != earlier {
            #expect(failure { try h.verify(undelivered) } == .invalidOrExpiredCode)
        }
        #expect(try h.send() == .sent, "the retry goes out at once")
        #expect(try h.verify(try #require(h.lastCode)) == .phoneVerified)
    }

    @Test func sendDuringLockoutIsSuppressed() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3; $0.resendCooldownSeconds = 0 }, immediateSender: true)
        #expect(try h.send() == .sent)
        let code = try #require(h.lastCode)
        for _ in 0..<3 { _ = failure { try h.verify(h.wrongCode(for: code)) } }
        #expect(try h.send() == .suppressed(.lockedOut))
        #expect(h.sender.attempted.count == 1)
    }
}
