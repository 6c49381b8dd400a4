import CoreMetrics
import Synchronization

/// The service's counters, through swift-metrics: the process bootstraps a factory (Prometheus in
/// production), tests pass their own. Handles with the same name and labels share one value, so
/// every worker's `OTPMetrics` adds to the same counters. Labels are enums of outcomes, never a
/// phone, hash, code or token.
public final class OTPMetrics {
    private let factory: any MetricsFactory
    private var counters: [SeriesKey: Counter] = [:]
    private let providerDuration: Timer
    private var deliveryLatencies: [String: Timer] = [:]
    private var budgetCounters = [Counter?](repeating: nil, count: BudgetScope.allCases.count)

    /// A series: the metric (by the address of its name, a literal) and up to two label values
    /// (the label names follow from the metric). Found on every request: no name is hashed.
    private struct SeriesKey: Hashable {
        var name: UnsafeRawPointer
        var first: String
        var second: String
    }

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        providerDuration = Timer(label: "otp_sms_provider_duration_seconds", dimensions: [], factory: factory)
    }

    public func send(_ purpose: Purpose, _ outcome: SendMetricOutcome) {
        counter("otp_sends_total", purpose.rawValue, outcome.rawValue,
            labels: [("purpose", purpose.rawValue), ("outcome", outcome.rawValue)]).increment()
    }

    /// A provider failure, by class.
    public func providerError(_ error: SMSError) {
        counter("otp_sms_provider_errors_total", error.failureClass.rawValue, labels: [("class", error.failureClass.rawValue)]).increment()
    }

    public func providerCall(seconds: Double) {
        providerDuration.recordNanoseconds(Int64(seconds * 1_000_000_000))
    }

    /// A delivery status a provider reported (`otp_sms_delivery_total{provider,status}`).
    public func delivery(provider: String, status: DeliveryStatus) {
        counter("otp_sms_delivery_total", provider, status.rawValue,
            labels: [("provider", provider), ("status", status.rawValue)]).increment()
    }

    /// Seconds from the provider's acceptance to the delivery report (`otp_sms_delivery_latency_seconds{provider}`).
    public func deliveryLatency(provider: String, seconds: Int64) {
        let timer = deliveryLatencies[provider] ?? Timer(label: "otp_sms_delivery_latency_seconds", dimensions: [("provider", provider)], factory: factory)
        deliveryLatencies[provider] = timer
        timer.recordSeconds(seconds)
    }

    public func verify(_ purpose: Purpose, _ outcome: VerifyMetricOutcome) {
        counter("otp_verifies_total", purpose.rawValue, outcome.label,
            labels: [("purpose", purpose.rawValue), ("outcome", outcome.label)]).increment()
    }

    public func lockout(_ purpose: Purpose) {
        counter("otp_lockouts_total", purpose.rawValue, labels: [("purpose", purpose.rawValue)]).increment()
    }

    public func stepUpCheck(_ outcome: StepUpCheckMetricOutcome) {
        counter("otp_step_up_checks_total", outcome.outcomeLabel, outcome.reasonLabel,
            labels: [("outcome", outcome.outcomeLabel), ("reason", outcome.reasonLabel)]).increment()
    }

    /// What the SMS firewall stopped, or in monitor mode would have stopped.
    public func firewall(_ reason: FirewallBlockReason, mode: FirewallConfiguration.Mode) {
        counter("otp_sms_firewall_blocks_total", reason.rawValue, mode.rawValue,
            labels: [("reason", reason.rawValue), ("mode", mode.rawValue)]).increment()
    }

    /// One send charged to a budget of `scope`.
    public func budgetCharged(_ scope: BudgetScope) {
        // Up to four a send: kept by scope, not looked up by name and label.
        let index = scope.index
        if let counter = budgetCounters[index] { return counter.increment() }
        let made = counter("otp_sms_budget_charged_total", scope.rawValue, labels: [("scope", scope.rawValue)])
        budgetCounters[index] = made
        made.increment()
    }

    /// The tripwire paused a country.
    public func countryPaused() {
        counter("otp_sms_country_pauses_total", labels: []).increment()
    }

    public func storageError(_ kind: StoreError.Kind) {
        counter("otp_db_errors_total", kind.rawValue, labels: [("kind", kind.rawValue)]).increment()
    }

    /// The counter of a series, made on first use. `labels` is built only then.
    private func counter(
        _ name: StaticString, _ first: String = "", _ second: String = "", labels: @autoclosure () -> [(String, String)]
    ) -> Counter {
        let key = SeriesKey(name: UnsafeRawPointer(name.utf8Start), first: first, second: second)
        if let existing = counters[key] { return existing }
        let made = Counter(label: name.description, dimensions: labels(), factory: factory)
        counters[key] = made
        return made
    }
}

/// Group commit's counters, `otp_db_write_batches_total` and `otp_db_batched_writes_total`: the
/// store counts them itself (`VersionedStore.writeBatches`) and they are carried into the metrics
/// when the metrics are read, so a batch makes no metric call while it holds the writer.
public final class WriteBatchMetrics: Sendable {
    private let batches: Counter
    private let writes: Counter
    private let published = Mutex(WriteBatchCounts(batches: 0, writes: 0))

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        batches = Counter(label: "otp_db_write_batches_total", dimensions: [], factory: factory)
        writes = Counter(label: "otp_db_batched_writes_total", dimensions: [], factory: factory)
    }

    /// Adds what the store counted since the last call (scrapes may run on several workers at once).
    public func publish(_ counts: WriteBatchCounts) {
        published.withLock { last in
            guard counts.batches >= last.batches, counts.writes >= last.writes else { return }
            batches.increment(by: counts.batches - last.batches)
            writes.increment(by: counts.writes - last.writes)
            last = counts
        }
    }
}

/// What became of a well-formed send (`otp_sends_total{outcome}`).
public enum SendMetricOutcome: String, CaseIterable, Sendable {
    case sent
    case suppressedCooldown = "suppressed_cooldown"
    case suppressedCap = "suppressed_cap"
    case suppressedLockout = "suppressed_lockout"
    case suppressedInFlight = "suppressed_in_flight"
    case providerError = "provider_error"
    case undeliverable
    case storageError = "storage_error"
    /// The step-up binding rules refused it (no verified phone, another phone, an unknown action, not a delegate).
    case refused
    /// The SMS firewall stopped it.
    case blocked

    init(_ suppression: SendSuppression) {
        switch suppression {
        case .cooldown: self = .suppressedCooldown
        case .hourlyCap: self = .suppressedCap
        case .lockedOut: self = .suppressedLockout
        case .sendInFlight: self = .suppressedInFlight
        }
    }
}

/// What became of a verification (`otp_verifies_total{outcome}`): verified, the reason it failed,
/// or a storage error.
public enum VerifyMetricOutcome: Sendable, Equatable {
    case verified
    case failed(VerifyFailure)
    case storageError
    /// The step-up binding rules refused it.
    case refused
    /// A verified phone would have been replaced without a `change-phone` step-up.
    case phoneChangeRefused

    var label: String {
        switch self {
        case .verified: "verified"
        case .failed(let reason): reason.rawValue
        case .storageError: "storage_error"
        case .refused: "refused"
        case .phoneChangeRefused: "phone_change_refused"
        }
    }
}

/// What became of a step-up check (`otp_step_up_checks_total{outcome,reason}`).
public enum StepUpCheckMetricOutcome: Sendable, Equatable {
    case admitted
    case denied(StepUpRefusal)
    case storageError

    var outcomeLabel: String {
        switch self {
        case .admitted: "admitted"
        case .denied: "denied"
        case .storageError: "storage_error"
        }
    }

    var reasonLabel: String {
        if case .denied(let reason) = self { return reason.rawValue }
        return ""
    }
}
