import Foundation
import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

@Suite("verify_phone side effects")
struct PhoneVerificationTests {
    @Test func verificationWithAUserCreatesTheUsersRow() throws {
        let h = try Harness()
        try h.send()
        h.clock.advance(by: 30)
        try h.verify(try #require(h.lastCode), user: "alice")
        let rows = try h.rows("SELECT user_id, phone_e164, phone_verified, phone_verified_at FROM users")
        #expect(rows == [["alice", "+14155550123", "1", String(Fixture.start + 30)]])
    }

    @Test func secondVerificationWithAnotherPhoneAndAChangePhoneTokenUpdatesTheUsersRow() throws {
        let h = try Harness()
        try h.send(Fixture.phone)
        try h.verify(try #require(h.lastCode), Fixture.phone, user: "alice")
        h.clock.advance(by: 1000)
        let token = try h.stepUpToken(user: "alice", action: StepUpActions.changePhone)
        try h.send(Fixture.otherPhone)
        try h.verify(try #require(h.lastCode), Fixture.otherPhone, user: "alice", stepUpToken: token)
        let rows = try h.rows("SELECT user_id, phone_e164, phone_verified, phone_verified_at FROM users")
        #expect(rows == [["alice", "+447700900123", "1", String(Fixture.start + 1000)]])
    }

    @Test func verificationWithoutAUserWritesNoUsersRow() throws {
        let h = try Harness()
        try h.send()
        try h.verify(try #require(h.lastCode), user: nil)
        #expect(try h.rows("SELECT count(*) FROM users") == [["0"]])
    }

    @Test func failedVerificationWritesNoUsersRow() throws {
        let h = try Harness()
        try h.send()
        _ = failure { try h.verify(h.wrongCode(for: try #require(h.lastCode)), user: "alice") }
        #expect(try h.rows("SELECT count(*) FROM users") == [["0"]])
    }

    @Test func stepUpVerificationChangesNoUsersRow() throws {
        let h = try Harness()
        try h.givePhone(to: "alice")
        let before = try h.rows("SELECT * FROM users")
        h.clock.advance(by: 100)
        _ = try h.stepUpToken(user: "alice")
        #expect(try h.rows("SELECT * FROM users") == before)
    }

    @Test(arguments: [nil, "alice"] as [String?])
    func matchingNotificationPreferencesAreMarkedVerified(user: String?) throws {
        let h = try Harness()
        try SQLiteFile.execute(h.dbPath, """
            INSERT INTO notification_preferences (id, user_id, sms_phone_number, sms_phone_verified) VALUES
              (1, 'alice', '+14155550123', 0), (2, 'bob', '+14155550123', 0),
              (3, 'carol', '+447700900123', 0), (4, 'dave', NULL, 0);
            """)
        try h.send()
        try h.verify(try #require(h.lastCode), user: user)
        let rows = try h.rows("SELECT id, sms_phone_verified FROM notification_preferences ORDER BY id")
        #expect(rows == [["1", "1"], ["2", "1"], ["3", "0"], ["4", "0"]])
    }

    @Test func failedVerificationLeavesNotificationPreferencesAlone() throws {
        let h = try Harness()
        try SQLiteFile.execute(h.dbPath, "INSERT INTO notification_preferences (user_id, sms_phone_number) VALUES ('alice', '+14155550123')")
        try h.send()
        _ = failure { try h.verify(h.wrongCode(for: try #require(h.lastCode))) }
        #expect(try h.rows("SELECT sms_phone_verified FROM notification_preferences") == [["0"]])
    }
}

@Suite("Secrets at rest")
struct SecretsAtRestTests {
    /// Sends and verifies for both purposes without writing the phone where it legitimately goes
    /// (`users`, `notification_preferences`); returns every code that was generated.
    private func exercise(_ h: Harness) throws -> [String] {
        try h.send(Fixture.phone, .verifyPhone)
        let first = try #require(h.lastCode)
        _ = failure { try h.verify(h.wrongCode(for: first)) }
        h.clock.advance(by: 60)
        try h.send(Fixture.phone, .verifyPhone)
        let second = try #require(h.lastCode)
        try h.verify(second)
        // alice's phone on record (a raw phone in users, as the SPEC has it) is not the one scanned for.
        try h.givePhone(Fixture.otherPhone, to: "alice")
        _ = try h.stepUpToken(user: "alice")
        let third = try #require(h.lastCode)
        h.clock.advance(by: 60)
        h.sender.failNextSend(with: .unavailable(.unreachable, retryAfterSeconds: 5))
        _ = failure { try h.send(Fixture.phone, .verifyPhone) }
        let undelivered = try #require(h.sender.attempted.last.flatMap { h.code(in: $0.body) })
        return [first, second, third, undelivered]
    }

    @Test func otpCodesRowsHoldNeitherThePhoneNorACode() throws {
        let h = try Harness()
        let codes = try exercise(h)
        let rows = try h.rows("SELECT * FROM otp_codes")
        #expect(rows.count == 2)
        let cells = rows.flatMap { $0 }.compactMap { $0 }
        #expect(cells.contains(h.hasher.phoneHash(Fixture.phone)))
        for cell in cells {
            #expect(!cell.contains(Fixture.phoneDigits))
            for code in codes { #expect(!cell.contains(code)) }
        }
    }

    @Test func databaseFilesHoldNeitherThePhoneNorACode() throws {
        let h = try Harness()
        let codes = try exercise(h)
        let bytes = SQLiteFile.rawBytes(h.dbPath)
        #expect(bytes.contains(text: h.hasher.phoneHash(Fixture.phone)))  // the scan does see what was written
        #expect(!bytes.contains(text: Fixture.phoneDigits))
        for code in codes { #expect(!bytes.contains(text: code), "code found in the database files") }
    }

    @Test func logsHoldNeitherThePhoneNorACodeNorAToken() throws {
        let h = try Harness()
        let codes = try exercise(h)
        let token = try h.stepUpToken(user: "bob")
        _ = try h.service.consumeStepUpToken(token, user: "bob")
        _ = failure { try h.service.consumeStepUpToken(token, user: "bob") }
        let text = h.logs.allText
        #expect(text.contains(SecretHasher.logReference(phoneHash: h.hasher.phoneHash(Fixture.phone))))
        #expect(!text.contains(Fixture.phoneDigits))
        #expect(!text.contains(token))
        #expect(!text.contains(Fixture.pepper))
        for code in codes + [try #require(h.lastCode)] { #expect(!text.contains(code), "code found in the log") }
    }
}
