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
            sender: BoundedSMSSender(makeSender(configuration: configuration.sms, logger: logger), limit: smsLimit),
            clock: SystemClock(),
            generator: SecretGenerator(random: SystemRandomNumberGenerator()),
            logger: logger
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

    static func makeSender(configuration: SMSConfiguration, logger: Logger) -> any SMSSender {
        switch configuration.provider {
        case .file(let path):
            return FileSMSSender(path: path)
        case .twilio(let twilio):
            return TwilioSMSSender(
                configuration: twilio,
                connectTimeoutSeconds: configuration.connectTimeoutSeconds,
                totalTimeoutSeconds: configuration.totalTimeoutSeconds,
                clock: SystemClock(),
                logger: logger
            )
        }
    }
}
