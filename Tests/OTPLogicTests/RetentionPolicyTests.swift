import Testing
@testable import OTPLogic
@testable import OTPSQLite
import TestSupport

/// One definition of what a stored row still means: the purge deletes exactly what
/// `RetentionPolicy.isPurgeable` says, and `stats` counts by `RetentionPolicy.codeState`.
@Suite("Retention policy")
struct RetentionPolicyTests {
    static let now: UnixTime = 1_800_000_000
    let rules = RulesConfiguration.with { $0.codeTTLSeconds = 600; $0.resendCooldownSeconds = 60; $0.sendInFlightSeconds = 50 }
    var retention: RetentionPolicy { RetentionPolicy(rules: rules) }

    /// Records at every edge of every bound: each time field one second before, at and after it.
    private var records: [CodeRecord] {
        let now = RetentionPolicyTests.now
        var records: [CodeRecord] = []
        var index = 0
        for expiresOffset: Int64 in [-1, 0, 1] {
            for windowOffset: Int64? in [nil, -3601, -3600, -3599] {
                for sentOffset: Int64? in [nil, -61, -60, -59] {
                    for pendingOffset: Int64? in [nil, -51, -50, -49] {
                        index += 1
                        records.append(CodeRecord(
                            phoneHash: "phone-\(index)", purpose: index.isMultiple(of: 2) ? .stepUp : .verifyPhone,
                            codeHash: "c", issuedAt: now - 600, expiresAt: now + expiresOffset,
                            sendCount: 1, sendWindowStart: windowOffset.map { now + $0 }, lastSentAt: sentOffset.map { now + $0 },
                            pendingCodeHash: pendingOffset.map { _ in "p" }, pendingSince: pendingOffset.map { now + $0 }
                        ))
                    }
                }
            }
        }
        return records
    }

    @Test func purgeDeletesExactlyWhatThePolicyCallsPurgeable() throws {
        let h = try Harness(rules: rules)
        let records = records
        try h.store.writeTransaction { transaction throws(StoreError) in
            for record in records { try transaction.save(record) }
        }
        let expected = Set(records.filter { !retention.isPurgeable($0, at: RetentionPolicyTests.now) }.map(\.phoneHash))
        #expect(!expected.isEmpty && expected.count < records.count)

        let counts = try h.store.purge(retention.purgeCutoffs(at: RetentionPolicyTests.now))
        let kept = Set(try h.rows("SELECT phone_hash FROM otp_codes").compactMap { $0[0] })
        #expect(kept == expected)
        #expect(counts.codes == records.count - expected.count)
    }

    @Test func tokensArePurgedOnceExpired() throws {
        let h = try Harness(rules: rules)
        let now = RetentionPolicyTests.now
        let tokens = [-1, 0, 1].map { offset in StepUpTokenRecord(userID: "alice", createdAt: now - 300, expiresAt: now + Int64(offset)) }
        try h.store.writeTransaction { transaction throws(StoreError) in
            for (index, token) in tokens.enumerated() { try transaction.insertStepUpToken(hash: "t\(index)", token) }
        }
        #expect(tokens.map { retention.isPurgeable($0, at: now) } == [true, true, false])
        #expect(try h.store.purge(retention.purgeCutoffs(at: now)).tokens == 2)
        #expect(try h.rows("SELECT token_hash FROM step_up_tokens") == [["t2"]])
    }

    @Test func codeStatesFollowLifetimeAttemptsAndUse() {
        let now = RetentionPolicyTests.now
        let live = CodeRecord(phoneHash: "h", purpose: .verifyPhone, codeHash: "c", issuedAt: now - 10, expiresAt: now + 590)
        #expect(retention.codeState(of: live, at: now) == .active)
        #expect(retention.codeState(of: live, at: now + 590) == .none)
        var locked = live
        locked.attempts = rules.maxAttempts
        #expect(retention.codeState(of: locked, at: now) == .lockedOut)
        var used = live
        used.verifiedAt = now
        #expect(retention.codeState(of: used, at: now) == .used)
        var pendingOnly = CodeRecord(phoneHash: "h", purpose: .stepUp, pendingCodeHash: "p", pendingSince: now - 49)
        #expect(retention.codeState(of: pendingOnly, at: now) == .none)
        #expect(retention.isSending(pendingOnly, at: now))
        pendingOnly.pendingSince = now - 50
        #expect(!retention.isSending(pendingOnly, at: now))
    }

    @Test func statisticsCountStoredRowsByTheirState() throws {
        let h = try Harness(rules: rules)
        try h.send(Fixture.phone, .verifyPhone)
        try h.send(Fixture.otherPhone, .verifyPhone)
        try h.verify(try #require(h.lastCode), Fixture.otherPhone, .verifyPhone)
        _ = try h.stepUpToken(user: "alice")
        h.clock.advance(by: 61)
        let spent = try h.stepUpToken(user: "alice")
        _ = try h.service.consumeStepUpToken(spent, user: "alice")
        let now = h.clock.now()

        let statistics = try StoreStatistics.collect(from: h.store, at: now, rules: rules)
        #expect(statistics.codes[.verifyPhone] == .init(active: 1, lockedOut: 0, used: 1, pending: 0))
        #expect(statistics.codes[.stepUp] == .init(active: 0, lockedOut: 0, used: 1, pending: 0))
        #expect(statistics.liveTokens == 2)
        #expect(statistics.usedLiveTokens == 1)
        // Rows with a send in the last hour: two phones for verify_phone, one for step_up.
        #expect(statistics.sendsLastHour == 3)

        let later = try StoreStatistics.collect(from: h.store, at: now + 3600, rules: rules)
        #expect(later.codes[.verifyPhone] == .init())
        #expect(later.liveTokens == 0)
        #expect(later.sendsLastHour == 0)
    }
}
