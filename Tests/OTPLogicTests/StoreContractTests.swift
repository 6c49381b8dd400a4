import Foundation
import Testing
@testable import OTPLogic
import OTPSQLite
@testable import OTPPostgres
import OTPSystem
import TestSupport

/// The store port's contract (OTPStore.swift), the same checks on every store: a rule behaves
/// identically on SQLite and PostgreSQL because the stores only fetch and write.
@Suite("Store contract")
struct StoreContractTests {
    // MARK: Schema

    @Test(arguments: StoreKind.all)
    func aNewStoreIsAtTheCurrentVersionAndReopeningMigratesNothingAndKeepsTheData(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        let current = kind == .sqlite ? SQLiteOTPStore.currentSchemaVersion : PostgresOTPStore.currentSchemaVersion
        #expect(h.store.migration.to == current)
        #expect(try h.store.schemaVersion() == current)
        try h.send()
        let second = try h.location.open(clock: h.clock)
        #expect(second.migration.from == current && second.migration.to == current)
        #expect(try h.records(in: second).codes.count == 1)
    }

    @Test(arguments: StoreKind.all)
    func aDatabaseOfANewerSchemaIsRefusedAndLeftAtItsVersion(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        let newer = try h.store.schemaVersion() + 1
        try h.execute(kind == .sqlite ? "PRAGMA user_version = \(newer)" : "INSERT INTO schema_version (version) VALUES (\(newer))")
        #expect {
            _ = try h.location.open(clock: h.clock)
        } throws: { error in
            (error as? StoreError)?.kind == .schemaTooNew
        }
        #expect(try h.store.schemaVersion() == newer)
    }

    // MARK: Code records

    static func fullRecord(owner: String = "alice") -> CodeRecord {
        CodeRecord(
            phoneHash: "phone-hash", purpose: .stepUp, owner: owner, action: "cancel-appointment", country: "US", codeHash: "code-hash",
            issuedAt: 1_700_000_001, issuedBoot: BootClockReading(bootID: "boot-1", milliseconds: 123_456), expiresAt: 1_700_000_600,
            attempts: 2, sendCount: 3, sendWindowStart: 1_699_999_000, lastSentAt: 1_700_000_001, verifiedAt: 1_700_000_100,
            pendingCodeHash: "pending-hash", pendingSince: 1_700_000_050, pendingAction: "change-payout"
        )
    }

    @Test(arguments: StoreKind.all)
    func aCodeRecordIsReadBackAsItWasSavedAndReplacedWhole(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        var record = StoreContractTests.fullRecord()
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.save(record) }
        #expect(try h.codeRecord(record) == record)
        #expect(try h.codeRecord(record, owner: "bob") == nil, "the owner is part of the key")

        record = CodeRecord(phoneHash: record.phoneHash, purpose: .stepUp, owner: "alice", expiresAt: 42)
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.save(record) }
        #expect(try h.codeRecord(record) == record, "every column written, NULLs included")
        #expect(try h.records().codes == [record])
    }

    @Test(arguments: StoreKind.all)
    func savingTheVerificationStateChangesOnlyAttemptsAndVerifiedAt(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        let stored = StoreContractTests.fullRecord()
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.save(stored) }
        var changed = stored
        changed.attempts = 3
        changed.verifiedAt = nil
        changed.codeHash = "not-written"
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.saveVerificationState(changed) }
        var expected = stored
        expected.attempts = 3
        expected.verifiedAt = nil
        #expect(try h.codeRecord(stored) == expected)

        // A record that does not exist is saved whole.
        let fresh = StoreContractTests.fullRecord(owner: "carol")
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.saveVerificationState(fresh) }
        #expect(try h.codeRecord(fresh) == fresh)
    }

    @Test(arguments: StoreKind.all)
    func aTransactionThatThrowsLeavesNothingBehind(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        #expect(throws: StoreError.self) {
            try h.store.writeTransaction { transaction throws(StoreError) in
                try transaction.save(StoreContractTests.fullRecord())
                throw StoreError(kind: .other, detail: "test")
            }
        }
        #expect(try h.records().codes.isEmpty)
    }

    @Test(arguments: StoreKind.all)
    func readingRowsThatDoNotExistWritesNothing(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        try h.store.writeTransaction { transaction throws(StoreError) in
            #expect(try transaction.codeRecord(phoneHash: "nobody", purpose: .verifyPhone, owner: "") == nil)
            #expect(try transaction.codeRecord(phoneHash: "nobody", purpose: .verifyPhone, owner: "") == nil, "twice in one transaction")
            #expect(try transaction.firewallRecords([BudgetKey(.user, "alice"), .total]).isEmpty)
            #expect(try transaction.verifiedPhone(userID: "alice") == nil)
        }
        #expect(try h.records().codes.isEmpty)
        #expect(try h.store.firewallRecords().isEmpty)
        #expect(try h.query("SELECT count(*) FROM users") == [["0"]])
        // A failed verify of an unknown phone leaves nothing either.
        #expect(failure { try h.verify("123456") } == .invalidOrExpiredCode)
        #expect(try h.records().codes.isEmpty)
    }

    // MARK: Step-up tokens

    @Test(arguments: StoreKind.all)
    func theStoreSpendsExactlyTheTokensTheBoundsContain(_ kind: StoreKind) throws {
        let h = try Harness(rules: .with { $0.stepUpTokenTTLSeconds = 300 }, store: kind)
        let policy = StepUpTokenPolicy(rules: h.rules)
        let start = Fixture.start
        var checked = 0
        for createdBoot in [nil, BootClockReading(bootID: "a", milliseconds: 1_000_000)] as [BootClockReading?] {
            for wall: Int64 in [-1, 0, 299, 300] {
                for boot in [nil, BootClockReading(bootID: "b", milliseconds: 5)] + [-1, 0, 299_999, 300_000].map({
                    BootClockReading(bootID: "a", milliseconds: 1_000_000 + $0)
                }) as [BootClockReading?] {
                    checked += 1
                    let hash = "token-\(checked)"
                    let token = policy.mint(for: "alice", at: start, boot: createdBoot)
                    try h.store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: hash, token) }
                    let bounds = policy.admissionBounds(at: start + wall, boot: boot)
                    let spent = try h.store.consumeStepUpToken(hash: hash, userID: "alice", action: nil, within: bounds)
                    #expect(spent == bounds.contain(token), "wall +\(wall), boot \(String(describing: boot))")
                    #expect(try h.store.consumeStepUpToken(hash: hash, userID: "alice", action: nil, within: bounds) == false, "once at most")
                    let other = "other-\(checked)"
                    try h.store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: other, token) }
                    #expect(try !h.store.consumeStepUpToken(hash: other, userID: "bob", action: nil, within: bounds))
                    #expect(try !h.store.consumeStepUpToken(hash: other, userID: "alice", action: "cancel-appointment", within: bounds))
                    #expect(try h.store.stepUpToken(hash: other)?.usedAt == nil)
                }
            }
        }
        #expect(checked == 48)
    }

    @Test(arguments: StoreKind.all)
    func aTokenIsReadBackWithItsActionBootReadingAndUse(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        let token = StepUpTokenRecord(
            userID: "alice", action: "change-payout", createdAt: Fixture.start, expiresAt: Fixture.start + 300,
            createdBoot: BootClockReading(bootID: "boot", milliseconds: 77), usedAt: nil
        )
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: "h", token) }
        #expect(try h.store.stepUpToken(hash: "h") == token)
        #expect(try h.store.stepUpToken(hash: "missing") == nil)
        let bounds = StepUpTokenPolicy(rules: h.rules).admissionBounds(at: Fixture.start + 1, boot: nil)
        #expect(try h.store.writeTransaction { transaction throws(StoreError) in
            try transaction.consumeStepUpToken(hash: "h", userID: "alice", action: "change-payout", within: bounds)
        })
        #expect(try h.store.stepUpToken(hash: "h")?.usedAt == Fixture.start + 1)
        #expect(throws: StoreError.self, "a token hash is unique") {
            try h.store.writeTransaction { transaction throws(StoreError) in try transaction.insertStepUpToken(hash: "h", token) }
        }
    }

    // MARK: Retention and statistics

    /// Records at every combination of the times `RetentionPolicy` looks at, around the cutoffs.
    static func retentionRecords(around now: UnixTime, rules: RulesConfiguration) -> [CodeRecord] {
        var records: [CodeRecord] = []
        for expires: Int64 in [-1, 0, 1] {
            for window: Int64? in [nil, -rules.sendWindowSeconds, -rules.sendWindowSeconds + 1] {
                for sent: Int64? in [nil, -rules.resendCooldownSeconds, -rules.resendCooldownSeconds + 1] {
                    for pending: Int64? in [nil, -rules.sendInFlightSeconds, -rules.sendInFlightSeconds + 1] {
                        records.append(CodeRecord(
                            phoneHash: "p\(records.count)", purpose: records.count.isMultiple(of: 2) ? .verifyPhone : .stepUp,
                            codeHash: "c", expiresAt: now + expires, sendWindowStart: window.map { now + $0 },
                            lastSentAt: sent.map { now + $0 }, pendingSince: pending.map { now + $0 }
                        ))
                    }
                }
            }
        }
        return records
    }

    @Test(arguments: StoreKind.all)
    func purgeDeletesExactlyWhatTheRetentionPolicyCallsPurgeable(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        let now = Fixture.start + 10_000
        let records = StoreContractTests.retentionRecords(around: now, rules: h.rules)
        let tokens = [-1, 0, 1].map { offset in
            StepUpTokenRecord(userID: "alice", action: nil, createdAt: now - 300, expiresAt: now + Int64(offset), createdBoot: nil, usedAt: nil)
        }
        try h.store.writeTransaction { transaction throws(StoreError) in
            for record in records { try transaction.save(record) }
            for (index, token) in tokens.enumerated() { try transaction.insertStepUpToken(hash: "t\(index)", token) }
        }
        let retention = RetentionPolicy(rules: h.rules)
        let purgeable = records.filter { retention.isPurgeable($0, at: now) }
        #expect(!purgeable.isEmpty && purgeable.count < records.count)

        let counts = try h.store.purge(retention.purgeCutoffs(at: now))
        #expect(counts == PurgeCounts(codes: purgeable.count, tokens: 2))
        let left = try h.records()
        #expect(Set(left.codes.map(\.phoneHash)) == Set(records.filter { !retention.isPurgeable($0, at: now) }.map(\.phoneHash)))
        #expect(left.tokens.map(\.expiresAt) == [now + 1])
        #expect(try h.store.purge(retention.purgeCutoffs(at: now)) == PurgeCounts(codes: 0, tokens: 0))
    }

    // MARK: Delivery statuses

    @Test(arguments: StoreKind.all)
    func deliveryStatusesAreStoredUpdatedListedAndPurgedAfterAWeek(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        let now = Fixture.start + 30 * 86_400
        let old = SMSDeliveryRecord(provider: "twilio", messageID: "SM-old", purpose: .stepUp, sentAt: now - RetentionPolicy.deliveryRetentionSeconds)
        let recent = SMSDeliveryRecord(provider: "vonage", messageID: "m-1", purpose: .verifyPhone, sentAt: now - 60)
        try h.store.writeTransaction { transaction throws(StoreError) in
            try transaction.insertSMSDelivery(old)
            try transaction.insertSMSDelivery(recent)
        }
        var delivered = recent
        delivered.status = .undelivered
        delivered.statusAt = now - 30
        delivered.errorCode = "30003"
        let found: SMSDeliveryRecord? = try h.store.writeTransaction { transaction throws(StoreError) in
            try transaction.saveSMSDeliveryStatus(delivered)
            return try transaction.smsDelivery(provider: "vonage", messageID: "m-1")
        }
        #expect(found == delivered)
        #expect(try h.store.writeTransaction { transaction throws(StoreError) in
            try transaction.smsDelivery(provider: "twilio", messageID: "m-1")
        } == nil)
        #expect(try h.store.smsDeliveries(sentSince: now - 3600) == [delivered])

        let counts = try h.store.purge(RetentionPolicy(rules: h.rules).purgeCutoffs(at: now))
        #expect(counts == PurgeCounts(codes: 0, tokens: 0, deliveries: 1))
        #expect(try h.store.smsDeliveries(sentSince: 0) == [delivered])
    }

    /// A record with a reference is found and updated by it, and replaced by a record with the same
    /// one; a record without (stored before references) by provider and message id; neither key
    /// finds the other kind.
    @Test(arguments: StoreKind.all)
    func deliveriesAreKeyedByReferenceOrWithoutOneByMessageID(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        let now = Fixture.start
        let reference = try #require(DeliveryReference("019ab697e87b0123456789abcdef"))
        let other = try #require(DeliveryReference("019ab697e87c0123456789abcdef"))
        let referenced = SMSDeliveryRecord(provider: "twilio", messageID: "SM-1", purpose: .stepUp, sentAt: now, reference: reference)
        let legacy = SMSDeliveryRecord(provider: "twilio", messageID: "SM-2", purpose: .verifyPhone, sentAt: now - 60)
        try h.store.writeTransaction { transaction throws(StoreError) in
            try transaction.insertSMSDelivery(referenced)
            try transaction.insertSMSDelivery(legacy)
            // The same message id under another reference is another message (ids are not keys).
            try transaction.insertSMSDelivery(SMSDeliveryRecord(provider: "twilio", messageID: "SM-2", purpose: .stepUp, sentAt: now, reference: other))
        }
        var delivered = referenced
        delivered.status = .delivered
        delivered.statusAt = now + 5
        var failed = legacy
        failed.status = .failed
        failed.statusAt = now + 6
        failed.errorCode = "30008"
        let found = try h.store.writeTransaction { transaction throws(StoreError) in
            try transaction.saveSMSDeliveryStatus(delivered)
            try transaction.saveSMSDeliveryStatus(failed)
            return (
                byReference: try transaction.smsDelivery(reference: reference), byID: try transaction.smsDelivery(provider: "twilio", messageID: "SM-2"),
                referencedByID: try transaction.smsDelivery(provider: "twilio", messageID: "SM-1"),
                otherByReference: try transaction.smsDelivery(reference: other)
            )
        }
        #expect(found.byReference == delivered)
        #expect(found.byID == failed)
        #expect(found.referencedByID == nil)
        #expect(found.otherByReference?.status == .sent)
        #expect(found.otherByReference?.messageID == "SM-2")

        var replaced = referenced
        replaced.messageID = "SM-9"
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.insertSMSDelivery(replaced) }
        #expect(try h.store.smsDeliveries(sentSince: 0).count == 3)
        #expect(try h.store.writeTransaction { transaction throws(StoreError) in try transaction.smsDelivery(reference: reference) } == replaced)
    }

    @Test(arguments: StoreKind.all)
    func aPurgeLeavesTheHourlyCapInForce(_ kind: StoreKind) throws {
        let h = try Harness(rules: .with { $0.resendCooldownSeconds = 0; $0.maxSendsPerHour = 3; $0.codeTTLSeconds = 600 }, store: kind)
        for _ in 0..<3 {
            try h.send()
            h.clock.advance(by: 1)
        }
        h.clock.set(Fixture.start + 700)
        #expect(try h.store.purgeExpired(at: h.clock.now(), rules: h.rules) == PurgeCounts(codes: 0, tokens: 0))
        #expect(try h.send() == .suppressed(.hourlyCap))
        #expect(try h.store.purgeExpired(at: Fixture.start + 3602, rules: h.rules) == PurgeCounts(codes: 1, tokens: 0))
    }

    @Test(arguments: StoreKind.all)
    func statisticsCountWhatTheRetentionPolicyDefines(_ kind: StoreKind) throws {
        let h = try Harness(rules: .with { $0.maxAttempts = 3 }, store: kind)
        try h.send(Fixture.phone)
        let code = try #require(h.lastCode)
        #expect(try h.verify(code) == .phoneVerified)
        try h.send(Fixture.otherPhone)
        let other = try #require(h.lastCode)
        for _ in 0..<3 { _ = failure { try h.verify(h.wrongCode(for: other), Fixture.otherPhone) } }
        try h.send(PhoneNumber("+14155550999")!)
        _ = try h.stepUpToken(user: "alice")

        let statistics = try StoreStatistics.collect(from: h.store, at: h.clock.now(), rules: h.rules)
        #expect(statistics.codes[.verifyPhone] == StoreStatistics.CodeCounts(active: 1, lockedOut: 1, used: 1, pending: 0))
        #expect(statistics.codes[.stepUp] == StoreStatistics.CodeCounts(active: 0, lockedOut: 0, used: 1, pending: 0))
        #expect(statistics.liveTokens == 1 && statistics.usedLiveTokens == 0)
        #expect(statistics.sendsLastHour == 4)
    }

    // MARK: Firewall records

    @Test(arguments: StoreKind.all)
    func firewallRecordsAreReadBackByKeyAndReplacedWhole(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        let window = BudgetWindow().charged(at: Fixture.start).charged(at: Fixture.start + 90)
        let tripwire = Tripwire().recording(tag: 7, capacity: 5).recording(tag: 9, capacity: 5).verifying(tag: 7)!
        let records = [
            FirewallRecord(key: BudgetKey(.user, "alice"), window: window),
            FirewallRecord(key: BudgetKey(.address, "192.0.2.0"), window: window, alertedUntil: Fixture.start + 3600),
            FirewallRecord(key: BudgetKey(.country, "US"), window: window, pausedUntil: Fixture.start + 60, tripwire: tripwire),
            FirewallRecord(key: .total, window: window),
            FirewallRecord(key: BudgetKey(.user, "bob")),
        ]
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.saveFirewallRecords(FirewallRecords(replacing: records)) }
        let keys = [BudgetKey(.user, "alice"), BudgetKey(.address, "192.0.2.0"), BudgetKey(.country, "US"), .total, BudgetKey(.user, "bob"), BudgetKey(.user, "nobody")]
        let read = try h.store.writeTransaction { transaction throws(StoreError) in try transaction.firewallRecords(keys) }
        #expect(Dictionary(uniqueKeysWithValues: read.map { ($0.key, $0) }) == Dictionary(uniqueKeysWithValues: records.map { ($0.key, $0) }))
        #expect(try h.store.firewallRecords().count == 5)

        let cleared = FirewallRecord(key: BudgetKey(.country, "US"))
        try h.store.writeTransaction { transaction throws(StoreError) in try transaction.saveFirewallRecords(FirewallRecords(replacing: [cleared])) }
        #expect(try h.store.writeTransaction { transaction throws(StoreError) in try transaction.firewallRecords([cleared.key]) } == [cleared])
    }

    // MARK: The phone on record

    @Test(arguments: StoreKind.all)
    func aVerifiedPhoneIsOnRecordUntilAnOperatorResetsIt(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        try h.execute("INSERT INTO notification_preferences (user_id, sms_phone_number) VALUES ('alice', '+14155550123'), ('carol', '+14155550999')")
        #expect(try h.store.verifiedPhone(userID: "alice") == nil)
        #expect(try h.store.resetPhone(userID: "alice") == false)
        try h.givePhone(Fixture.phone, to: "alice")
        #expect(try h.store.verifiedPhone(userID: "alice") == Fixture.phone)
        #expect(try h.store.writeTransaction { transaction throws(StoreError) in try transaction.verifiedPhone(userID: "alice") } == Fixture.phone)
        #expect(try h.query("SELECT user_id, sms_phone_verified FROM notification_preferences ORDER BY user_id") == [["alice", "1"], ["carol", "0"]])
        #expect(try h.query("SELECT phone_verified_at FROM users WHERE user_id = 'alice'") == [[String(Fixture.start)]])

        try h.givePhone(Fixture.otherPhone, to: "alice")
        #expect(try h.store.verifiedPhone(userID: "alice") == Fixture.otherPhone)
        #expect(try h.store.resetPhone(userID: "alice") == true)
        #expect(try h.store.verifiedPhone(userID: "alice") == nil)
        #expect(try h.store.resetPhone(userID: "alice") == false)
    }

    @Test(arguments: StoreKind.all)
    func pingAnswersAndTheServiceIsHealthy(_ kind: StoreKind) throws {
        let h = try Harness(store: kind)
        #expect(throws: Never.self) { try h.store.ping() }
        #expect(h.service.isHealthy())
    }
}

extension Harness {
    /// Every stored code record and token, through the port.
    func records(in store: (any OTPStore)? = nil) throws -> (codes: [CodeRecord], tokens: [StepUpTokenRecord]) {
        var codes: [CodeRecord] = []
        var tokens: [StepUpTokenRecord] = []
        try (store ?? self.store).forEachRecord(codes: { codes.append($0) }, tokens: { tokens.append($0) })
        return (codes, tokens)
    }

    func codeRecord(_ record: CodeRecord, owner: String? = nil) throws -> CodeRecord? {
        try store.writeTransaction { transaction throws(StoreError) in
            try transaction.codeRecord(phoneHash: record.phoneHash, purpose: record.purpose, owner: owner ?? record.owner)
        }
    }

    /// SQL the two stores both understand, on the harness's database.
    func execute(_ sql: String) throws {
        switch location {
        case .sqlite(let path): try SQLiteFile.execute(path, sql)
        case .postgres(_, let schema): try PostgresTestServer.execute(sql, schema: schema)
        }
    }

    /// A query the two stores both understand, on the harness's database; every value as text.
    func query(_ sql: String) throws -> [[String?]] {
        switch location {
        case .sqlite(let path): try SQLiteFile.query(path, sql)
        case .postgres(_, let schema): try PostgresTestServer.execute(sql, schema: schema)
        }
    }
}
