import Logging

/// The product: send and verify codes, mint and consume step-up tokens. One instance per worker
/// thread, with that thread's store and SMS sender; the clock and random source are injected.
public final class OTPService {
    public let rules: RulesConfiguration
    let templates: MessageTemplates
    let hasher: SecretHasher
    let store: any OTPStore
    let sender: any SMSSender
    let clock: any UnixClock & MonotonicClock
    var generator: SecretGenerator
    let sendPolicy: SendPolicy
    let verifyPolicy: VerifyPolicy
    let tokenPolicy: StepUpTokenPolicy
    let bindingPolicy: StepUpBindingPolicy
    let firewall: SMSFirewall
    let classifier: any PhoneNumberClassifier
    let logger: Logger
    let metrics: OTPMetrics
    /// What the delivery-status endpoint checks callbacks with.
    public let deliveryCallbacks: DeliveryCallbackConfiguration

    public init(
        rules: RulesConfiguration, templates: MessageTemplates, stepUp: StepUpConfiguration = StepUpConfiguration(),
        firewall: FirewallConfiguration = FirewallConfiguration(), classifier: any PhoneNumberClassifier,
        hasher: SecretHasher, store: any OTPStore, sender: any SMSSender, clock: any UnixClock & MonotonicClock,
        generator: SecretGenerator, logger: Logger, metrics: OTPMetrics = OTPMetrics(),
        deliveryCallbacks: DeliveryCallbackConfiguration = DeliveryCallbackConfiguration()
    ) {
        self.rules = rules
        self.templates = templates
        self.hasher = hasher
        self.store = store
        self.sender = sender
        self.clock = clock
        self.generator = generator
        self.sendPolicy = SendPolicy(rules: rules)
        self.verifyPolicy = VerifyPolicy(rules: rules)
        self.tokenPolicy = StepUpTokenPolicy(rules: rules)
        self.bindingPolicy = StepUpBindingPolicy(configuration: stepUp)
        self.firewall = SMSFirewall(configuration: firewall)
        self.classifier = classifier
        self.logger = logger
        self.metrics = metrics
        self.deliveryCallbacks = deliveryCallbacks
    }

    /// The wall clock's time, for checks outside the rules (a callback's timestamp).
    public func now() -> UnixTime { clock.now() }

    /// True when the database answers.
    public func isHealthy() -> Bool {
        do {
            try store.ping()
            return true
        } catch {
            logger.error("health check failed", metadata: ["event": "health", "error": "\(error)"])
            metrics.storageError(error.kind)
            return false
        }
    }

    /// Runs a read, turning a storage failure into `OTPError` with one log line.
    func reading<T>(_ log: @autoclosure () -> Logger, _ body: () throws(StoreError) -> T) throws(OTPError) -> T {
        do {
            return try body()
        } catch {
            log().error("database unavailable", metadata: ["event": "storage", "error": "\(error)"])
            metrics.storageError(error.kind)
            throw .storageUnavailable(error.kind)
        }
    }

    /// Runs a write transaction, turning a storage failure into `OTPError` with one log line.
    func storing<T>(_ log: Logger, _ body: (any OTPStoreTransaction) throws(StoreError) -> T) throws(OTPError) -> T {
        do {
            return try store.writeTransaction(body)
        } catch {
            log.error("database unavailable", metadata: ["event": "storage", "error": "\(error)"])
            metrics.storageError(error.kind)
            throw .storageUnavailable(error.kind)
        }
    }
}
