import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

@Suite("Send rules")
struct SendRulesTests {
    @Test func firstSendDeliversOneSMSWithTheVerifyPhoneText() throws {
        // The constant source makes every code 000042; a 90 s lifetime shows as 2 minutes.
        let h = try Harness(rules: .with { $0.codeTTLSeconds = 90 }, random: ConstantRandom(value: 783_986_623_132_655))
        #expect(try h.send() == .sent)
        let messages = h.sender.delivered
        try #require(messages.count == 1)
        #expect(messages[0].to == Fixture.phone)
        #expect(messages[0].purpose == .verifyPhone)
        #expect(messages[0].body == "Your verification code is 000042. It expires in 2 minutes. Do not share it with anyone.")
    }

    @Test func stepUpSendUsesTheStepUpText() throws {
        let h = try Harness(rules: .with { $0.codeTTLSeconds = 90 }, random: ConstantRandom(value: 783_986_623_132_655))
        try h.givePhone(to: "alice")
        #expect(try h.send(Fixture.phone, .stepUp, user: "alice") == .sent)
        let messages = h.sender.delivered
        try #require(messages.count == 1)
        #expect(messages[0].purpose == .stepUp)
        #expect(
            messages[0].body
                == "000042 is your code to confirm a sensitive action on your account. It expires in 2 minutes. Never share it: we will never ask you for it."
        )
    }

    @Test func sentCodeVerifies() throws {
        let h = try Harness()
        try h.send()
        let code = try #require(h.lastCode)
        #expect(try h.verify(code) == .phoneVerified)
    }

    @Test func cooldownSuppressesASecondSendWithoutAnSMS() throws {
        let h = try Harness(rules: .with { $0.resendCooldownSeconds = 60 })
        try h.send()
        h.clock.advance(by: 59)
        #expect(try h.send() == .suppressed(.cooldown))
        #expect(h.sender.attempted.count == 1)
    }

    @Test func sendIsAllowedAgainExactlyWhenTheCooldownEnds() throws {
        let h = try Harness(rules: .with { $0.resendCooldownSeconds = 60 })
        try h.send()
        h.clock.advance(by: 60)
        #expect(try h.send() == .sent)
        #expect(h.sender.delivered.count == 2)
    }

    @Test func resendReplacesThePreviousCode() throws {
        let h = try Harness()
        try h.send()
        let first = try #require(h.lastCode)
        h.clock.advance(by: 60)
        try h.send()
        let second = try #require(h.lastCode)
        try #require(first != second)
        #expect(failure { try h.verify(first) } == .invalidOrExpiredCode)
        #expect(try h.verify(second) == .phoneVerified)
    }

    @Test func fourthSendInTheHourIsSuppressedByTheCap() throws {
        let h = try Harness(rules: .with { $0.resendCooldownSeconds = 0; $0.maxSendsPerHour = 3 })
        for _ in 0..<3 {
            #expect(try h.send() == .sent)
            h.clock.advance(by: 10)
        }
        #expect(try h.send() == .suppressed(.hourlyCap))
        h.clock.set(Fixture.start + 3599)
        #expect(try h.send() == .suppressed(.hourlyCap))
        #expect(h.sender.attempted.count == 3)
    }

    @Test func capWindowResetsAnHourAfterItOpened() throws {
        let h = try Harness(rules: .with { $0.resendCooldownSeconds = 0; $0.maxSendsPerHour = 3 })
        for _ in 0..<3 {
            try h.send()
            h.clock.advance(by: 10)
        }
        #expect(try h.storedCode()?.sendCount == 3)
        h.clock.set(Fixture.start + 3600)
        #expect(try h.send() == .sent)
        let row = try #require(try h.storedCode())
        #expect(row.sendCount == 1)
        #expect(row.sendWindowStart == Fixture.start + 3600)
        #expect(h.sender.delivered.count == 4)
    }

    @Test func lockoutSuppressesSendsUntilTheCodeExpires() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3; $0.codeTTLSeconds = 600 })
        try h.send()
        let code = try #require(h.lastCode)
        for _ in 0..<3 { _ = failure { try h.verify(h.wrongCode(for: code)) } }
        h.clock.set(Fixture.start + 60)
        #expect(try h.send() == .suppressed(.lockedOut))
        h.clock.set(Fixture.start + 599)
        #expect(try h.send() == .suppressed(.lockedOut))
        #expect(h.sender.attempted.count == 1)
        h.clock.set(Fixture.start + 600)
        #expect(try h.send() == .sent)
        #expect(try h.verify(try #require(h.lastCode)) == .phoneVerified)
    }

    @Test func resendDoesNotResetFailedAttempts() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3 })
        try h.send()
        let first = try #require(h.lastCode)
        for _ in 0..<2 { #expect(failure { try h.verify(h.wrongCode(for: first)) } == .invalidOrExpiredCode) }
        h.clock.advance(by: 60)
        #expect(try h.send() == .sent)
        let second = try #require(h.lastCode)
        #expect(try h.storedCode()?.attempts == 2)
        #expect(failure { try h.verify(h.wrongCode(for: second)) } == .invalidOrExpiredCode)
        #expect(try h.storedCode()?.attempts == 3)
        #expect(failure { try h.verify(second) } == .invalidOrExpiredCode)
    }

    @Test func verifyPhoneCodeDoesNotVerifyStepUp() throws {
        let h = try Harness()
        try h.givePhone(to: "alice")
        try h.send(Fixture.phone, .verifyPhone)
        let code = try #require(h.lastCode)
        #expect(failure { try h.verify(code, Fixture.phone, .stepUp, user: "alice") } == .invalidOrExpiredCode)
        #expect(try h.verify(code, Fixture.phone, .verifyPhone) == .phoneVerified)
    }

    @Test func purposesHaveSeparateCountersAndCooldowns() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3 })
        try h.givePhone(to: "alice")
        try h.send(Fixture.phone, .verifyPhone)
        let phoneCode = try #require(h.lastCode)
        for _ in 0..<3 { _ = failure { try h.verify(h.wrongCode(for: phoneCode)) } }
        // No cooldown and no lockout carried over from verify_phone.
        #expect(try h.send(Fixture.phone, .stepUp, user: "alice") == .sent)
        let stepUpCode = try #require(h.lastCode)
        #expect(try h.storedCode(Fixture.phone, .stepUp)?.attempts == 0)
        guard case .stepUpGranted = try h.verify(stepUpCode, Fixture.phone, .stepUp, user: "alice") else {
            Issue.record("step_up code did not verify")
            return
        }
        #expect(try h.storedCode(Fixture.phone, .verifyPhone)?.attempts == 3)
    }

    @Test func phonesHaveSeparateCooldowns() throws {
        let h = try Harness()
        try h.send(Fixture.phone)
        #expect(try h.send(Fixture.otherPhone) == .sent)
        #expect(h.sender.delivered.map(\.to) == [Fixture.phone, Fixture.otherPhone])
    }

    @Test func stepUpSendWithoutAUserIsRefusedAndLeavesNoTrace() throws {
        let h = try Harness()
        #expect(failure { try h.send(Fixture.phone, .stepUp, user: nil) } == .notAuthenticated)
        #expect(h.sender.attempted.isEmpty)
        #expect(try h.rows("SELECT count(*) FROM otp_codes") == [["0"]])
    }
}
