import Logging

/// Builds the per-thread objects of one worker: its own database connection, its own SMS sender
/// (with its own libcurl handle), and the service and handler over them.
public enum WorkerComponents {
    public static func makeHandler(
        configuration: Configuration, smsLimit: SMSInFlightLimit, logger: Logger,
        metricsExposition: (@Sendable () -> String)? = nil
    ) throws(StoreError) -> APIHandler {
        APIHandler(
            service: try makeService(configuration: configuration, smsLimit: smsLimit, logger: logger),
            logger: logger, metricsExposition: metricsExposition
        )
    }

    public static func makeService(configuration: Configuration, smsLimit: SMSInFlightLimit, logger: Logger) throws(StoreError) -> OTPService {
        let store = try SQLiteOTPStore(configuration: configuration.database)
        return OTPService(
            rules: configuration.rules,
            templates: configuration.templates,
            hasher: SecretHasher(pepper: configuration.pepper),
            store: store,
            sender: BoundedSMSSender(makeSender(configuration: configuration.sms, logger: logger), limit: smsLimit),
            clock: SystemUnixClock(),
            generator: SecretGenerator(random: SystemRandomNumberGenerator()),
            logger: logger
        )
    }

    public static func makeSender(configuration: SMSConfiguration, logger: Logger) -> any SMSSender {
        switch configuration.provider {
        case .file(let path):
            return FileSMSSender(path: path)
        case .twilio(let twilio):
            return TwilioSMSSender(
                configuration: twilio,
                connectTimeoutSeconds: configuration.connectTimeoutSeconds,
                totalTimeoutSeconds: configuration.totalTimeoutSeconds,
                logger: logger
            )
        }
    }
}
