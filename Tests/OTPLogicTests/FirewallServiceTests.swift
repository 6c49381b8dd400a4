import MetricsTestKit
import Testing
@testable import OTPLogic
@testable import OTPSQLite
import TestSupport

/// The SMS firewall in the send path, on a real SQLite file with a fixed clock.
@Suite("SMS firewall")
struct FirewallServiceTests {
    static let premium = PhoneNumber("+449012345678")!
    static let landline = PhoneNumber("+4930123456")!
    static let german = PhoneNumber("+4915123456789")!
    static let address = ClientAddress("2001:db8:1:2::7")!
    /// Retry-After of a budget full since the harness's start: until its minute is an hour old.
    static let anHour = Int(3660 - Fixture.start % 60)

    /// Numbers by libphonenumber's facts: US mobiles by default, a German mobile, a UK premium-rate
    /// number and a German landline.
    static var classifier: FixedPhoneNumberClassifier {
        FixedPhoneNumberClassifier(region: "US", facts: [
            premium.e164: .init(isValid: true, type: .premiumRate, region: "GB"),
            landline.e164: .init(isValid: true, type: .fixedLine, region: "DE"),
            german.e164: .init(isValid: true, type: .mobile, region: "DE"),
            "+15005550000": .init(isValid: false, type: .unknown, region: nil),
        ])
    }

    static func harness(_ change: (inout FirewallConfiguration) -> Void = { _ in }, rules: RulesConfiguration = RulesConfiguration()) throws -> Harness {
        var firewall = FirewallConfiguration()
        firewall.tripwireSends = 0
        change(&firewall)
        return try Harness(rules: rules, firewall: firewall, classifier: classifier)
    }

    /// `count` distinct US phones.
    static func phones(_ count: Int, from first: Int = 0) -> [PhoneNumber] {
        (first..<first + count).map { PhoneNumber("+1415555\(String(format: "%04d", $0))")! }
    }

    private func send(_ h: Harness, _ phone: PhoneNumber, user: String? = "alice", address: ClientAddress? = FirewallServiceTests.address) -> Failure? {
        failure { try h.service.send(CodeRequest(purpose: .verifyPhone, phone: phone, principal: user, address: address)) }
    }

    @Test func numbersTheFirewallRefusesGetCannotReceiveAndCountNowhere() throws {
        let h = try FirewallServiceTests.harness { $0.limits = [.user: 1] }
        #expect(send(h, FirewallServiceTests.premium) == .smsBlocked(.numberType(.premiumRate)))
        #expect(send(h, FirewallServiceTests.landline) == .smsBlocked(.numberType(.fixedLine)))
        #expect(send(h, PhoneNumber("+15005550000")!) == .smsBlocked(.invalidNumber))
        #expect(h.sender.attempted.isEmpty)
        #expect(try h.rows("SELECT count(*) FROM otp_codes") == [["0"]])
        // Nothing was counted: alice's one send of the hour is still there.
        #expect(send(h, FirewallServiceTests.phones(1)[0]) == nil)
        let response = h.post("/api/otp/send", RequestJSON.send("+449012345678"))
        #expect(response.status == 422)
        #expect(response.body == #"{"detail": "This phone number cannot receive SMS"}"#)
    }

    @Test func countriesOutsideTheListAreRefused() throws {
        let h = try FirewallServiceTests.harness { $0.allowedCountries = ["DE"] }
        #expect(send(h, FirewallServiceTests.phones(1)[0]) == .smsBlocked(.countryNotAllowed))
        #expect(send(h, FirewallServiceTests.german) == nil)
        #expect(h.sender.delivered.map(\.to) == [FirewallServiceTests.german])
    }

    @Test func userBudgetCountsEveryRequestAndAnswers429WithRetryAfter() throws {
        let h = try FirewallServiceTests.harness({ $0.limits = [.user: 3] }, rules: .with { $0.resendCooldownSeconds = 60 })
        let phones = FirewallServiceTests.phones(2)
        #expect(send(h, phones[0]) == nil)
        #expect(send(h, phones[0]) == nil)  // suppressed by the cooldown, but a request all the same
        #expect(send(h, phones[1]) == nil)
        #expect(send(h, FirewallServiceTests.phones(1, from: 9)[0]) == .smsBlocked(.overBudget(.user, retryAfterSeconds: FirewallServiceTests.anHour)))
        #expect(h.sender.delivered.count == 2)
        // Another user from another address is not affected.
        #expect(send(h, FirewallServiceTests.phones(1, from: 9)[0], user: "bob", address: ClientAddress("192.0.2.1")) == nil)
        let response = h.post("/api/otp/send", RequestJSON.send("+14155559999"), principal: .user("alice"))
        #expect(response.status == 429)
        #expect(response.header("Retry-After") == String(FirewallServiceTests.anHour))
        #expect(response.body == #"{"detail": "Too many requests, try again later"}"#)
    }

    @Test func addressBudgetCountsAnIPv6Slash64AsOne() throws {
        let h = try FirewallServiceTests.harness { $0.limits = [.address: 2] }
        let phones = FirewallServiceTests.phones(3)
        #expect(send(h, phones[0], user: nil, address: ClientAddress("2001:db8:1:2::1")) == nil)
        #expect(send(h, phones[1], user: nil, address: ClientAddress("2001:db8:1:2:ffff:ffff:ffff:ffff")) == nil)
        #expect(send(h, phones[2], user: nil, address: ClientAddress("2001:db8:1:2:abcd::9")) == .smsBlocked(.overBudget(.address, retryAfterSeconds: FirewallServiceTests.anHour)))
        #expect(send(h, phones[2], user: nil, address: ClientAddress("2001:db8:1:3::1")) == nil)
    }

    @Test func totalBudgetCountsSMSOnlyAnswers503AndAlertsOnceAnHour() throws {
        let h = try FirewallServiceTests.harness { $0.limits = [.total: 2] }
        let phones = FirewallServiceTests.phones(4)
        #expect(send(h, phones[0]) == nil)
        #expect(send(h, phones[0]) == nil)  // cooldown: no SMS, not counted in the total
        #expect(send(h, phones[1]) == nil)
        #expect(send(h, phones[2]) == .smsBlocked(.overBudget(.total, retryAfterSeconds: FirewallServiceTests.anHour)))
        #expect(send(h, phones[3]) == .smsBlocked(.overBudget(.total, retryAfterSeconds: FirewallServiceTests.anHour)))
        #expect(h.logs.entries.filter { $0.level == .critical }.count == 1)
        let response = h.post("/api/otp/send", RequestJSON.send("+14155559999"))
        #expect(response.status == 503)
        #expect(response.header("Retry-After") == String(FirewallServiceTests.anHour))
        #expect(response.body == #"{"detail": "Could not send code, try again later"}"#)
        // The window slides on: an hour and a minute later there is room again, and a new alert may come.
        h.clock.advance(by: 3660)
        #expect(send(h, phones[2]) == nil)
    }

    @Test func countryBudgetIsPerCountry() throws {
        let h = try FirewallServiceTests.harness { $0.limits = [.country: 1] }
        #expect(send(h, FirewallServiceTests.phones(1)[0]) == nil)
        #expect(send(h, FirewallServiceTests.phones(1, from: 1)[0]) == .smsBlocked(.overBudget(.country, retryAfterSeconds: FirewallServiceTests.anHour)))
        #expect(send(h, FirewallServiceTests.german) == nil)
    }

    @Test func aSendThatCertainlyFailedGivesTheSMSBudgetsBack() throws {
        let h = try FirewallServiceTests.harness { $0.limits = [.total: 1] }
        h.sender.failNextSend(with: .unavailable(.unreachable, retryAfterSeconds: 5))
        #expect(send(h, FirewallServiceTests.phones(1)[0]) == .smsUnavailable(retryAfter: 5))
        #expect(send(h, FirewallServiceTests.phones(1, from: 1)[0]) == nil)
    }

    @Test func anUnknownOutcomeCountsForEveryBudgetCooldownAndCapAndItsCodeNeverVerifies() throws {
        let h = try FirewallServiceTests.harness({ $0.limits = [.total: 2] }, rules: .with { $0.resendCooldownSeconds = 60; $0.maxSendsPerHour = 2 })
        let phone = FirewallServiceTests.phones(1)[0]
        h.sender.failNextSend(with: .outcomeUnknown(.timeout, retryAfterSeconds: 30))
        #expect(send(h, phone) == .smsUnavailable(retryAfter: 30))
        let maybeDelivered = try #require(h.sender.attempted.last.flatMap { h.code(in: $0.body) })
        #expect(failure { try h.verify(maybeDelivered, phone) } == .invalidOrExpiredCode)
        // The cooldown runs: a second send right away is suppressed.
        #expect(try h.send(phone) == .suppressed(.cooldown))
        h.clock.advance(by: 61)
        #expect(try h.send(phone) == .sent)
        // Two sends in the hour: the cap is reached, and so is the total budget.
        h.clock.advance(by: 61)
        #expect(try h.send(phone) == .suppressed(.hourlyCap))
        #expect(send(h, FirewallServiceTests.phones(1, from: 1)[0]) == .smsBlocked(.overBudget(.total, retryAfterSeconds: FirewallServiceTests.anHour - 122)))
    }

    @Test func monitorModeBlocksNothingButLogsAndCountsWhatEnforceWould() throws {
        let metrics = TestMetrics()
        var firewall = FirewallConfiguration()
        firewall.mode = .monitor
        firewall.limits = [.user: 1, .total: 1]
        firewall.tripwireSends = 0
        let h = try Harness(firewall: firewall, classifier: FirewallServiceTests.classifier, metrics: OTPMetrics(factory: metrics))
        #expect(send(h, FirewallServiceTests.premium) == nil)
        #expect(send(h, FirewallServiceTests.phones(1)[0]) == nil)
        #expect(send(h, FirewallServiceTests.phones(1, from: 1)[0]) == nil)
        #expect(h.sender.delivered.count == 3)
        let reasons = h.logs.entries.filter { $0.metadata["outcome"] == "would_block" }.compactMap { $0.metadata["reason"] }
        #expect(reasons == ["number_type", "user_budget", "total_budget", "user_budget", "total_budget"])
        #expect(try metrics.expectCounter("otp_sms_firewall_blocks_total", [("reason", "user_budget"), ("mode", "monitor")]).totalValue == 2)
    }

    /// Monitor mode with either sender: a country its tripwire paused goes on getting SMS, and every
    /// send to it logs and counts what enforce mode would have stopped.
    @Test(arguments: [false, true])
    func monitorModeReportsSendsToAPausedCountry(immediateSender: Bool) throws {
        let metrics = TestMetrics()
        var firewall = FirewallConfiguration()
        firewall.mode = .monitor
        firewall.limits = [:]
        firewall.tripwireSends = 3
        let h = try Harness(immediateSender: immediateSender, firewall: firewall, classifier: FirewallServiceTests.classifier, metrics: OTPMetrics(factory: metrics))
        for phone in FirewallServiceTests.phones(5) { #expect(send(h, phone) == nil) }
        #expect(h.sender.delivered.count == 5)
        #expect(h.logs.entries.filter { $0.metadata["outcome"] == "country_paused" }.count == 1)
        let reasons = h.logs.entries.filter { $0.metadata["outcome"] == "would_block" }.compactMap { $0.metadata["reason"] }
        #expect(reasons == ["country_paused", "country_paused"])
        #expect(try metrics.expectCounter("otp_sms_firewall_blocks_total", [("reason", "country_paused"), ("mode", "monitor")]).totalValue == 2)
    }

    @Test func countryWhoseCodesAreNeverVerifiedIsPausedForAnHourLoggedOnce() throws {
        var firewall = FirewallConfiguration()
        firewall.limits = [:]
        firewall.tripwireSends = 5
        firewall.tripwireMinimumVerifiedPercent = 20
        let h = try Harness(firewall: firewall, classifier: FirewallServiceTests.classifier)
        for phone in FirewallServiceTests.phones(5) { #expect(send(h, phone) == nil) }
        #expect(send(h, FirewallServiceTests.phones(1, from: 5)[0]) == .smsBlocked(.countryPaused(retryAfterSeconds: 3600)))
        #expect(send(h, FirewallServiceTests.german) == nil)
        #expect(h.logs.entries.filter { $0.level == .critical && $0.metadata["outcome"] == "country_paused" }.count == 1)
        h.clock.advance(by: 3600)
        #expect(send(h, FirewallServiceTests.phones(1, from: 6)[0]) == nil)
    }

    @Test func verifiedCodesKeepTheTripwireQuiet() throws {
        var firewall = FirewallConfiguration()
        firewall.limits = [:]
        firewall.tripwireSends = 5
        firewall.tripwireMinimumVerifiedPercent = 20
        let h = try Harness(firewall: firewall, classifier: FirewallServiceTests.classifier)
        for (index, phone) in FirewallServiceTests.phones(10).enumerated() {
            #expect(send(h, phone) == nil)
            if index.isMultiple(of: 2) { try h.verify(try #require(h.lastCode), phone) }
        }
        #expect(try h.rows("SELECT count(*) FROM sms_firewall WHERE paused_until IS NOT NULL") == [["0"]])
    }

    @Test func twilioPumpingAnswersCannotReceiveAndFeedsTheTripwire() throws {
        var firewall = FirewallConfiguration()
        firewall.limits = [:]
        firewall.tripwireSends = 2
        let h = try Harness(firewall: firewall, classifier: FirewallServiceTests.classifier)
        for phone in FirewallServiceTests.phones(2) {
            h.sender.failNextSend(with: .recipientCannotReceive(providerCode: 30453))
            #expect(send(h, phone) == .recipientCannotReceiveSMS)
        }
        #expect(send(h, FirewallServiceTests.phones(1, from: 2)[0]) == .smsBlocked(.countryPaused(retryAfterSeconds: 3600)))
    }

    @Test func theImmediateSenderMeetsTheSameFirewall() throws {
        var firewall = FirewallConfiguration()
        firewall.limits = [.total: 1]
        firewall.tripwireSends = 0
        let h = try Harness(immediateSender: true, firewall: firewall, classifier: FirewallServiceTests.classifier)
        h.sender.failNextSend(with: .unavailable(.sinkWriteFailed(errno: 28), retryAfterSeconds: 30))
        #expect(send(h, FirewallServiceTests.phones(1)[0]) == .smsUnavailable(retryAfter: 30))
        #expect(send(h, FirewallServiceTests.phones(1, from: 1)[0]) == nil)
        #expect(send(h, FirewallServiceTests.phones(1, from: 2)[0]) == .smsBlocked(.overBudget(.total, retryAfterSeconds: FirewallServiceTests.anHour)))
    }

    /// Part of the store contract: on every store.
    @Test(arguments: StoreKind.all)
    func budgetsAreExactUnderConcurrency(_ kind: StoreKind) throws {
        var firewall = FirewallConfiguration()
        firewall.limits = [.total: 7, .user: 5]
        firewall.tripwireSends = 0
        let h = try Harness(firewall: firewall, classifier: FirewallServiceTests.classifier, store: kind)
        let (location, rules, clock, configuration) = (h.location, h.rules, h.clock, firewall)
        let outcomes = Locked<[String]>([])
        let finished = runOnThreads(40) { index, barrier in
            guard let service = try? Harness.worker(location: location, rules: rules, clock: clock, logs: LogRecorder(), seed: UInt64(index), firewall: configuration,
                                                     classifier: FirewallServiceTests.classifier) else {
                barrier()
                return
            }
            barrier()
            // Half the requests come from one user: at most 5 of theirs, and 7 in all, get an SMS.
            let user = index.isMultiple(of: 2) ? "alice" : nil
            let refusal = failure {
                try service.send(CodeRequest(purpose: .verifyPhone, phone: FirewallServiceTests.phones(1, from: index)[0], principal: user))
            }
            outcomes.update { $0.append((user ?? "anonymous") + " " + (refusal.map { "\($0)" } ?? "sent")) }
        }
        try #require(finished)
        #expect(outcomes.value.filter { $0.hasSuffix(" sent") }.count == 7)
        #expect(outcomes.value.filter { $0 == "alice sent" }.count <= 5)
        #expect(outcomes.value.count == 40)
        withExtendedLifetime(h) {}
    }
}
