import Logging
import OTPLogic
import OTPPhoneNumbers
import OTPPostgres
import OTPSMS
import OTPSQLite
import OTPSystem

/// The composition root: builds one worker's objects from the configuration — its own database
/// connection, its own SMS sender (with its own libcurl handle), the system clocks and random
/// source — and the service and handler over them.
enum WorkerComponents {
    static func makeHandler(
        configuration: Configuration, smsLimit: SMSInFlightLimit, exposure: APIHandler.Exposure = .everything, logger: Logger,
        metricsExposition: (@Sendable () -> String)? = nil
    ) throws(StoreError) -> APIHandler {
        APIHandler(
            service: try makeService(configuration: configuration, smsLimit: smsLimit, logger: logger),
            exposure: exposure, logger: logger, metricsExposition: metricsExposition
        )
    }

    static func makeService(configuration: Configuration, smsLimit: SMSInFlightLimit, logger: Logger) throws(StoreError) -> OTPService {
        OTPService(
            rules: configuration.rules,
            templates: configuration.templates,
            stepUp: configuration.stepUp,
            firewall: configuration.firewall,
            classifier: LibPhoneNumberClassifier(),
            hasher: SecretHasher(pepper: configuration.pepper),
            store: try openStore(configuration),
            // One in-flight slot per send, however many providers of the chain it tries.
            sender: BoundedSMSSender(makeSender(configuration: configuration.sms, logger: logger), limit: smsLimit),
            clock: SystemClock(),
            generator: SecretGenerator(random: SystemRandomNumberGenerator()),
            logger: logger,
            deliveryCallbacks: DeliveryCallbackConfiguration(configuration.sms)
        )
    }

    /// The database, opened and migrated: the SQLite file, or this worker's connection to the
    /// PostgreSQL database every node shares.
    static func openStore(_ configuration: Configuration) throws(StoreError) -> any VersionedStore {
        switch configuration.database {
        case .sqlite(let sqlite): try SQLiteOTPStore(configuration: sqlite, clock: SystemClock())
        case .postgres(let postgres): try PostgresOTPStore(configuration: postgres, clock: SystemClock())
        }
    }

    /// Read-only findings about the configured database for `check-config`.
    static func inspectDatabase(_ configuration: Configuration) -> [DatabaseFinding] {
        switch configuration.database {
        case .sqlite(let sqlite): DatabaseInspection.inspect(sqlite)
        case .postgres(let postgres): PostgresInspection.inspect(postgres, clock: SystemClock())
        }
    }

    /// The providers of `OTP_SMS_PROVIDER` in order, behind the failover rule.
    static func makeSender(configuration: SMSConfiguration, logger: Logger) -> any SMSSender {
        FailoverSMSSender(
            configuration.providers.map { FailoverSMSSender.Link(name: $0.name, sender: makeProvider($0, configuration: configuration, logger: logger)) },
            clock: SystemClock(), logger: logger
        )
    }

    static func makeProvider(_ provider: SMSConfiguration.Provider, configuration: SMSConfiguration, logger: Logger) -> any SMSSender {
        let settings = ProviderSettings(
            connectTimeoutSeconds: configuration.connectTimeoutSeconds, totalTimeoutSeconds: configuration.totalTimeoutSeconds, clock: SystemClock(),
            logger: logger
        )
        switch provider {
        case .file(let path): return FileSMSSender(path: path)
        case .twilio(let twilio): return TwilioSMSSender(configuration: twilio, statusCallback: configuration.statusCallbackURL, settings: settings)
        case .sns(let sns): return SNSSMSSender(configuration: sns, wallClock: SystemClock(), settings: settings)
        case .vonage(let vonage): return VonageSMSSender(configuration: vonage, settings: settings)
        }
    }
}
