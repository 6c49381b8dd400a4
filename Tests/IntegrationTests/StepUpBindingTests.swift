import Foundation
import Testing

extension Integration {
    /// Step-up proves the account owner (SPEC, "Step-up: what it proves"), through the real nginx
    /// with the shipped files and the example site.
    @Suite struct StepUpBinding {
        static let alicesPhone = "+14155550310"
        static let mallorysPhone = "+14155550666"

        @Test(arguments: StackDatabase.all) func aStolenPasswordWithTheThiefsPhoneGetsNoSMSAndNoToken(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            try stack.ensureVerifiedPhone(StepUpBinding.alicesPhone, of: .alice)
            let before = stack.sms.messages().count
            // mallory logged in with alice's password asks for a code on mallory's own phone.
            let stolen = stack.send(StepUpBinding.mallorysPhone, "step_up", as: .alice, action: "change-payout")
            #expect(stolen.status == 422)
            #expect(stolen.body == #"{"detail": "phone_e164 is not the verified phone of this account"}"#)
            #expect(stack.sms.messages().count == before, "no SMS")
            #expect(stack.verify(StepUpBinding.mallorysPhone, "step_up", code: "000000", as: .alice, action: "change-payout").status == 422)
            #expect(try stack.query("SELECT count(*) FROM step_up_tokens") == "0")
            // Without a phone the code goes to alice's phone, and the answer only hints at it.
            let sent = stack.send(nil, "step_up", as: .alice, action: "change-payout")
            #expect(sent.status == 200)
            #expect(sent.body == #"{"status": "sent", "phone_hint": "…0310"}"#)
            #expect(stack.sms.messages().dropFirst(before).map(\.to) == [StepUpBinding.alicesPhone])
            #expect(stack.sms.messages().last?.body.contains("to change your payout account") == true)
        }

        @Test(arguments: StackDatabase.all) func anAccountWithoutAVerifiedPhoneGetsConflict(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            let answer = stack.send(nil, "step_up", as: .bob)
            #expect(answer.status == 409)
            #expect(answer.body == #"{"detail": "This account has no verified phone"}"#)
            #expect(stack.sms.messages().isEmpty)
        }

        @Test(arguments: StackDatabase.all) func bobCannotRedeemAlicesCodeNorSpendHerAttempts(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            try stack.ensureVerifiedPhone(StepUpBinding.alicesPhone, of: .alice)
            // A shared family phone: bob has it on record too, and may even see alice's code.
            try stack.execute("INSERT INTO users (user_id, phone_e164, phone_verified) VALUES ('bob', '\(StepUpBinding.alicesPhone)', 1)")
            #expect(stack.send(nil, "step_up", as: .alice, action: "cancel-appointment").status == 200)
            let code = try #require(stack.lastCode(to: StepUpBinding.alicesPhone, purpose: "step_up"))
            for _ in 0..<5 {
                #expect(stack.verify(nil, "step_up", code: code, as: .bob, action: "cancel-appointment").status == 400)
            }
            #expect(try stack.query("SELECT attempts FROM otp_codes WHERE purpose = 'step_up' AND owner = 'alice'") == "0")
            let verified = stack.verify(nil, "step_up", code: code, as: .alice, action: "cancel-appointment")
            #expect(verified.status == 200)
            let token = try #require(verified.json["step_up_token"])
            #expect(stack.protectedAction(token: token, as: .bob).status == 401)
            #expect(stack.protectedAction(token: token, as: .alice).json["confirmed_by"] == "alice")
        }

        @Test(arguments: StackDatabase.all) func aTokenIsAdmittedOnlyWhereItsActionIsAskedForAndIsNotSpentElsewhere(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: StepUpBinding.alicesPhone, action: "cancel-appointment")
            let elsewhere = stack.protectedAction(token: token, path: "/account/change-payout")
            #expect(elsewhere.status == 401)
            #expect(elsewhere.header("WWW-Authenticate") == #"OTP-Step-Up action="change-payout""#)
            #expect(elsewhere.json["action"] == "change-payout")
            #expect(elsewhere.json["step_up"] == "required")
            let noAction = stack.protectedAction(token: token, path: "/account/confirm")
            #expect(noAction.status == 401)
            #expect(noAction.header("WWW-Authenticate") == "OTP-Step-Up")
            #expect(noAction.json["action"] == nil)
            // Not spent by those refusals: still good once where it belongs.
            #expect(stack.protectedAction(token: token).status == 200)
            let again = stack.protectedAction(token: token)
            #expect(again.status == 401)
            #expect(again.header("WWW-Authenticate") == #"OTP-Step-Up action="cancel-appointment""#)
            #expect(again.body == #"{"detail": "Step-up required: verify a step_up code for this action and send the token in X-Step-Up-Token", "step_up": "required", "action": "cancel-appointment"}"#)
        }

        @Test(arguments: StackDatabase.all) func changingTheVerifiedPhoneNeedsAChangePhoneTokenOfTheUser(database: StackDatabase) throws {
            let stack = try TestStack(.init(environment: ["OTP_RESEND_COOLDOWN_SECONDS": "0"], database: database))
            defer { stack.finish() }
            let newPhone = "+14155550311"
            try stack.ensureVerifiedPhone(StepUpBinding.alicesPhone, of: .alice)
            let onRecord = "SELECT phone_e164 FROM users WHERE user_id = 'alice'"
            #expect(stack.send(newPhone, "verify_phone").status == 200)
            let code = try #require(stack.lastCode(to: newPhone, purpose: "verify_phone"))

            // Without a token: 403 with the challenge, and nothing changes (the code is not spent).
            let without = stack.verify(newPhone, "verify_phone", code: code)
            #expect(without.status == 403)
            #expect(without.body == #"{"detail": "Changing the verified phone needs a step-up with the current phone", "step_up": "required", "action": "change-phone"}"#)
            #expect(without.header("WWW-Authenticate") == #"OTP-Step-Up action="change-phone""#)
            #expect(try stack.query(onRecord) == StepUpBinding.alicesPhone)

            // A token of another action does not do (and is not spent).
            let payout = try stack.stepUpToken(phone: StepUpBinding.alicesPhone, action: "change-payout")
            #expect(stack.verify(newPhone, "verify_phone", code: code, headers: ["X-Step-Up-Token: \(payout)"]).status == 403)
            #expect(stack.protectedAction(token: payout, path: "/account/change-payout").status == 200)

            // A spent change-phone token does not do.
            let spent = try stack.stepUpToken(phone: StepUpBinding.alicesPhone, action: "change-phone")
            try stack.execute("UPDATE step_up_tokens SET used_at = created_at WHERE action = 'change-phone'")
            #expect(stack.verify(newPhone, "verify_phone", code: code, headers: ["X-Step-Up-Token: \(spent)"]).status == 403)
            #expect(try stack.query(onRecord) == StepUpBinding.alicesPhone)

            // bob's change-phone token does not do for alice.
            try stack.ensureVerifiedPhone("+14155550312", of: .bob)
            let bobs = try stack.stepUpToken(phone: "+14155550312", as: .bob, action: "change-phone")
            #expect(stack.verify(newPhone, "verify_phone", code: code, headers: ["X-Step-Up-Token: \(bobs)"]).status == 403)

            // A valid one: the phone changes and the token is spent.
            let valid = try stack.stepUpToken(phone: StepUpBinding.alicesPhone, action: "change-phone")
            #expect(stack.verify(newPhone, "verify_phone", code: code, headers: ["X-Step-Up-Token: \(valid)"]).status == 200)
            #expect(try stack.query(onRecord) == newPhone)
            #expect(stack.verify(newPhone, "verify_phone", code: code, headers: ["X-Step-Up-Token: \(valid)"]).status == 400)
        }

        @Test(arguments: StackDatabase.all) func aListedDelegateActsForASubjectAndNobodyElseMay(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            try stack.ensureVerifiedPhone(StepUpBinding.alicesPhone, of: .alice)
            // The voice agent asks for a code for alice: it goes to alice's phone.
            let sent = stack.send(nil, "step_up", as: .voiceAgent, action: "cancel-appointment", subject: "alice")
            #expect(sent.status == 200)
            #expect(sent.json["phone_hint"] == "…0310")
            let code = try #require(stack.lastCode(to: StepUpBinding.alicesPhone, purpose: "step_up"))
            let verified = stack.verify(nil, "step_up", code: code, as: .voiceAgent, action: "cancel-appointment", subject: "alice")
            #expect(verified.status == 200)
            let token = try #require(verified.json["step_up_token"])
            let admitted = stack.protectedAction(token: token, as: .voiceAgent, headers: ["X-Step-Up-Subject: alice"])
            #expect(admitted.status == 200)
            #expect(admitted.json["confirmed_by"] == "alice")
            #expect(admitted.json["delegate"] == "voice-agent")
            #expect(stack.responderLog.contains("delegate=voice-agent"))
            // bob is not a delegate: 403 at send and at the check.
            #expect(stack.send(nil, "step_up", as: .bob, subject: "alice").status == 403)
            let forbidden = stack.protectedAction(token: token, as: .bob, headers: ["X-Step-Up-Subject: alice"])
            #expect(forbidden.status == 403)
            #expect(forbidden.body == #"{"detail": "Only a delegate principal may act for a subject"}"#)
        }

        @Test(arguments: StackDatabase.all) func fiftyPresentationsOfOneTokenAtTwoActionsAdmitOnce(database: StackDatabase) throws {
            let stack = try TestStack(.init(workers: 16, database: database))
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: StepUpBinding.alicesPhone, action: "cancel-appointment")
            let statuses = inParallel(50) { index in
                stack.protectedAction(token: token, path: index.isMultiple(of: 2) ? "/account/cancel-appointment" : "/account/change-payout").status
            }
            #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 401 }.count == 49, "\(statuses)")
            #expect(try stack.query("SELECT count(*) FROM step_up_tokens WHERE used_at IS NOT NULL") == "1")
        }

        /// The shipped files send no principal until the site says which variable carries its
        /// login: a client's own Basic header (which fills $remote_user without any auth_basic)
        /// chooses nothing.
        @Test(arguments: StackDatabase.all) func aSiteThatDoesNotNameItsLoginVariableIsAnonymous(database: StackDatabase) throws {
            let stack = try TestStack(.init(database: database))
            defer { stack.finish() }
            let claimed = stack.anonymousClient.postJSON("/api/otp/send", #"{"purpose": "step_up"}"#, as: .alice)
            #expect(claimed.status == 401)
            #expect(claimed.body == #"{"detail": "Not authenticated"}"#)
        }
    }
}
