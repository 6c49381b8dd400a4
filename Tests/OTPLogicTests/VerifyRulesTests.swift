import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

@Suite("Verify rules")
struct VerifyRulesTests {
    @Test func rightCodeVerifiesThePhone() throws {
        let h = try Harness()
        try h.send()
        #expect(try h.verify(try #require(h.lastCode)) == .phoneVerified)
        let row = try h.storedCode()
        #expect(row?.verifiedAt == Fixture.start)
        #expect(row?.attempts == 0)
    }

    @Test func codeVerifiesAtMostOnce() throws {
        let h = try Harness()
        try h.send()
        let code = try #require(h.lastCode)
        #expect(try h.verify(code) == .phoneVerified)
        #expect(failure { try h.verify(code) } == .invalidOrExpiredCode)
    }

    @Test func wrongCodeCountsAnAttempt() throws {
        let h = try Harness()
        try h.send()
        let wrong = h.wrongCode(for: try #require(h.lastCode))
        #expect(failure { try h.verify(wrong) } == .invalidOrExpiredCode)
        #expect(try h.storedCode()?.attempts == 1)
        #expect(failure { try h.verify(wrong) } == .invalidOrExpiredCode)
        #expect(try h.storedCode()?.attempts == 2)
    }

    @Test func rightCodeFailsDuringLockout() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3 })
        try h.send()
        let code = try #require(h.lastCode)
        for _ in 0..<3 { #expect(failure { try h.verify(h.wrongCode(for: code)) } == .invalidOrExpiredCode) }
        #expect(failure { try h.verify(code) } == .invalidOrExpiredCode)
        #expect(try h.storedCode()?.attempts == 3)
    }

    @Test func rightCodeStillVerifiesAfterOneFewerWrongGuessesThanTheMaximum() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3 })
        try h.send()
        let code = try #require(h.lastCode)
        for _ in 0..<2 { _ = failure { try h.verify(h.wrongCode(for: code)) } }
        #expect(try h.verify(code) == .phoneVerified)
    }

    @Test func guessesDuringLockoutAreNotCounted() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3 })
        try h.send()
        let code = try #require(h.lastCode)
        for _ in 0..<10 { _ = failure { try h.verify(h.wrongCode(for: code)) } }
        #expect(try h.storedCode()?.attempts == 3)
    }

    @Test func lockoutEndsWhenTheCodeExpiresWithoutANewerSend() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3; $0.codeTTLSeconds = 600 })
        try h.send()
        let code = try #require(h.lastCode)
        for _ in 0..<3 { _ = failure { try h.verify(h.wrongCode(for: code)) } }
        h.clock.advance(by: 600)
        #expect(try h.send() == .sent)
        let fresh = try #require(h.lastCode)
        #expect(try h.storedCode()?.attempts == 0)
        // Three fresh guesses: two wrong ones and then the right code.
        for _ in 0..<2 { _ = failure { try h.verify(h.wrongCode(for: fresh)) } }
        #expect(try h.verify(fresh) == .phoneVerified)
    }

    @Test func codeVerifiesOneSecondBeforeItExpires() throws {
        let h = try Harness(rules: .with { $0.codeTTLSeconds = 300 })
        try h.send()
        h.clock.advance(by: 299)
        #expect(try h.verify(try #require(h.lastCode)) == .phoneVerified)
    }

    @Test func codeExpiresAtExactlyIssuedPlusTTL() throws {
        let h = try Harness(rules: .with { $0.codeTTLSeconds = 300 })
        try h.send()
        #expect(try h.storedCode()?.expiresAt == Fixture.start + 300)
        h.clock.advance(by: 300)
        #expect(failure { try h.verify(try #require(h.lastCode)) } == .invalidOrExpiredCode)
    }

    @Test func verifyWithoutAnySendFails() throws {
        let h = try Harness()
        #expect(failure { try h.verify("123456") } == .invalidOrExpiredCode)
        #expect(try h.rows("SELECT count(*) FROM otp_codes") == [["0"]])
    }

    @Test func codeFailsWhenTheClockIsSetBackBeforeItWasIssued() throws {
        let h = try Harness()
        try h.send()
        h.clock.set(Fixture.start - 1)
        #expect(failure { try h.verify(try #require(h.lastCode)) } == .invalidOrExpiredCode)
    }

    @Test func wallClockSetBackDoesNotExtendACodeOnTheBootClock() throws {
        let h = try Harness(rules: .with { $0.codeTTLSeconds = 300 }, bootID: "boot-a")
        try h.send()
        h.clock.advance(by: 250)
        h.clock.set(Fixture.start + 10)
        h.clock.advance(by: 60)
        // Wall clock: 70 s after issue. Boot clock: 310 s.
        #expect(failure { try h.verify(try #require(h.lastCode)) } == .invalidOrExpiredCode)
    }

    @Test func bootClockAdmitsACodeWithinItsLifetime() throws {
        let h = try Harness(rules: .with { $0.codeTTLSeconds = 300 }, bootID: "boot-a")
        try h.send()
        h.clock.advance(by: 299)
        #expect(try h.verify(try #require(h.lastCode)) == .phoneVerified)
    }

    @Test func everyVerificationFailureIsTheSameErrorAndOnlyTheLogTellsThemApart() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 2 })
        var failures: [Failure?] = []
        failures.append(failure { try h.verify("123456") })  // no code
        try h.send()
        let first = try #require(h.lastCode)
        failures.append(failure { try h.verify(h.wrongCode(for: first)) })  // wrong
        try h.verify(first)
        failures.append(failure { try h.verify(first) })  // already used
        h.clock.advance(by: 600)
        failures.append(failure { try h.verify(first) })  // expired
        try h.send()
        let second = try #require(h.lastCode)
        for _ in 0..<2 { failures.append(failure { try h.verify(h.wrongCode(for: second)) }) }
        failures.append(failure { try h.verify(second) })  // locked out
        #expect(failures == Array(repeating: .invalidOrExpiredCode, count: 7))
        let reasons = h.logs.entries.filter { $0.metadata["event"] == "otp.verify" }.compactMap { $0.metadata["reason"] }
        #expect(reasons == ["no_code", "wrong_code", "already_used", "expired", "wrong_code", "wrong_code", "locked_out"])
    }
}
