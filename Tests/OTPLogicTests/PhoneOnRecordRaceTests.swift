import Testing
@testable import OTPLogic
import TestSupport

/// A step-up verify checks the phone on record in the transaction that uses the code (SPEC,
/// "Step-up: what it proves"): a phone replaced after the request's binding read it cannot take a
/// code of the old phone, and a phone the request names is checked there too.
@Suite("Step-up verify: the phone on record, in the transaction")
struct PhoneOnRecordRaceTests {
    static let newPhone = PhoneNumber("+14155550777")!

    @Test func phoneReplacedBetweenTheBindingReadAndTheTransactionTakesNoCodeOfTheOldPhone() throws {
        let h = try Harness()
        try h.givePhone(Fixture.phone, to: "alice")
        try h.send(nil, .stepUp, user: "alice")
        let code = try #require(h.lastCode)
        // The read the binding rules make outside the transaction sees the old phone; the phone is
        // replaced right after it, before the verify's write transaction begins.
        let racing = PhoneChangingStore(inner: h.store, user: "alice", newPhone: Self.newPhone, clock: h.clock)
        let service = OTPService(
            rules: h.rules, templates: Fixture.templates, stepUp: Fixture.stepUp, firewall: Fixture.firewall,
            classifier: FixedPhoneNumberClassifier(), hasher: h.hasher, store: racing, sender: h.sender, clock: h.clock,
            generator: SecretGenerator(random: SplitMix64(seed: 9)), logger: h.logs.logger()
        )
        let outcome = Result { () throws(OTPError) in
            try service.verify(CodeRequest(purpose: .stepUp, principal: "alice"), code: code)
        }
        #expect(racing.changed)
        guard case .failure(let error) = outcome else {
            Issue.record("the old phone's code was accepted after the phone changed: \(outcome)")
            return
        }
        #expect(error == .notThePhoneOnRecord)
        #expect(try h.rows("SELECT count(*) FROM step_up_tokens") == [["0"]])
        #expect(try h.storedCode(Fixture.phone, .stepUp)?.attempts == 0)
        #expect(h.logs.values(of: "reason").contains("not_the_phone_on_record"))
    }

    @Test func namedPhoneThatIsNotOnRecordIsRefusedWithoutSpendingAnAttempt() throws {
        let h = try Harness()
        try h.givePhone(Fixture.phone, to: "alice")
        try h.send(nil, .stepUp, user: "alice")
        let code = try #require(h.lastCode)
        #expect(failure { try h.verify(code, StepUpBindingTests.mallorysPhone, .stepUp, user: "alice") } == .notThePhoneOnRecord)
        #expect(try h.storedCode(Fixture.phone, .stepUp)?.attempts == 0)
        #expect(try h.rows("SELECT count(*) FROM step_up_tokens") == [["0"]])
        let response = h.post(
            "/api/otp/verify", RequestJSON.verify(code, "+14155550666", "step_up"), principal: .user("alice")
        )
        #expect(response.status == 422)
        // The same code, with the phone on record named, still works.
        guard case .stepUpGranted = try h.verify(code, Fixture.phone, .stepUp, user: "alice") else {
            Issue.record("the right phone and code did not grant a token")
            return
        }
    }

    @Test func namedPhoneOfAnAccountWithoutAVerifiedPhoneGetsConflict() throws {
        let h = try Harness()
        #expect(failure { try h.verify("123456", Fixture.phone, .stepUp, user: "alice") } == .noVerifiedPhone)
        #expect(try h.rows("SELECT count(*) FROM otp_codes") == [["0"]])
    }
}

/// The harness's store, except that its one read outside a transaction of `user`'s verified phone
/// is followed at once by a change of that phone (another request, committed in between).
private final class PhoneChangingStore: OTPStore {
    let inner: any OTPStore
    let user: String
    let newPhone: PhoneNumber
    let clock: FixedClock
    private(set) var changed = false

    init(inner: any OTPStore, user: String, newPhone: PhoneNumber, clock: FixedClock) {
        self.inner = inner
        self.user = user
        self.newPhone = newPhone
        self.clock = clock
    }

    func verifiedPhone(userID: String) throws(StoreError) -> PhoneNumber? {
        let phone = try inner.verifiedPhone(userID: userID)
        if userID == user && !changed {
            changed = true
            try inner.writeTransaction { transaction throws(StoreError) in
                try transaction.markPhoneVerified(userID: user, phone: newPhone, at: clock.now())
            }
        }
        return phone
    }

    func writeTransaction<T>(_ body: (any OTPStoreTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
        try inner.writeTransaction(body)
    }
    func consumeStepUpToken(hash: String, userID: String, action: String?, within bounds: StepUpTokenBounds) throws(StoreError) -> Bool {
        try inner.consumeStepUpToken(hash: hash, userID: userID, action: action, within: bounds)
    }
    func stepUpToken(hash: String) throws(StoreError) -> StepUpTokenRecord? { try inner.stepUpToken(hash: hash) }
    func resetPhone(userID: String) throws(StoreError) -> Bool { try inner.resetPhone(userID: userID) }
    func ping() throws(StoreError) { try inner.ping() }
    func purge(_ cutoffs: PurgeCutoffs) throws(StoreError) -> PurgeCounts { try inner.purge(cutoffs) }
    func forEachRecord(codes: (CodeRecord) -> Void, tokens: (StepUpTokenRecord) -> Void) throws(StoreError) {
        try inner.forEachRecord(codes: codes, tokens: tokens)
    }
    func firewallRecords() throws(StoreError) -> [FirewallRecord] { try inner.firewallRecords() }
    func smsDeliveries(sentSince since: UnixTime) throws(StoreError) -> [SMSDeliveryRecord] { try inner.smsDeliveries(sentSince: since) }
}
