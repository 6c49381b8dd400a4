import CoreMetrics

/// The service's counters, through swift-metrics: the process bootstraps a factory (Prometheus in
/// production), tests pass their own. Handles with the same name and labels share one value, so
/// every worker's `OTPMetrics` adds to the same counters. Labels carry outcomes only, never a
/// phone, hash, code or token.
public final class OTPMetrics {
    private let factory: any MetricsFactory
    private var counters: [SeriesKey: Counter] = [:]
    private let providerDuration: Timer

    /// A series: the metric and up to two label values (the label names follow from the metric).
    private struct SeriesKey: Hashable {
        var name: String
        var first: String = ""
        var second: String = ""
    }

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        providerDuration = Timer(label: "otp_sms_provider_duration_seconds", dimensions: [], factory: factory)
    }

    /// What became of a well-formed send.
    public enum SendOutcome: String, CaseIterable, Sendable {
        case sent
        case suppressedCooldown = "suppressed_cooldown"
        case suppressedCap = "suppressed_cap"
        case suppressedLockout = "suppressed_lockout"
        case suppressedInFlight = "suppressed_in_flight"
        case providerError = "provider_error"
        case undeliverable
        case storageError = "storage_error"
    }

    public func send(_ purpose: Purpose, _ outcome: SendOutcome) {
        counter("otp_sends_total", [("purpose", purpose.rawValue), ("outcome", outcome.rawValue)]).increment()
    }

    /// A provider failure, by class: unavailable, rate limit, credentials, rejected request,
    /// recipient that cannot receive SMS, or our own in-flight bound.
    public func providerError(_ error: SMSError) {
        counter("otp_sms_provider_errors_total", [("class", error.metricClass)]).increment()
    }

    public func providerCall(seconds: Double) {
        providerDuration.recordNanoseconds(Int64(seconds * 1_000_000_000))
    }

    public func verify(_ purpose: Purpose, _ outcome: String) {
        counter("otp_verifies_total", [("purpose", purpose.rawValue), ("outcome", outcome)]).increment()
    }

    public func lockout(_ purpose: Purpose) {
        counter("otp_lockouts_total", [("purpose", purpose.rawValue)]).increment()
    }

    public func stepUpCheck(_ outcome: String, reason: String = "") {
        counter("otp_step_up_checks_total", [("outcome", outcome), ("reason", reason)]).increment()
    }

    public func storageError(_ kind: StoreError.Kind) {
        counter("otp_db_errors_total", [("kind", kind.rawValue)]).increment()
    }

    private func counter(_ name: String, _ labels: [(String, String)]) -> Counter {
        let key = SeriesKey(name: name, first: labels.first?.1 ?? "", second: labels.count > 1 ? labels[1].1 : "")
        if let existing = counters[key] { return existing }
        let made = Counter(label: name, dimensions: labels, factory: factory)
        counters[key] = made
        return made
    }
}

extension SMSError {
    /// The provider error class reported in metrics.
    var metricClass: String {
        switch self {
        case .recipientCannotReceive: "recipient_cannot_receive"
        case .unavailable(let reason, _) where reason == "provider_rate_limited": "rate_limited"
        case .unavailable(let reason, _) where reason == BoundedSMSSender.limitReason: "in_flight_limit"
        case .unavailable: "unavailable"
        case .credentialsRejected: "credentials_rejected"
        case .misconfigured: "request_rejected"
        }
    }
}
