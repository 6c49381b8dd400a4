import Testing
@testable import OTPLogic

/// The step-up token rules on stored tokens, without a store: each check in its documented order.
@Suite("Step-up token policy")
struct StepUpTokenPolicyTests {
    static let now: UnixTime = 1_800_000_000
    let policy = StepUpTokenPolicy(rules: .with { $0.stepUpTokenTTLSeconds = 300 })
    let boot = BootClockReading(bootID: "boot-a", milliseconds: 1_000_000)

    private func token(_ change: (inout StepUpTokenRecord) -> Void = { _ in }) -> StepUpTokenRecord {
        var record = policy.mint(for: "alice", at: StepUpTokenPolicyTests.now, boot: boot)
        change(&record)
        return record
    }

    private func later(_ seconds: Int64) -> BootClockReading {
        BootClockReading(bootID: boot.bootID, milliseconds: boot.milliseconds + seconds * 1000)
    }

    @Test func mintedTokenLivesForTheConfiguredLifetime() {
        let minted = token()
        #expect(minted.userID == "alice")
        #expect(minted.createdAt == StepUpTokenPolicyTests.now)
        #expect(minted.expiresAt == StepUpTokenPolicyTests.now + 300)
        #expect(minted.createdBoot == boot)
        #expect(minted.usedAt == nil)
    }

    @Test func admitsItsOwnerWithinItsLifetime() {
        #expect(policy.refusal(of: token(), userID: "alice", at: StepUpTokenPolicyTests.now + 299, boot: later(299)) == nil)
    }

    @Test func refusesAMissingToken() {
        #expect(policy.refusal(of: nil, userID: "alice", at: StepUpTokenPolicyTests.now, boot: boot) == .unknown)
    }

    @Test func refusesAnotherUserBeforeLookingAtUseOrAge() {
        let spentAndOld = token { $0.usedAt = StepUpTokenPolicyTests.now }
        #expect(policy.refusal(of: spentAndOld, userID: "bob", at: StepUpTokenPolicyTests.now + 900, boot: later(900)) == .otherUser)
    }

    @Test func refusesAUsedTokenBeforeLookingAtItsAge() {
        let spent = token { $0.usedAt = StepUpTokenPolicyTests.now }
        #expect(policy.refusal(of: spent, userID: "alice", at: StepUpTokenPolicyTests.now + 900, boot: later(900)) == .alreadyUsed)
    }

    @Test func expiresAtExactlyCreatedPlusLifetime() {
        #expect(policy.refusal(of: token(), userID: "alice", at: StepUpTokenPolicyTests.now + 300, boot: later(300)) == .expired)
    }

    @Test func wallClockSetBackBeforeCreationIsExpired() {
        #expect(policy.refusal(of: token(), userID: "alice", at: StepUpTokenPolicyTests.now - 1, boot: later(1)) == .expired)
    }

    @Test func bootClockBoundsTheLifetimeWhenTheWallClockWasSetBack() {
        // Wall clock: 70 s after creation. Boot clock: 310 s.
        #expect(policy.refusal(of: token(), userID: "alice", at: StepUpTokenPolicyTests.now + 70, boot: later(310)) == .expired)
    }

    @Test func bootClockBeforeCreationIsExpired() {
        #expect(policy.refusal(of: token(), userID: "alice", at: StepUpTokenPolicyTests.now + 10, boot: later(-1)) == .expired)
    }

    @Test func afterARebootOnlyTheWallClockCounts() {
        let otherBoot = BootClockReading(bootID: "boot-b", milliseconds: 10)
        #expect(policy.refusal(of: token(), userID: "alice", at: StepUpTokenPolicyTests.now + 100, boot: otherBoot) == nil)
    }

    @Test func withoutABootClockOnlyTheWallClockCounts() {
        #expect(policy.refusal(of: token(), userID: "alice", at: StepUpTokenPolicyTests.now + 299, boot: nil) == nil)
        #expect(policy.refusal(of: token { $0.createdBoot = nil }, userID: "alice", at: StepUpTokenPolicyTests.now + 299, boot: later(900)) == nil)
    }
}

/// The lifetime rule has one definition: `refusal` in Swift, and the bounds a store applies in its
/// one conditional write. Both must say the same for every edge.
@Suite("Step-up token bounds")
struct StepUpTokenBoundsTests {
    static let now: UnixTime = 1_800_000_000
    let policy = StepUpTokenPolicy(rules: .with { $0.stepUpTokenTTLSeconds = 300 })

    /// Tokens and readings around every edge: wall clock before, at and after creation and
    /// expiry; boot clock before creation, inside and at the end of the lifetime; other boots.
    private var cases: [(token: StepUpTokenRecord, now: UnixTime, boot: BootClockReading?)] {
        var cases: [(StepUpTokenRecord, UnixTime, BootClockReading?)] = []
        let created = StepUpTokenBoundsTests.now
        for createdBoot in [nil, BootClockReading(bootID: "a", milliseconds: 1_000_000)] as [BootClockReading?] {
            let token = policy.mint(for: "alice", at: created, boot: createdBoot)
            for wall: Int64 in [-1, 0, 1, 299, 300, 301] {
                for boot in [nil, BootClockReading(bootID: "b", milliseconds: 5)] + [-1, 0, 1, 299_999, 300_000, 300_001].map({
                    BootClockReading(bootID: "a", milliseconds: 1_000_000 + $0)
                }) as [BootClockReading?] {
                    cases.append((token, created + wall, boot))
                }
            }
        }
        return cases
    }

    @Test func boundsContainExactlyTheTokensThePolicyAdmits() {
        for (token, now, boot) in cases {
            let admits = policy.refusal(of: token, userID: "alice", at: now, boot: boot) == nil
            #expect(policy.admissionBounds(at: now, boot: boot).contain(token) == admits, "now \(now - StepUpTokenBoundsTests.now), boot \(String(describing: boot))")
        }
    }
}
