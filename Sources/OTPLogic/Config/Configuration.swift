import Logging

/// Everything otp-fcgi reads from its environment, validated once at start.
public struct Configuration: Sendable {
    public var rules: RulesConfiguration
    public var pepper: Secret
    public var database: DatabaseConfiguration
    public var sms: SMSConfiguration
    public var templates: MessageTemplates
    public var stepUp: StepUpConfiguration
    public var firewall: FirewallConfiguration
    public var logLevel: Logger.Level

    public init(
        rules: RulesConfiguration, pepper: Secret, database: DatabaseConfiguration,
        sms: SMSConfiguration, templates: MessageTemplates, stepUp: StepUpConfiguration = StepUpConfiguration(),
        firewall: FirewallConfiguration = FirewallConfiguration(), logLevel: Logger.Level = .info
    ) {
        self.rules = rules
        self.pepper = pepper
        self.database = database
        self.sms = sms
        self.templates = templates
        self.stepUp = stepUp
        self.firewall = firewall
        self.logLevel = logLevel
    }
}

/// The numbers the OTP and step-up rules run on.
public struct RulesConfiguration: Sendable, Equatable {
    public var codeLength: Int = 6
    public var codeTTLSeconds: Int64 = 600
    public var resendCooldownSeconds: Int64 = 60
    public var maxAttempts: Int = 3
    public var maxSendsPerHour: Int = 3
    public var stepUpTokenTTLSeconds: Int64 = 300
    /// Length of the window `OTP_MAX_SENDS_PER_HOUR` counts in.
    public var sendWindowSeconds: Int64 = 3600
    /// How long a send that has not come back from the provider blocks another send for the same
    /// phone and purpose; past this it is taken as lost (a crashed process).
    public var sendInFlightSeconds: Int64 = 60

    public init() {}

    /// The code lifetime rounded up to whole minutes, as the SMS text shows it.
    public var codeTTLMinutes: Int { Int((codeTTLSeconds + 59) / 60) }
}

/// A value that must never be printed: `description` hides it.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

extension Configuration {
    public static let minimumPepperLength = 32
    public static let defaultDatabasePath = "/var/lib/otp-fcgi/otp.sqlite3"

    /// Reads and validates the environment (and the files it names, through `files`). Throws one
    /// error listing every offending variable.
    public static func load(from environment: [String: String], files: ConfigurationFiles = .none) throws(ConfigurationError) -> Configuration {
        var reader = EnvironmentReader(environment)

        var rules = RulesConfiguration()
        rules.codeLength = reader.integer("OTP_CODE_LENGTH", default: 6, range: 4...10)
        rules.codeTTLSeconds = Int64(reader.integer("OTP_TTL_SECONDS", default: 600, range: 30...86_400))
        rules.resendCooldownSeconds = Int64(reader.integer("OTP_RESEND_COOLDOWN_SECONDS", default: 60, range: 0...3600))
        rules.maxAttempts = reader.integer("OTP_MAX_ATTEMPTS", default: 3, range: 1...100)
        rules.maxSendsPerHour = reader.integer("OTP_MAX_SENDS_PER_HOUR", default: 3, range: 1...1000)
        rules.stepUpTokenTTLSeconds = Int64(reader.integer("STEP_UP_TOKEN_TTL_SECONDS", default: 300, range: 10...86_400))

        var pepper = Secret("")
        if let value = reader.required("OTP_PEPPER", because: "(a random secret of at least \(minimumPepperLength) characters)") {
            if value.utf8.count < minimumPepperLength {
                reader.problem("OTP_PEPPER", "must be at least \(minimumPepperLength) characters (it is \(value.utf8.count))")
            }
            pepper = Secret(value)
        }

        let database = DatabaseConfiguration.read(&reader, defaultPath: defaultDatabasePath)

        let sms = SMSConfiguration.read(&reader)
        rules.sendInFlightSeconds = Int64(sms.chainTimeoutSeconds) * 2 + 30

        let stepUp = StepUpConfiguration.read(&reader, readFile: files.read)
        let firewall = FirewallConfiguration.read(&reader)
        let templates = TemplateReader(rules: rules, actions: stepUp.actions, files: files).read(&reader)
        let logLevel = reader.choice("OTP_LOG_LEVEL", default: Logger.Level.info, allowed: Logger.Level.allCases)

        guard reader.problems.isEmpty, let templates else { throw ConfigurationError(problems: reader.problems) }
        return Configuration(
            rules: rules, pepper: pepper, database: database, sms: sms, templates: templates, stepUp: stepUp, firewall: firewall,
            logLevel: logLevel
        )
    }
}
