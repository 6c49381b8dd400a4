import Foundation
import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

@Suite("Step-up tokens")
struct StepUpTokenTests {
    @Test func stepUpVerificationReturnsAWellFormedToken() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        #expect(token.utf8.count == 43)
        #expect(Base64URL.isEncodedToken(token))
    }

    @Test func stepUpVerificationWithoutAUserIsRefused() throws {
        let h = try Harness()
        try h.givePhone(to: "alice")
        try h.send(Fixture.phone, .stepUp, user: "alice")
        let code = try #require(h.lastCode)
        #expect(failure { try h.verify(code, Fixture.phone, .stepUp, user: nil) } == .notAuthenticated)
        // The refusal did not use the code up.
        guard case .stepUpGranted = try h.verify(code, Fixture.phone, .stepUp, user: "alice") else {
            Issue.record("code no longer verifies")
            return
        }
    }

    @Test func databaseStoresOnlyTheSHA256OfTheToken() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        let rows = try h.rows("SELECT token_hash, user_id, created_at, expires_at, used_at FROM step_up_tokens")
        #expect(rows == [[h.hasher.tokenHash(token), "alice", String(Fixture.start), String(Fixture.start + 300), nil]])
        #expect(h.hasher.tokenHash(token).utf8.count == 64)
    }

    @Test func rawTokenAppearsNowhereInTheDatabaseFiles() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        let bytes = SQLiteFile.rawBytes(h.dbPath)
        #expect(!bytes.isEmpty)
        #expect(bytes.contains(text: h.hasher.tokenHash(token)))  // the scan does see what was written
        #expect(!bytes.contains(text: token))
        #expect(!bytes.contains(text: String(token.prefix(20))))
    }

    @Test func tokenAdmitsItsUserOnce() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        #expect(try h.service.consumeStepUpToken(token, user: "alice") == "alice")
        #expect(failure { try h.service.consumeStepUpToken(token, user: "alice") } == .stepUpDenied)
        #expect(try h.rows("SELECT used_at FROM step_up_tokens") == [[String(Fixture.start)]])
    }

    @Test func tokenIsRefusedForAnotherUserAndStaysValidForItsOwn() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        #expect(failure { try h.service.consumeStepUpToken(token, user: "bob") } == .stepUpDenied)
        #expect(try h.service.consumeStepUpToken(token, user: "alice") == "alice")
    }

    @Test func tokenIsRefusedWithoutAUser() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        #expect(failure { try h.service.consumeStepUpToken(token, user: nil) } == .stepUpDenied)
        #expect(try h.service.consumeStepUpToken(token, user: "alice") == "alice")
    }

    @Test func missingTokenIsRefused() throws {
        let h = try Harness()
        _ = try h.stepUpToken(user: "alice")
        #expect(failure { try h.service.consumeStepUpToken(nil, user: "alice") } == .stepUpDenied)
    }

    @Test func unknownTokenIsRefused() throws {
        let h = try Harness()
        _ = try h.stepUpToken(user: "alice")
        #expect(failure { try h.service.consumeStepUpToken("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", user: "alice") } == .stepUpDenied)
    }

    @Test func malformedTokenIsRefused() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        for malformed in [token + "=", String(token.dropLast()), token + "A", " " + token, "+" + token.dropFirst()] {
            #expect(failure { try h.service.consumeStepUpToken(malformed, user: "alice") } == .stepUpDenied)
        }
        #expect(try h.service.consumeStepUpToken(token, user: "alice") == "alice")
    }

    @Test func tokenIsAcceptedOneSecondBeforeItExpires() throws {
        let h = try Harness(rules: .with { $0.stepUpTokenTTLSeconds = 300 })
        let token = try h.stepUpToken()
        h.clock.advance(by: 299)
        #expect(try h.service.consumeStepUpToken(token, user: "alice") == "alice")
    }

    @Test func tokenIsRefusedAtExactlyCreatedPlusTTL() throws {
        let h = try Harness(rules: .with { $0.stepUpTokenTTLSeconds = 300 })
        let token = try h.stepUpToken()
        h.clock.advance(by: 300)
        #expect(failure { try h.service.consumeStepUpToken(token, user: "alice") } == .stepUpDenied)
    }

    @Test func tokenIsRefusedWhenTheClockIsSetBackBeforeItWasCreated() throws {
        let h = try Harness()
        let token = try h.stepUpToken()
        h.clock.set(Fixture.start - 1)
        #expect(failure { try h.service.consumeStepUpToken(token, user: "alice") } == .stepUpDenied)
    }

    @Test func wallClockSetBackDoesNotExtendATokenOnTheBootClock() throws {
        let h = try Harness(rules: .with { $0.stepUpTokenTTLSeconds = 300 }, bootID: "boot-a")
        let token = try h.stepUpToken()
        h.clock.advance(by: 250)
        h.clock.set(Fixture.start + 10)
        h.clock.advance(by: 60)
        // Wall clock: 70 s after creation. Boot clock: 310 s.
        #expect(failure { try h.service.consumeStepUpToken(token, user: "alice") } == .stepUpDenied)
    }

    @Test func tokenFollowsTheWallClockAfterAReboot() throws {
        let h = try Harness(rules: .with { $0.stepUpTokenTTLSeconds = 300 }, bootID: "boot-a")
        let token = try h.stepUpToken()
        h.clock.advance(by: 100)
        h.clock.reboot(as: "boot-b")
        #expect(try h.service.consumeStepUpToken(token, user: "alice") == "alice")
    }

    @Test func eachVerificationMintsADifferentToken() throws {
        let h = try Harness()
        let first = try h.stepUpToken()
        h.clock.advance(by: 60)
        let second = try h.stepUpToken()
        #expect(first != second)
        #expect(try h.service.consumeStepUpToken(second, user: "alice") == "alice")
        #expect(try h.service.consumeStepUpToken(first, user: "alice") == "alice")
    }
}
