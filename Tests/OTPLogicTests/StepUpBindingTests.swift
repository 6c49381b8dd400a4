import Testing
@testable import OTPLogic
@testable import OTPSQLite
import TestSupport

/// Step-up proves the account owner (SPEC, "Step-up: what it proves"): the phone on record, the
/// user, one action; delegation; a phone change that needs the old phone.
@Suite("Step-up binding")
struct StepUpBindingTests {
    static let mallorysPhone = PhoneNumber("+14155550666")!

    @Test func stolenPasswordWithTheThiefsPhoneIsRefusedAndSendsNothing() throws {
        let h = try Harness()
        try h.givePhone(Fixture.phone, to: "alice")
        #expect(failure { try h.send(StepUpBindingTests.mallorysPhone, .stepUp, user: "alice") } == .notThePhoneOnRecord)
        #expect(h.sender.attempted.isEmpty)
        #expect(try h.rows("SELECT count(*) FROM otp_codes") == [["0"]])
        let response = h.post("/api/otp/send", RequestJSON.send("+14155550666", "step_up"), principal: .user("alice"))
        #expect(response.status == 422)
        #expect(response.body == #"{"detail": "phone_e164 is not the verified phone of this account"}"#)
    }

    @Test func withoutAPhoneFieldTheCodeGoesToThePhoneOnRecordAndTheAnswerHintsAtIt() throws {
        let h = try Harness()
        try h.givePhone(Fixture.phone, to: "alice")
        let response = h.post("/api/otp/send", #"{"purpose": "step_up"}"#, principal: .user("alice"))
        #expect(response.status == 200)
        #expect(response.body == #"{"status": "sent", "phone_hint": "…0123"}"#)
        #expect(h.sender.delivered.map(\.to) == [Fixture.phone])
    }

    @Test func suppressedStepUpSendAnswersTheSame() throws {
        let h = try Harness()
        try h.givePhone(Fixture.phone, to: "alice")
        let first = h.post("/api/otp/send", #"{"purpose": "step_up"}"#, principal: .user("alice"))
        let second = h.post("/api/otp/send", #"{"purpose": "step_up"}"#, principal: .user("alice"))
        #expect(first == second)
        #expect(h.sender.delivered.count == 1)
    }

    @Test func accountWithoutAVerifiedPhoneGetsConflictAndNoSMS() throws {
        let h = try Harness()
        let response = h.post("/api/otp/send", #"{"purpose": "step_up"}"#, principal: .user("alice"))
        #expect(response.status == 409)
        #expect(response.body == #"{"detail": "This account has no verified phone"}"#)
        #expect(h.sender.attempted.isEmpty)
        let verify = h.post("/api/otp/verify", #"{"purpose": "step_up", "code": "123456"}"#, principal: .user("alice"))
        #expect(verify.status == 409)
    }

    @Test func anotherUserCannotRedeemTheCodeNorSpendItsAttempts() throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3 })
        try h.givePhone(Fixture.phone, to: "alice")
        try h.givePhone(Fixture.phone, to: "bob")  // a shared family phone: bob may even know alice's code
        try h.send(nil, .stepUp, user: "alice")
        let code = try #require(h.lastCode)
        for _ in 0..<5 { #expect(failure { try h.verify(code, nil, .stepUp, user: "bob") } == .invalidOrExpiredCode) }
        #expect(try h.storedCode(Fixture.phone, .stepUp)?.attempts == 0)
        #expect(h.logs.values(of: "reason").filter { $0 == "no_code" }.count == 5)
        guard case .stepUpGranted(let token) = try h.verify(code, nil, .stepUp, user: "alice") else {
            Issue.record("alice's code no longer verifies")
            return
        }
        #expect(try h.service.consumeStepUpToken(token, user: "alice") == "alice")
    }

    @Test func stepUpCountersArePerUserAndPhone() throws {
        let h = try Harness(rules: .with { $0.maxSendsPerHour = 1; $0.resendCooldownSeconds = 0 })
        try h.givePhone(Fixture.phone, to: "alice")
        try h.givePhone(Fixture.phone, to: "bob")
        #expect(try h.send(nil, .stepUp, user: "bob") == .sent)
        #expect(try h.send(nil, .stepUp, user: "bob") == .suppressed(.hourlyCap))
        // bob's cap on the shared phone is not alice's.
        #expect(try h.send(nil, .stepUp, user: "alice") == .sent)
        #expect(try h.rows("SELECT owner FROM otp_codes WHERE purpose = 'step_up' ORDER BY owner") == [["alice"], ["bob"]])
    }

    @Test func unknownActionIsRefusedBeforeAnySMS() throws {
        let h = try Harness()
        try h.givePhone(Fixture.phone, to: "alice")
        #expect(failure { try h.send(nil, .stepUp, user: "alice", action: "delete-everything") } == .unknownAction)
        #expect(h.sender.attempted.isEmpty)
        let response = h.post("/api/otp/send", #"{"purpose": "step_up", "action": "delete-everything"}"#, principal: .user("alice"))
        #expect(response.status == 422)
    }

    @Test func theSMSSaysWhatTheCodeApprovesAndTheTokenRecordsIt() throws {
        let h = try Harness()
        try h.givePhone(Fixture.phone, to: "alice")
        try h.send(nil, .stepUp, user: "alice", action: "cancel-appointment")
        let body = try #require(h.sender.delivered.last?.body)
        #expect(body.contains("is your code to cancel your appointment."))
        guard case .stepUpGranted(let token) = try h.verify(try #require(h.lastCode), nil, .stepUp, user: "alice", action: "cancel-appointment") else {
            Issue.record("no token")
            return
        }
        #expect(try h.store.stepUpToken(hash: h.hasher.tokenHash(token))?.action == "cancel-appointment")
    }

    @Test func codeForOneActionDoesNotVerifyForAnotherAndCountsNoAttempt() throws {
        let h = try Harness()
        try h.givePhone(Fixture.phone, to: "alice")
        try h.send(nil, .stepUp, user: "alice", action: "cancel-appointment")
        let code = try #require(h.lastCode)
        #expect(failure { try h.verify(code, nil, .stepUp, user: "alice", action: "change-payout") } == .invalidOrExpiredCode)
        #expect(failure { try h.verify(code, nil, .stepUp, user: "alice") } == .invalidOrExpiredCode)
        #expect(try h.storedCode(Fixture.phone, .stepUp)?.attempts == 0)
        #expect(h.logs.values(of: "reason").filter { $0 == "other_action" }.count == 2)
        #expect(throws: Never.self) { try h.verify(code, nil, .stepUp, user: "alice", action: "cancel-appointment") }
    }

    @Test func tokenRefusedForItsActionIsNotSpentAndStillWorksWhereItBelongs() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice", action: "cancel-appointment")
        let elsewhere = h.stepUpCheck(token: token, principal: .user("alice"), action: "change-payout")
        #expect(elsewhere.status == 401)
        #expect(elsewhere.header("WWW-Authenticate") == #"OTP-Step-Up action="change-payout""#)
        let noAction = h.stepUpCheck(token: token, principal: .user("alice"))
        #expect(noAction.status == 401)
        #expect(noAction.header("WWW-Authenticate") == "OTP-Step-Up")
        #expect(h.logs.values(of: "reason").filter { $0 == "other_action" }.count == 2)
        #expect(h.stepUpCheck(token: token, principal: .user("alice"), action: "cancel-appointment").status == 204)
        #expect(h.stepUpCheck(token: token, principal: .user("alice"), action: "cancel-appointment").status == 401)
    }

    @Test func tokenWithoutActionIsRefusedWhereAnActionIsNeeded() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        #expect(h.stepUpCheck(token: token, principal: .user("alice"), action: "cancel-appointment").status == 401)
        #expect(h.stepUpCheck(token: token, principal: .user("alice")).status == 204)
    }

    @Test func locationAskingForAnUnlistedActionRefusesAndLogsAConfigurationError() throws {
        let h = try Harness()
        let token = try h.stepUpToken(user: "alice")
        #expect(h.stepUpCheck(token: token, principal: .user("alice"), action: "typo-action").status == 401)
        #expect(h.logs.values(of: "event").contains("config_error"))
        #expect(h.stepUpCheck(token: token, principal: .user("alice")).status == 204)
    }

    @Test func delegateActsForASubjectOnTheSubjectsPhoneAndToken() throws {
        let h = try Harness()
        try h.givePhone(Fixture.phone, to: "patient")
        try h.send(nil, .stepUp, user: "agent", action: "cancel-appointment", subject: "patient")
        #expect(h.sender.delivered.map(\.to) == [Fixture.phone])
        let code = try #require(h.lastCode)
        guard case .stepUpGranted(let token) = try h.verify(code, nil, .stepUp, user: "agent", action: "cancel-appointment", subject: "patient") else {
            Issue.record("no token")
            return
        }
        #expect(try h.store.stepUpToken(hash: h.hasher.tokenHash(token))?.userID == "patient")
        let entries = h.logs.entries.filter { $0.metadata["event"] == "otp.send" }
        #expect(entries.contains { $0.metadata["user"] == "patient" && $0.metadata["delegate"] == "agent" })
        // The agent presents it for the patient; the patient's own principal could too, nobody else.
        #expect(h.stepUpCheck(token: token, principal: .user("mallory"), action: "cancel-appointment").status == 401)
        let admitted = h.stepUpCheck(token: token, principal: .user("agent"), action: "cancel-appointment", subject: "patient")
        #expect(admitted.status == 204)
        #expect(admitted.header("X-Step-Up-User") == "patient")
        #expect(admitted.header("X-Step-Up-Delegate") == "agent")
    }

    @Test func subjectFromAnyoneButADelegateIsForbidden() throws {
        let h = try Harness()
        try h.givePhone(Fixture.phone, to: "patient")
        #expect(failure { try h.send(nil, .stepUp, user: "mallory", subject: "patient") } == .notADelegate)
        #expect(h.sender.attempted.isEmpty)
        let send = h.post("/api/otp/send", #"{"purpose": "step_up", "subject": "patient"}"#, principal: .user("mallory"))
        #expect(send.status == 403)
        let token = try h.stepUpToken(user: "patient")
        #expect(h.stepUpCheck(token: token, principal: .user("mallory"), subject: "patient").status == 403)
        #expect(h.stepUpCheck(token: token, principal: .user("patient")).status == 204)
    }

    @Test func actionAndSubjectAreOnlyForStepUp() throws {
        let h = try Harness()
        #expect(h.post("/api/otp/send", #"{"phone_e164": "+14155550123", "purpose": "verify_phone", "action": "cancel-appointment"}"#).status == 422)
        #expect(h.post("/api/otp/send", #"{"phone_e164": "+14155550123", "purpose": "verify_phone", "subject": "x"}"#).status == 422)
        #expect(h.post("/api/otp/send", #"{"purpose": "verify_phone"}"#).status == 422)
        #expect(h.sender.attempted.isEmpty)
    }
}

@Suite("Changing the verified phone")
struct PhoneChangeTests {
    /// alice has Fixture.phone on record and a fresh verify_phone code for Fixture.otherPhone.
    private func aliceWantsANewPhone() throws -> (Harness, String) {
        let h = try Harness()
        try h.givePhone(Fixture.phone, to: "alice")
        try h.send(Fixture.otherPhone, .verifyPhone)
        return (h, try #require(h.lastCode))
    }

    private func expectUnchanged(_ h: Harness, code: String) throws {
        #expect(try h.store.verifiedPhone(userID: "alice") == Fixture.phone)
        #expect(try h.storedCode(Fixture.otherPhone, .verifyPhone)?.verifiedAt == nil)
        #expect(try h.storedCode(Fixture.otherPhone, .verifyPhone)?.attempts == 0)
    }

    @Test func withoutATokenItIsForbiddenWithTheChallengeAndChangesNothing() throws {
        let (h, code) = try aliceWantsANewPhone()
        let response = h.post("/api/otp/verify", RequestJSON.verify(code, "+447700900123"), principal: .user("alice"))
        #expect(response.status == 403)
        #expect(response.body == #"{"detail": "Changing the verified phone needs a step-up with the current phone", "step_up": "required", "action": "change-phone"}"#)
        #expect(response.header("WWW-Authenticate") == #"OTP-Step-Up action="change-phone""#)
        try expectUnchanged(h, code: code)
    }

    @Test func aTokenOfAnotherActionDoesNotDoAndIsNotSpent() throws {
        let (h, code) = try aliceWantsANewPhone()
        let token = try h.stepUpToken(user: "alice", action: "cancel-appointment")
        #expect(failure { try h.verify(code, Fixture.otherPhone, user: "alice", stepUpToken: token) } == .phoneChangeNeedsStepUp)
        try expectUnchanged(h, code: code)
        #expect(h.stepUpCheck(token: token, principal: .user("alice"), action: "cancel-appointment").status == 204)
    }

    @Test func aSpentTokenDoesNotDo() throws {
        let (h, code) = try aliceWantsANewPhone()
        let token = try h.stepUpToken(user: "alice", action: StepUpActions.changePhone)
        #expect(h.stepUpCheck(token: token, principal: .user("alice"), action: StepUpActions.changePhone).status == 204)
        #expect(failure { try h.verify(code, Fixture.otherPhone, user: "alice", stepUpToken: token) } == .phoneChangeNeedsStepUp)
        try expectUnchanged(h, code: code)
    }

    @Test func anotherUsersTokenDoesNotDo() throws {
        let (h, code) = try aliceWantsANewPhone()
        let token = try h.stepUpToken(user: "bob", action: StepUpActions.changePhone)
        #expect(failure { try h.verify(code, Fixture.otherPhone, user: "alice", stepUpToken: token) } == .phoneChangeNeedsStepUp)
        try expectUnchanged(h, code: code)
    }

    @Test func aValidChangePhoneTokenReplacesThePhoneAndIsSpent() throws {
        let (h, code) = try aliceWantsANewPhone()
        let token = try h.stepUpToken(user: "alice", action: StepUpActions.changePhone)
        #expect(try h.verify(code, Fixture.otherPhone, user: "alice", stepUpToken: token) == .phoneVerified)
        #expect(try h.store.verifiedPhone(userID: "alice") == Fixture.otherPhone)
        #expect(try h.store.stepUpToken(hash: h.hasher.tokenHash(token))?.usedAt != nil)
    }

    @Test func aWrongCodeWithAValidTokenCountsAnAttemptAndKeepsTheToken() throws {
        let (h, code) = try aliceWantsANewPhone()
        let token = try h.stepUpToken(user: "alice", action: StepUpActions.changePhone)
        #expect(failure { try h.verify(h.wrongCode(for: code), Fixture.otherPhone, user: "alice", stepUpToken: token) } == .invalidOrExpiredCode)
        #expect(try h.store.stepUpToken(hash: h.hasher.tokenHash(token))?.usedAt == nil)
        #expect(try h.verify(code, Fixture.otherPhone, user: "alice", stepUpToken: token) == .phoneVerified)
    }

    @Test func verifyingTheSamePhoneAgainOrAFirstPhoneNeedsNoToken() throws {
        let h = try Harness()
        try h.send(Fixture.phone, .verifyPhone)
        #expect(try h.verify(try #require(h.lastCode), Fixture.phone, user: "alice") == .phoneVerified)
        h.clock.advance(by: 61)
        try h.send(Fixture.phone, .verifyPhone)
        #expect(try h.verify(try #require(h.lastCode), Fixture.phone, user: "alice") == .phoneVerified)
    }

    @Test func resetPhoneLetsTheUserVerifyANewOneFreely() throws {
        let (h, code) = try aliceWantsANewPhone()
        #expect(try h.store.resetPhone(userID: "alice"))
        #expect(try !h.store.resetPhone(userID: "alice"))
        #expect(try h.verify(code, Fixture.otherPhone, user: "alice") == .phoneVerified)
    }
}
