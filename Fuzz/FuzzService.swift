#if canImport(Glibc)
import Glibc
#endif
import Logging
import OTPLogic
import OTPSQLite
import TestSupport

/// The real service the request target drives: SQLite in a file in a temporary directory (made
/// once per process, removed at exit), a fixed pepper, and a clock, SMS provider and random
/// source the input controls. `freshHandler()` empties the database first, so an input always
/// gets the same answers whatever ran before it.
final class FuzzService {
    nonisolated(unsafe) static let shared = FuzzService()

    let clock = FixedClock(FuzzClockStep.start, bootID: "otp-fuzz")
    /// Its messages are the bare code (see `freshHandler`), so it knows every code it accepted.
    let sender = RecordingSMSSender()
    let log = LogRecorder()
    private let store: SQLiteOTPStore
    private let rules = RulesConfiguration()
    /// The phone on record of the corpus's users (their step-up codes go there).
    static let phoneOnRecord = PhoneNumber("+14155550123")!
    static let seededUsers = ["alice", "bob"]
    /// An action of the operator's, and a delegate, for the inputs that find them.
    static let stepUp = StepUpConfiguration(actions: StepUpActions(["cancel-appointment": "cancel"]), delegates: ["agent"])
    /// Every principal and subject an input named: their verified phones are forgotten before the next input.
    private var principals: Set<String> = []

    /// Remembers a principal or subject of the current input.
    func saw(_ principal: String?) {
        if let principal { principals.insert(principal) }
    }

    private init() {
        var template = Array("/tmp/otp-fuzz-XXXXXX".utf8CString)
        guard let directory = mkdtemp(&template) else { fatalError("otp-fuzz: mkdtemp failed, errno \(errno)") }
        FuzzService.directory = String(cString: directory)
        atexit { FuzzService.removeDatabase() }
        do {
            store = try SQLiteOTPStore(
                configuration: SQLiteConfiguration(path: FuzzService.directory + "/otp.sqlite3", synchronous: .normal), clock: clock
            )
        } catch {
            fatalError("otp-fuzz: cannot open the database: \(error)")
        }
    }

    /// A handler over an empty database (but alice's and bob's verified phone), with the clock,
    /// provider and random source reset: the same answers for the same input, whatever ran before.
    func freshHandler() -> APIHandler {
        do {
            _ = try store.purge(RetentionPolicy(rules: rules).purgeCutoffs(at: FuzzClockStep.start + 1 << 32))
            for principal in principals { _ = try store.resetPhone(userID: principal) }
            principals = []
            try store.writeTransaction { transaction throws(StoreError) in
                for user in FuzzService.seededUsers {
                    try transaction.markPhoneVerified(userID: user, phone: FuzzService.phoneOnRecord, at: FuzzClockStep.start)
                }
            }
        } catch {
            fatalError("otp-fuzz: cannot empty the database: \(error)")
        }
        clock.reset()
        sender.reset()
        log.reset()
        let logger = log.logger(label: "otp-fuzz")
        // `{code}` alone: the message the provider gets is the code, so the target knows every code.
        let template = try! MessageTemplate(parsing: "{code}")
        let service = OTPService(
            rules: rules, templates: MessageTemplates(verifyPhone: template, stepUp: template),
            stepUp: FuzzService.stepUp, firewall: FuzzService.firewall, classifier: FixedPhoneNumberClassifier(),
            hasher: SecretHasher(pepper: Secret("otp-fuzz pepper, 32 characters or more")), store: store,
            sender: BoundedSMSSender(sender, limit: SMSInFlightLimit(maximum: 1)), clock: clock,
            generator: SecretGenerator(random: SplitMix64(seed: 0x5EED_0F_07_FC61)), logger: logger
        )
        return APIHandler(service: service, logger: logger)
    }

    /// Budgets and the tripwire off: an input's answers depend on it alone (their rules have
    /// their own tests); the number check runs, with every number a valid mobile.
    static var firewall: FirewallConfiguration {
        var configuration = FirewallConfiguration()
        configuration.limits = [:]
        configuration.tripwireSends = 0
        return configuration
    }

    nonisolated(unsafe) private static var directory = ""

    private static func removeDatabase() {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(directory + "/otp.sqlite3" + suffix) }
        rmdir(directory)
    }
}
