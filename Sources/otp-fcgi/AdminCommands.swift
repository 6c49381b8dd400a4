import ArgumentParser
import Glibc
import Logging
import OTPLogic
import OTPSystem

/// Where an admin command's configuration comes from, besides its environment.
struct ConfigurationSource: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Read the variables from this file too (systemd's EnvironmentFile format), e.g. /etc/otp-fcgi/otp-fcgi.env: secrets never go on a command line.",
        valueName: "path"
    ))
    var envFile: String?

    /// The process environment, with the file's variables over it.
    func environment() throws -> [String: String] {
        var environment = ProcessEnvironment.current()
        guard let envFile else { return environment }
        guard let text = TextFile.read(envFile) else {
            StartupFailure.report("otp-fcgi: --env-file: cannot read \(envFile)")
            throw ExitCode(78)
        }
        do {
            environment.merge(try EnvironmentFile.parse(text)) { _, fromFile in fromFile }
        } catch {
            StartupFailure.report("otp-fcgi: --env-file \(envFile): \(error.description)")
            throw ExitCode(78)
        }
        return environment
    }
}

/// Loads the configuration for an admin command, printing every problem on failure. Without a
/// parsed `source` (a command with no --env-file option), from the process environment alone.
func loadConfiguration(_ source: ConfigurationSource? = nil) throws -> Configuration {
    do {
        return try Configuration.load(from: source?.environment() ?? ProcessEnvironment.current(), files: .system)
    } catch let error as ConfigurationError {
        StartupFailure.report("otp-fcgi: \(error.description)")
        throw ExitCode(78)
    }
}

func openStore(_ configuration: Configuration) throws -> any VersionedStore {
    do {
        return try WorkerComponents.openStore(configuration)
    } catch {
        StartupFailure.report("otp-fcgi: \(configuration.database.displayName): \(error.description)")
        throw ExitCode(74)
    }
}

func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check the environment, the database, the SMS templates and the provider settings.",
        discussion: """
            Reads the same environment as `serve` and prints every problem found, then exits 0 when
            there is none and 78 otherwise. Opens the database read-only: nothing is created or migrated.
            Secrets (OTP_PEPPER, TWILIO_AUTH_TOKEN, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
            VONAGE_API_SECRET, VONAGE_SIGNATURE_SECRET) are never printed.
            """
    )

    @OptionGroup var source: ConfigurationSource

    func run() throws {
        var problems: [String] = []
        var notes: [String] = []
        var warnings: [String] = []
        var configuration: Configuration?
        let environment = try source.environment()
        do {
            configuration = try Configuration.load(from: environment, files: .system)
        } catch {
            problems += error.problems
        }
        if let configuration {
            for finding in WorkerComponents.inspectDatabase(configuration) {
                switch finding {
                case .problem(let text): problems.append(text)
                case .note(let text): notes.append(text)
                }
            }
            for (index, provider) in configuration.sms.providers.enumerated() {
                let place = configuration.sms.providers.count > 1 ? " (\(index + 1) of \(configuration.sms.providers.count) in failover order)" : ""
                switch provider {
                case .file(let path): notes.append("SMS provider: file (\(path)) — development only, no SMS is sent")
                case .twilio(let twilio): notes.append("SMS provider: twilio at \(twilio.apiBase), messaging service \(twilio.messagingServiceSID)" + place)
                case .sns(let sns): notes.append("SMS provider: sns at \(sns.apiBase), region \(sns.region)" + place)
                case .vonage(let vonage):
                    notes.append("SMS provider: vonage at \(vonage.apiBase), from \(vonage.from)" + place)
                    if vonage.signatureSecret == nil {
                        warnings.append("VONAGE_SIGNATURE_SECRET is unset: Vonage delivery receipts are refused (403); set it and ask Vonage for signed webhooks")
                    }
                }
            }
            if let callback = configuration.sms.statusCallbackURL {
                notes.append("delivery status callbacks: \(callback)")
            } else if configuration.sms.providers.contains(where: { if case .twilio = $0 { true } else { false } }) {
                warnings.append("OTP_PUBLIC_BASE_URL is unset: Twilio sends no delivery status, and its callbacks are refused")
            }
            for entry in configuration.templates.all {
                let encoding = SMSEncoding(of: configuration.longestText(of: entry.template))
                let line = "template \(entry.name): \(encoding) at the longest code and action text"
                if encoding.segments > 1 {
                    warnings.append(line + ": more than one SMS, and each is billed (shorten it, or avoid characters outside GSM-7)")
                } else {
                    notes.append(line)
                }
            }
            notes.append("step-up actions: \(configuration.stepUp.actions.names.joined(separator: ", "))"
                + (configuration.stepUp.delegates.isEmpty ? "" : "; delegates: \(configuration.stepUp.delegates.sorted().joined(separator: ", "))"))
            notes.append("SMS firewall: \(configuration.firewall.mode.rawValue) mode")
            if configuration.firewall.allowedCountries == nil {
                warnings.append("OTP_SMS_ALLOWED_COUNTRIES is unset: SMS may go to every country. List the countries your users live in (e.g. DE,AT,CH): pumping fraud goes to the others")
            }
        }
        for note in notes { say("ok: \(note)") }
        for warning in warnings { say("warning: \(warning)") }
        for problem in problems { say("problem: \(problem)") }
        guard problems.isEmpty else { throw ExitCode(78) }
        say("configuration is valid")
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the database or bring its schema up to date, then exit.",
        discussion: "`serve` does the same at start. Refuses a database whose schema is newer than this binary."
    )

    @OptionGroup var source: ConfigurationSource

    func run() throws {
        let store = try openStore(try loadConfiguration(source))
        let (from, to) = store.migration
        say(from == to ? "schema is up to date (version \(to))" : "migrated schema from version \(from) to \(to)")
    }
}

struct Purge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete expired codes, step-up tokens and week-old delivery statuses now and print how many.",
        discussion: "`serve` does this every minute. A code row is kept while its cooldown or hourly window runs."
    )

    @OptionGroup var source: ConfigurationSource

    func run() throws {
        let configuration = try loadConfiguration(source)
        let store = try openStore(configuration)
        do {
            let counts = try store.purge(RetentionPolicy(rules: configuration.rules).purgeCutoffs(at: SystemClock().now()))
            say("purged \(counts.codes) code rows, \(counts.tokens) step-up tokens and \(counts.deliveries) delivery statuses")
        } catch {
            StartupFailure.report("otp-fcgi: purge failed: \(error.description)")
            throw ExitCode(74)
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print counts of live codes, lockouts, live step-up tokens, recent sends and the delivery rate per provider.",
        discussion: "Counts only: never a phone number, a hash, a code or a token."
    )

    @OptionGroup var source: ConfigurationSource

    func run() throws {
        let configuration = try loadConfiguration(source)
        let store = try openStore(configuration)
        let statistics: StoreStatistics
        let deliveries: DeliveryStatistics
        do {
            let now = SystemClock().now()
            statistics = try StoreStatistics.collect(from: store, at: now, rules: configuration.rules)
            deliveries = DeliveryStatistics(try store.smsDeliveries(sentSince: now - 3600))
        } catch {
            StartupFailure.report("otp-fcgi: stats failed: \(error.description)")
            throw ExitCode(74)
        }
        for purpose in Purpose.allCases {
            let counts = statistics.codes[purpose] ?? .init()
            say("codes \(purpose.rawValue): active \(counts.active), locked out \(counts.lockedOut), used \(counts.used), sending \(counts.pending)")
        }
        say("step-up tokens live: \(statistics.liveTokens) (used \(statistics.usedLiveTokens))")
        say("SMS sent in the last hour: \(statistics.sendsLastHour)")
        for (provider, counts) in deliveries.providers.sorted(by: { $0.key < $1.key }) {
            let rate = counts.deliveryRatePercent.map { percent in
                let tenths = Int((percent * 10).rounded())
                return "\(tenths / 10).\(tenths % 10)%"
            } ?? "n/a"
            say("delivery in the last hour, \(provider): accepted \(counts.accepted), delivered \(counts.delivered), not delivered \(counts.notDelivered), no report yet \(counts.pending), delivery rate \(rate)")
        }
    }
}

struct ResetPhone: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset-phone",
        abstract: "Forget USER's verified phone (a support desk's answer to a lost phone); logged as an audit event.",
        discussion: """
            The user then verifies a new phone with verify_phone, which needs no step-up while the
            account has no verified phone. Check who is asking before you run this: it is the one
            way around the rule that only the old phone may approve a new one.
            """
    )

    @Argument(help: "The principal (REMOTE_USER) whose verified phone to forget.")
    var user: String

    @OptionGroup var source: ConfigurationSource

    func run() throws {
        let configuration = try loadConfiguration(source)
        let store = try openStore(configuration)
        LoggingSystem.bootstrap { _ in KeyValueLogHandler(logLevel: configuration.logLevel) }
        let logger = Logger(label: "otp-fcgi")
        let reset: Bool
        do {
            reset = try store.resetPhone(userID: user)
        } catch {
            StartupFailure.report("otp-fcgi: reset-phone failed: \(error.description)")
            throw ExitCode(74)
        }
        logger.notice("verified phone reset by an operator", metadata: [
            "event": "audit", "action": "reset_phone", "user": "\(user)", "outcome": "\(reset ? "reset" : "no_verified_phone")",
            "operator_uid": "\(getuid())",
        ])
        say(reset ? "reset the verified phone of \(user)" : "\(user) has no verified phone; nothing changed")
    }
}
