import Testing
@testable import OTPLogic

/// The SMS firewall's pure parts with a fixed clock: windows at their edges, IPv6 grouping, the
/// tripwire arithmetic, the number check.
@Suite("SMS firewall rules")
struct FirewallPolicyTests {
    static let now: UnixTime = 1_800_000_000  // a whole minute

    @Test func aSendCountsForAnHourAndStopsCountingWithinTheMinuteAfter() {
        let window = BudgetWindow().charged(at: FirewallPolicyTests.now + 30)
        #expect(window.used(at: FirewallPolicyTests.now + 30) == 1)
        #expect(window.used(at: FirewallPolicyTests.now + 3600) == 1)   // 59 min 30 s later
        #expect(window.used(at: FirewallPolicyTests.now + 3659) == 1)   // its minute still overlaps the hour
        #expect(window.used(at: FirewallPolicyTests.now + 3660) == 0)   // the whole minute is an hour old
    }

    @Test func windowNeverAdmitsMoreThanItsLimitInAnyHour() {
        // A send every 7 s for three hours, admitted while under 10: no trailing hour holds more than 10.
        var window = BudgetWindow()
        var admitted: [UnixTime] = []
        for step in 0..<(3 * 3600 / 7) {
            let time = FirewallPolicyTests.now + UnixTime(step * 7)
            if window.used(at: time) < 10 {
                window = window.charged(at: time)
                admitted.append(time)
            }
        }
        for time in admitted {
            #expect(admitted.filter { $0 > time - 3600 && $0 <= time }.count <= 10)
        }
        #expect(admitted.count >= 30)
    }

    @Test func retryAfterSaysWhenTheOldestCountingMinuteLeaves() {
        var window = BudgetWindow()
        window = window.charged(at: FirewallPolicyTests.now + 10)
        window = window.charged(at: FirewallPolicyTests.now + 130)
        #expect(window.secondsUntilRoom(under: 3, at: FirewallPolicyTests.now + 200) == 0)
        // Full at 2: room again when the first minute leaves, at now + 60 + 3600.
        #expect(window.secondsUntilRoom(under: 2, at: FirewallPolicyTests.now + 200) == 3660 - 200)
        #expect(window.secondsUntilRoom(under: 1, at: FirewallPolicyTests.now + 200) == 3780 - 200)
    }

    @Test func releaseTakesBackTheChargedSendOnly() {
        var window = BudgetWindow().charged(at: FirewallPolicyTests.now).charged(at: FirewallPolicyTests.now + 61)
        window = window.released(chargedAt: FirewallPolicyTests.now + 61, at: FirewallPolicyTests.now + 70)
        #expect(window.used(at: FirewallPolicyTests.now + 70) == 1)
        #expect(window.released(chargedAt: FirewallPolicyTests.now - 7200, at: FirewallPolicyTests.now + 70).used(at: FirewallPolicyTests.now + 70) == 1)
    }

    @Test func windowSurvivesItsEncoding() {
        let window = BudgetWindow().charged(at: FirewallPolicyTests.now).charged(at: FirewallPolicyTests.now + 61).charged(at: FirewallPolicyTests.now + 62)
        #expect(BudgetWindow(encoded: window.encoded) == window)
        #expect(BudgetWindow(encoded: [1, 2, 3]) == nil)
        let tripwire = Tripwire().recording(tag: 7, capacity: 5).recording(tag: 9, capacity: 5).verifying(tag: 7)!
        #expect(Tripwire(encoded: tripwire.encoded) == tripwire)
    }

    @Test(arguments: [
        ("192.0.2.7", "192.0.2.7"),
        ("192.000.002.007", "192.0.2.7"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("2001:0db8:0001:0002::", "2001:db8:1:2::/64"),
        ("2001:db8::1", "2001:db8:0:0::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80:0:0:0::/64"),
    ])
    func addressesAreCountedByIPv4AddressOrIPv6Slash64(text: String, key: String) {
        #expect(ClientAddress(text)?.key == key)
    }

    @Test(arguments: [
        "", "example.com", "1.2.3", "256.1.1.1", "2001:db8::1::2", "1:2:3:4:5:6:7:8:9", "12345::", "1.2.3.4.5", "1..2.3", ".1.2.3",
        "1.2.3.", "1.2.3.0004", "1.2.3.4 ", "١.٢.٣.٤", "+1.2.3.4", "::ffff:1.2.3.256",
    ])
    func notAnAddressIsNoAddress(text: String) {
        #expect(ClientAddress(text) == nil)
    }

    @Test func rotatingWithinA64IsOneAddress() {
        let keys = Set((0..<100).map { ClientAddress("2001:db8:aa:bb:\(String($0, radix: 16))::\($0 + 1)")!.key })
        #expect(keys == ["2001:db8:aa:bb::/64"])
    }

    @Test func tripwireTripsBelowTheVerifiedShareOverTheLastSends() {
        var tripwire = Tripwire()
        for tag in 0..<10 { tripwire = tripwire.recording(tag: UInt32(tag), capacity: 10) }
        for tag in 0..<1 { tripwire = tripwire.verifying(tag: UInt32(tag))! }
        #expect(tripwire.trips(sends: 10, minimumVerifiedPercent: 20))   // 10 % verified
        tripwire = tripwire.verifying(tag: 1)!
        #expect(!tripwire.trips(sends: 10, minimumVerifiedPercent: 20))  // exactly 20 %
        #expect(!Tripwire().recording(tag: 1, capacity: 10).trips(sends: 10, minimumVerifiedPercent: 20))  // too few sends yet
    }

    @Test func tripwireKeepsOnlyTheLastSendsAndFindsTheNewestOfATag() {
        var tripwire = Tripwire()
        for _ in 0..<3 { tripwire = tripwire.recording(tag: 5, capacity: 2) }
        #expect(tripwire.entries.count == 2)
        tripwire = tripwire.verifying(tag: 5)!
        #expect(tripwire.entries.map(\.verified) == [false, true])
        #expect(Tripwire().verifying(tag: 5) == nil)
    }

    @Test func numberCheckOrder() {
        var configuration = FirewallConfiguration()
        configuration.allowedCountries = ["DE"]
        let firewall = SMSFirewall(configuration: configuration)
        #expect(firewall.numberBlock(.init(isValid: false, type: .premiumRate, region: "XX")) == .invalidNumber)
        #expect(firewall.numberBlock(.init(isValid: true, type: .premiumRate, region: "DE")) == .numberType(.premiumRate))
        #expect(firewall.numberBlock(.init(isValid: true, type: .mobile, region: "US")) == .countryNotAllowed)
        #expect(firewall.numberBlock(.init(isValid: true, type: .mobile, region: nil)) == .countryNotAllowed)
        #expect(firewall.numberBlock(.init(isValid: true, type: .mobile, region: "DE")) == nil)
        #expect(SMSFirewall(configuration: FirewallConfiguration()).numberBlock(.init(isValid: true, type: .fixedLineOrMobile, region: "US")) == nil)
    }

    @Test func requestBudgetsComeBeforeTheSMSBudgetsAndChargeOnlyWhenTheyAdmit() {
        var configuration = FirewallConfiguration()
        configuration.limits = [.user: 2, .total: 3]
        let firewall = SMSFirewall(configuration: configuration)
        let keys = firewall.keys(user: "alice", address: ClientAddress("192.0.2.7"), country: "DE")
        var records = FirewallRecords(keys: keys, stored: [])
        for _ in 0..<2 { #expect(firewall.admitRequest(&records, at: FirewallPolicyTests.now) == nil) }
        #expect(firewall.admitRequest(&records, at: FirewallPolicyTests.now) == .overBudget(.user, retryAfterSeconds: 3660))
        #expect(records[BudgetKey(.user, "alice")].window.used(at: FirewallPolicyTests.now) == 2)
        // No address limit, no country limit: nothing charged there.
        #expect(records[BudgetKey(.address, "192.0.2.7")].window.used(at: FirewallPolicyTests.now) == 0)
        for _ in 0..<3 { #expect(firewall.admitSMS(&records, at: FirewallPolicyTests.now).block == nil) }
        let (block, alert) = firewall.admitSMS(&records, at: FirewallPolicyTests.now)
        #expect(block == .overBudget(.total, retryAfterSeconds: 3660))
        #expect(alert)
        #expect(firewall.admitSMS(&records, at: FirewallPolicyTests.now + 10).alert == false)     // once an hour
        #expect(firewall.admitSMS(&records, at: FirewallPolicyTests.now + 3600).alert == true)
    }

    @Test func pausedCountryStopsRequestsUntilTheHourIsOver() {
        let firewall = SMSFirewall(configuration: FirewallConfiguration())
        let country = BudgetKey(.country, "XK")
        var records = FirewallRecords(keys: [country, .total], stored: [FirewallRecord(key: country, pausedUntil: FirewallPolicyTests.now + 100)])
        #expect(firewall.admitRequest(&records, at: FirewallPolicyTests.now) == .countryPaused(retryAfterSeconds: 100))
        #expect(firewall.admitRequest(&records, at: FirewallPolicyTests.now + 100) == nil)
    }

    @Test func tripwirePausesOnceAndStartsOver() {
        var configuration = FirewallConfiguration()
        configuration.tripwireSends = 5
        configuration.tripwireMinimumVerifiedPercent = 20
        let firewall = SMSFirewall(configuration: configuration)
        let country = BudgetKey(.country, "XK")
        var records = FirewallRecords(keys: [country], stored: [])
        let results = (0..<5).map { firewall.recordSend(&records, country: country, tag: UInt32($0), at: FirewallPolicyTests.now) }
        #expect(results == [false, false, false, false, true])
        #expect(records[country].pausedUntil == FirewallPolicyTests.now + 3600)
        #expect(records[country].tripwire.entries.isEmpty)
    }

    @Test func configurationReadsEveryKnob() throws {
        let configuration = try Configuration.load(from: Environment.with(Environment.minimal, [
            "OTP_SMS_FIREWALL_MODE": "monitor", "OTP_SMS_ALLOWED_NUMBER_TYPES": "mobile, voip", "OTP_SMS_ALLOWED_COUNTRIES": "de,at",
            "OTP_SMS_PER_USER_PER_HOUR": "5", "OTP_SMS_PER_ADDRESS_PER_HOUR": "off", "OTP_SMS_PER_COUNTRY_PER_HOUR": "100",
            "OTP_SMS_GLOBAL_PER_HOUR": "2000", "OTP_SMS_TRIPWIRE_SENDS": "30", "OTP_SMS_TRIPWIRE_MIN_VERIFIED": "40",
        ])).firewall
        #expect(configuration.mode == .monitor)
        #expect(configuration.allowedNumberTypes == [.mobile, .voip])
        #expect(configuration.allowedCountries == ["DE", "AT"])
        #expect(configuration.limits == [.user: 5, .country: 100, .total: 2000])
        #expect(configuration.tripwireSends == 30)
        #expect(configuration.tripwireMinimumVerifiedPercent == 40)
        let defaults = try Configuration.load(from: Environment.minimal).firewall
        #expect(defaults.limits == [.user: 10, .address: 20, .total: 1000])
        #expect(defaults.allowedCountries == nil)
    }

    @Test(arguments: [
        ("OTP_SMS_ALLOWED_NUMBER_TYPES", "mobile,satellite"), ("OTP_SMS_ALLOWED_COUNTRIES", "DE,Germany"),
        ("OTP_SMS_PER_USER_PER_HOUR", "0"), ("OTP_SMS_FIREWALL_MODE", "off"), ("OTP_SMS_TRIPWIRE_MIN_VERIFIED", "101"),
    ])
    func badFirewallSettingIsNamed(name: String, value: String) {
        #expect(Environment.named(Environment.with(Environment.minimal, [name: value])) == [name])
    }
}
