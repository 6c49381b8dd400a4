import Testing
@testable import OTPLogic
import TestSupport

/// The firewall's changes: what a store that shares records as a log writes and every other
/// process replays. Replaying must give exactly the records the rules made.
@Suite("SMS firewall changes")
struct FirewallChangeTests {
    static let now: UnixTime = 1_800_000_000
    static let country = BudgetKey(.country, "DE")

    static func configuration() -> FirewallConfiguration {
        var configuration = FirewallConfiguration()
        configuration.limits = [.user: 6, .address: 9, .country: 12, .total: 15]
        configuration.tripwireSends = 5
        configuration.tripwireMinimumVerifiedPercent = 40
        return configuration
    }

    @Test func everyKindOfChangeSurvivesItsEncoding() {
        let record = FirewallRecord(
            key: BudgetKey(.address, "2001:db8::/64"), window: BudgetWindow().charged(at: Self.now).charged(at: Self.now + 70),
            pausedUntil: nil, alertedUntil: Self.now + 3600, tripwire: Tripwire().recording(tag: 0xDEAD_BEEF, capacity: 5)
        )
        let changes: [FirewallChange] = [
            .charged(BudgetKey(.user, "ålice"), at: Self.now), .released(.total, chargedAt: Self.now - 5, at: Self.now),
            .tripwireSend(Self.country, tag: 0xFFFF_FFFF, capacity: 1000), .tripwireVerified(Self.country, tag: 7),
            .paused(Self.country, until: Self.now + 3600), .alerted(.total, until: -1), .replaced(record),
            .replaced(FirewallRecord(key: BudgetKey(.user, ""))),
        ]
        #expect(FirewallChange.decoded(FirewallChange.encoded(changes)) == changes)
        #expect(FirewallChange.decoded([]) == [])
    }

    @Test(arguments: [[UInt8]([0]), [1], [1, 9, 0, 0, 0, 0], [1, 0, 5, 0, 0, 0, 65], [1, 0, 0, 0, 0, 0, 1, 2, 3], [99, 0, 0, 0, 0, 0]])
    func bytesThatAreNoChangesAreRefused(_ bytes: [UInt8]) {
        #expect(FirewallChange.decoded(bytes) == nil)
    }

    @Test func aChangeOfAnotherKeyLeavesARecordAsItIs() {
        var record = FirewallRecord(key: BudgetKey(.user, "alice"))
        record.apply(.charged(BudgetKey(.user, "bob"), at: Self.now))
        #expect(record == FirewallRecord(key: BudgetKey(.user, "alice")))
    }

    /// The rules run on one process's records; another process replays the logged changes on
    /// the records as they were: both end the same, whatever the rules did (charges, blocks,
    /// alerts, releases, tripwire entries, verifications, a pause).
    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func replayingTheChangesGivesTheRecordsTheRulesMade(_ seed: UInt64) {
        let firewall = SMSFirewall(configuration: Self.configuration())
        var random = SplitMix64(seed: seed)
        let keys = firewall.keys(user: "alice", address: ClientAddress("2001:db8::7"), country: "DE")
        var held = FirewallRecords(keys: keys, stored: []).keysAndRecords
        var replayed = held
        var now = Self.now
        var tags: [UInt32] = []
        for _ in 0..<300 {
            now += Int64(random.next() % 90)
            var records = FirewallRecords(keys: keys, stored: held)
            switch random.next() % 6 {
            case 0, 1:
                if firewall.admitRequest(&records, at: now) == nil { _ = firewall.admitSMS(&records, at: now) }
            case 2:
                firewall.release(&records, chargedAt: now - Int64(random.next() % 120), at: now)
            case 3, 4:
                let tag = UInt32(truncatingIfNeeded: random.next())
                tags.append(tag)
                _ = firewall.recordSend(&records, country: Self.country, tag: tag, at: now)
            default:
                if let tag = tags.randomElement(using: &random) { _ = firewall.recordVerification(&records, country: Self.country, tag: tag) }
            }
            held = keys.map { records[$0] }
            let logged = FirewallChange.decoded(FirewallChange.encoded(records.changes)) ?? []
            for change in logged {
                if let index = replayed.firstIndex(where: { $0.key == change.key }) { replayed[index].apply(change) }
            }
            #expect(replayed == held)
        }
        #expect(held.contains { $0.key == Self.country && ($0.pausedUntil != nil || !$0.tripwire.entries.isEmpty) })
    }

    @Test func aRecordIsEmptyOnceNothingInItCountsAnyMore() {
        var record = FirewallRecord(key: Self.country)
        #expect(record.isEmpty(at: Self.now))
        record.apply(.charged(Self.country, at: Self.now))
        #expect(!record.isEmpty(at: Self.now + 3659))
        #expect(record.isEmpty(at: Self.now + 3660))
        record.apply(.alerted(Self.country, until: Self.now + 4000))
        #expect(!record.isEmpty(at: Self.now + 3999) && record.isEmpty(at: Self.now + 4000))
        record.apply(.tripwireSend(Self.country, tag: 1, capacity: 5))
        #expect(!record.isEmpty(at: Self.now + 9999), "a tripwire entry counts however old")
    }

    @Test func theTripwireTagIsTheFirstEightHexDigitsOfThePhoneHash() {
        #expect(Tripwire.tag(phoneHash: "0a1B2c3d4e5f") == 0x0A1B_2C3D)
        #expect(Tripwire.tag(phoneHash: "ffffffff") == 0xFFFF_FFFF)
        #expect(Tripwire.tag(phoneHash: "0a1b2c3") == 0)
        #expect(Tripwire.tag(phoneHash: "0a1b2c3g00") == 0)
    }
}

extension FirewallRecords {
    /// Its records, in the order of its keys.
    var keysAndRecords: [FirewallRecord] { keys.map { self[$0] } }
}
