import Logging
import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

/// Environments and helpers for `Configuration.load(from:)`.
enum Environment {
    static let accountSID = "AC0123456789abcdef0123456789ABCDEF"
    static let serviceSID = "MG0123456789abcdef0123456789abcdef"
    static let authToken = "twilio-auth-token-do-not-print-0042"

    /// The smallest valid environment: a pepper and the file sink.
    static let minimal = ["OTP_PEPPER": Fixture.pepper, "OTP_SMS_PROVIDER": "file", "OTP_SMS_FILE": "/tmp/otp-sms.jsonl"]

    static let twilio = [
        "OTP_PEPPER": Fixture.pepper, "TWILIO_ACCOUNT_SID": accountSID, "TWILIO_AUTH_TOKEN": authToken,
        "TWILIO_MESSAGING_SERVICE_SID": serviceSID,
    ]

    static func with(_ base: [String: String], _ changes: [String: String?]) -> [String: String] {
        var environment = base
        for (name, value) in changes { environment[name] = value }
        return environment
    }

    /// The error `load` throws, or nil when the environment was accepted.
    static func error(_ environment: [String: String]) -> ConfigurationError? {
        do {
            _ = try Configuration.load(from: environment)
            return nil
        } catch {
            return error
        }
    }

    /// The variables the error names, in order.
    static func named(_ environment: [String: String]) -> [String] {
        error(environment)?.problems.map { String($0.prefix { $0 != ":" }) } ?? []
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test func onlyPepperAndFileProviderGiveTheDefaults() throws {
        let configuration = try Configuration.load(from: Environment.minimal)
        let rules = configuration.rules
        #expect(rules.codeLength == 6)
        #expect(rules.codeTTLSeconds == 600)
        #expect(rules.resendCooldownSeconds == 60)
        #expect(rules.maxAttempts == 3)
        #expect(rules.maxSendsPerHour == 3)
        #expect(rules.stepUpTokenTTLSeconds == 300)
        #expect(rules.sendWindowSeconds == 3600)
        #expect(rules.sendInFlightSeconds == 50)
        #expect(configuration.pepper.value == Fixture.pepper)
        #expect(configuration.database == DatabaseConfiguration(path: "/var/lib/otp-fcgi/otp.sqlite3", busyTimeoutMilliseconds: 2000, synchronous: .full))
        #expect(configuration.sms.connectTimeoutSeconds == 5)
        #expect(configuration.sms.totalTimeoutSeconds == 10)
        guard case .file(let path) = configuration.sms.provider else {
            Issue.record("provider is not the file sink")
            return
        }
        #expect(path == "/tmp/otp-sms.jsonl")
        #expect(configuration.templates.verifyPhone.render(code: "123456", minutes: 10)
            == "Your verification code is 123456. It expires in 10 minutes. Do not share it with anyone.")
        #expect(configuration.templates.stepUp.render(code: "123456", minutes: 10).hasPrefix("123456 is your code to confirm"))
        #expect(configuration.logLevel == .info)
    }

    @Test func everyDocumentedVariableIsRead() throws {
        let configuration = try Configuration.load(from: Environment.with(Environment.twilio, [
            "OTP_CODE_LENGTH": "8", "OTP_TTL_SECONDS": "90", "OTP_RESEND_COOLDOWN_SECONDS": "30", "OTP_MAX_ATTEMPTS": "5",
            "OTP_MAX_SENDS_PER_HOUR": "7", "STEP_UP_TOKEN_TTL_SECONDS": "120", "OTP_DB_PATH": "/srv/otp/db.sqlite3",
            "OTP_DB_BUSY_TIMEOUT_MS": "750", "OTP_DB_SYNCHRONOUS": "normal", "OTP_SMS_CONNECT_TIMEOUT_SECONDS": "3",
            "OTP_SMS_TIMEOUT_SECONDS": "20", "TWILIO_API_BASE": "http://127.0.0.1:8080", "OTP_LOG_LEVEL": "debug",
            "OTP_SMS_TEMPLATE_VERIFY_PHONE": "V {code} {minutes}", "OTP_SMS_TEMPLATE_STEP_UP": "S {code} {action}",
            "OTP_STEP_UP_ACTIONS_FILE": "/etc/otp-fcgi/actions", "OTP_DELEGATE_PRINCIPALS": "voice-agent, call-centre",
        ]), files: ConfigurationFiles(read: { path in path == "/etc/otp-fcgi/actions" ? "cancel = \"cancel your appointment\"\n" : nil }, list: { _ in nil }))
        let rules = configuration.rules
        #expect(rules.codeLength == 8)
        #expect(rules.codeTTLSeconds == 90)
        #expect(rules.codeTTLMinutes == 2)
        #expect(rules.resendCooldownSeconds == 30)
        #expect(rules.maxAttempts == 5)
        #expect(rules.maxSendsPerHour == 7)
        #expect(rules.stepUpTokenTTLSeconds == 120)
        #expect(rules.sendInFlightSeconds == 70)
        #expect(configuration.database == DatabaseConfiguration(path: "/srv/otp/db.sqlite3", busyTimeoutMilliseconds: 750, synchronous: .normal))
        #expect(configuration.sms.connectTimeoutSeconds == 3)
        #expect(configuration.sms.totalTimeoutSeconds == 20)
        guard case .twilio(let twilio) = configuration.sms.provider else {
            Issue.record("provider is not Twilio")
            return
        }
        #expect(twilio.accountSID == Environment.accountSID)
        #expect(twilio.authToken.value == Environment.authToken)
        #expect(twilio.messagingServiceSID == Environment.serviceSID)
        #expect(twilio.apiBase == "http://127.0.0.1:8080")
        #expect(twilio.messagesURL == "http://127.0.0.1:8080/2010-04-01/Accounts/\(Environment.accountSID)/Messages.json")
        #expect(configuration.templates.verifyPhone.render(code: "12345678", minutes: 2) == "V 12345678 2")
        #expect(configuration.templates.stepUp.render(code: "12345678", minutes: 2, action: "x") == "S 12345678 x")
        #expect(configuration.stepUp.actions.names == ["cancel", "change-phone"])
        #expect(configuration.stepUp.actions.text(for: "cancel") == "cancel your appointment")
        #expect(configuration.stepUp.delegates == ["voice-agent", "call-centre"])
        #expect(configuration.logLevel == .debug)
    }

    @Test func twilioIsTheDefaultProviderWithTheDefaultBase() throws {
        let configuration = try Configuration.load(from: Environment.twilio)
        guard case .twilio(let twilio) = configuration.sms.provider else {
            Issue.record("provider is not Twilio")
            return
        }
        #expect(twilio.apiBase == "https://api.twilio.com")
        #expect(twilio.messagesURL == "https://api.twilio.com/2010-04-01/Accounts/\(Environment.accountSID)/Messages.json")
    }

    @Test(arguments: [
        ("OTP_CODE_LENGTH", "3"), ("OTP_CODE_LENGTH", "11"), ("OTP_CODE_LENGTH", "six"), ("OTP_TTL_SECONDS", "abc"),
        ("OTP_TTL_SECONDS", "-5"), ("OTP_MAX_ATTEMPTS", "0"), ("OTP_MAX_SENDS_PER_HOUR", "0"), ("OTP_RESEND_COOLDOWN_SECONDS", "1.5"),
        ("STEP_UP_TOKEN_TTL_SECONDS", "0"), ("OTP_DB_BUSY_TIMEOUT_MS", "x"), ("OTP_DB_SYNCHRONOUS", "off"), ("OTP_LOG_LEVEL", "loud"),
        ("OTP_SMS_CONNECT_TIMEOUT_SECONDS", "0"), ("OTP_SMS_TIMEOUT_SECONDS", "61"),
    ])
    func badValueIsRefusedNamingItsVariable(name: String, value: String) {
        let error = Environment.error(Environment.with(Environment.minimal, [name: value]))
        #expect(error?.problems.count == 1)
        #expect(Environment.named(Environment.with(Environment.minimal, [name: value])) == [name])
        #expect(error?.description.contains(name) == true)
    }

    @Test(arguments: ["4", "10"])
    func codeLengthBoundsAreAccepted(value: String) throws {
        #expect(try Configuration.load(from: Environment.with(Environment.minimal, ["OTP_CODE_LENGTH": value])).rules.codeLength == Int(value))
    }

    @Test func missingPepperIsRefused() {
        #expect(Environment.named(Environment.with(Environment.minimal, ["OTP_PEPPER": nil])) == ["OTP_PEPPER"])
        #expect(Environment.named(Environment.with(Environment.minimal, ["OTP_PEPPER": "   "])) == ["OTP_PEPPER"])
    }

    @Test func shortPepperIsRefusedWithoutBeingPrinted() {
        let short = "only-31-characters-of-pepper-xx"
        #expect(short.count == 31)
        let error = Environment.error(Environment.with(Environment.minimal, ["OTP_PEPPER": short]))
        #expect(error?.problems.count == 1)
        #expect(error?.problems.first?.hasPrefix("OTP_PEPPER:") == true)
        #expect(error?.description.contains(short) == false)
        #expect(error.map { "\($0)" }?.contains("pepper-xx") == false)
    }

    @Test func pepperOfExactly32CharactersIsAccepted() throws {
        let pepper = String(repeating: "p", count: 32)
        #expect(try Configuration.load(from: Environment.with(Environment.minimal, ["OTP_PEPPER": pepper])).pepper.value == pepper)
    }

    @Test func pepperAndAuthTokenNeverAppearInTheErrorOrTheConfigurationsDescription() throws {
        let error = Environment.error(Environment.with(Environment.twilio, ["TWILIO_ACCOUNT_SID": "nope", "OTP_CODE_LENGTH": "2"]))
        let text = try #require(error).description
        #expect(!text.contains(Fixture.pepper))
        #expect(!text.contains(Environment.authToken))
        let configuration = try Configuration.load(from: Environment.twilio)
        let dumped = "\(configuration) \(String(reflecting: configuration))"
        #expect(!dumped.contains(Fixture.pepper))
        #expect(!dumped.contains(Environment.authToken))
    }

    @Test func unknownProviderIsRefused() {
        #expect(Environment.named(Environment.with(Environment.twilio, ["OTP_SMS_PROVIDER": "carrier-pigeon"])) == ["OTP_SMS_PROVIDER"])
        #expect(Environment.named(Environment.with(Environment.minimal, ["OTP_SMS_PROVIDER": "carrier-pigeon"])).contains("OTP_SMS_PROVIDER"))
    }

    @Test func providerNameIsCaseInsensitive() throws {
        let configuration = try Configuration.load(from: Environment.with(Environment.minimal, ["OTP_SMS_PROVIDER": "FILE"]))
        guard case .file = configuration.sms.provider else {
            Issue.record("provider is not the file sink")
            return
        }
    }

    @Test func fileProviderNeedsAFile() {
        #expect(Environment.named(Environment.with(Environment.minimal, ["OTP_SMS_FILE": nil])) == ["OTP_SMS_FILE"])
    }

    @Test func twilioWithoutCredentialsNamesAllThreeVariables() {
        let named = Environment.named(["OTP_PEPPER": Fixture.pepper])
        #expect(named.sorted() == ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_MESSAGING_SERVICE_SID"])
    }

    @Test(arguments: [
        "MG0123456789abcdef0123456789abcde", "MG0123456789abcdef0123456789abcdef0", "AC0123456789abcdef0123456789abcdef",
        "MG0123456789abcdef0123456789abcdeg", "mg0123456789abcdef0123456789abcdef",
    ])
    func messagingServiceSIDMustBeMGAnd32Hex(value: String) {
        #expect(Environment.named(Environment.with(Environment.twilio, ["TWILIO_MESSAGING_SERVICE_SID": value])) == ["TWILIO_MESSAGING_SERVICE_SID"])
    }

    @Test(arguments: ["AC0123456789abcdef0123456789abcde", "MG0123456789abcdef0123456789abcdef", "AC0123456789abcdef0123456789abcdeZ"])
    func accountSIDMustBeACAnd32Hex(value: String) {
        #expect(Environment.named(Environment.with(Environment.twilio, ["TWILIO_ACCOUNT_SID": value])) == ["TWILIO_ACCOUNT_SID"])
    }

    @Test(arguments: [
        "http://example.com", "http://127.evil.com", "http://127.0.0.1.evil.com", "http://localhost.evil.com",
        "https://api.twilio.com/v1", "https://user@api.twilio.com", "ftp://api.twilio.com", "api.twilio.com", "https://",
    ])
    func apiBaseThatIsNotHTTPSOrLoopbackIsRefused(value: String) {
        #expect(Environment.named(Environment.with(Environment.twilio, ["TWILIO_API_BASE": value])) == ["TWILIO_API_BASE"])
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"), ("http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:8080", "http://[::1]:8080"), ("https://api.twilio.com/", "https://api.twilio.com"),
        ("https://eu.example.net:8443", "https://eu.example.net:8443"),
    ])
    func apiBaseIsAcceptedForHTTPSOrLoopbackWithoutATrailingSlash(value: String, expected: String) throws {
        let configuration = try Configuration.load(from: Environment.with(Environment.twilio, ["TWILIO_API_BASE": value]))
        guard case .twilio(let twilio) = configuration.sms.provider else {
            Issue.record("provider is not Twilio")
            return
        }
        #expect(twilio.apiBase == expected)
    }

    @Test func totalTimeoutShorterThanConnectTimeoutIsRefused() {
        let environment = Environment.with(Environment.minimal, ["OTP_SMS_CONNECT_TIMEOUT_SECONDS": "10", "OTP_SMS_TIMEOUT_SECONDS": "5"])
        #expect(Environment.named(environment) == ["OTP_SMS_TIMEOUT_SECONDS"])
    }

    @Test(arguments: [
        ("OTP_SMS_TEMPLATE_VERIFY_PHONE", "Your code expires in {minutes} minutes"), ("OTP_SMS_TEMPLATE_STEP_UP", "Code {code} for {user}"),
        ("OTP_SMS_TEMPLATE_VERIFY_PHONE", "Code {code"), ("OTP_SMS_TEMPLATE_STEP_UP", "Code {code} }"),
        ("OTP_SMS_TEMPLATE_VERIFY_PHONE", "{code}" + String(repeating: "x", count: 1595)),
    ])
    func badTemplateIsRefusedNamingItsVariable(name: String, template: String) {
        #expect(Environment.named(Environment.with(Environment.minimal, [name: template])) == [name])
    }

    @Test func templateRenderingToExactly1600CharactersIsAccepted() throws {
        let template = "{code}" + String(repeating: "x", count: 1594)
        #expect(throws: Never.self) { try Configuration.load(from: Environment.with(Environment.minimal, ["OTP_SMS_TEMPLATE_VERIFY_PHONE": template])) }
    }

    @Test func everyBadVariableIsReportedInOneError() {
        let environment: [String: String] = [
            "OTP_PEPPER": "pepper-too-smol", "OTP_CODE_LENGTH": "3", "OTP_TTL_SECONDS": "abc", "OTP_MAX_ATTEMPTS": "0",
            "OTP_SMS_PROVIDER": "twilio", "TWILIO_MESSAGING_SERVICE_SID": "MG123", "TWILIO_API_BASE": "http://example.com",
            "OTP_SMS_TEMPLATE_STEP_UP": "no placeholder",
        ]
        let named = Set(Environment.named(environment))
        #expect(named == [
            "OTP_PEPPER", "OTP_CODE_LENGTH", "OTP_TTL_SECONDS", "OTP_MAX_ATTEMPTS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
            "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_BASE", "OTP_SMS_TEMPLATE_STEP_UP",
        ])
        let description = Environment.error(environment)?.description ?? ""
        for name in named { #expect(description.contains(name)) }
        #expect(!description.contains("pepper-too-smol"))
    }
}

@Suite("Step-up configuration")
struct StepUpConfigurationTests {
    static func load(actions text: String?, _ changes: [String: String?] = [:]) throws(ConfigurationError) -> Configuration {
        var environment = Environment.with(Environment.minimal, ["OTP_STEP_UP_ACTIONS_FILE": "/etc/otp-fcgi/actions"])
        for (name, value) in changes { environment[name] = value }
        return try Configuration.load(from: environment, files: ConfigurationFiles(read: { $0 == "/etc/otp-fcgi/actions" ? text : nil }, list: { _ in nil }))
    }

    @Test func actionsFileIsReadWithCommentsAndBlankLines() throws {
        let configuration = try StepUpConfigurationTests.load(actions: """
            # the portal's protected actions
            cancel-appointment = "cancel your appointment"

            change-payout = "change your payout account"
            change-phone = "move your account to a new phone"
            """)
        #expect(configuration.stepUp.actions.names == ["cancel-appointment", "change-payout", "change-phone"])
        #expect(configuration.stepUp.actions.text(for: "change-phone") == "move your account to a new phone")
    }

    @Test(arguments: [
        ("cancel your appointment", "line 1: expected name = \"text\""),
        ("Cancel = \"x\"", "line 1: the name must match"),
        ("a = \"x\"\na = \"y\"", "line 2: a is listed twice"),
        ("a = x", "line 1: the text must be in double quotes"),
        ("a = \"\"", "line 1: the text must have 1 to 100 characters"),
        ("# ok\na = \"{code}\"", "line 2: the text may not contain"),
    ])
    func badActionsFileNamesTheLine(text: String, expected: String) {
        #expect(throws: ConfigurationError.self) { try StepUpConfigurationTests.load(actions: text) }
        do {
            _ = try StepUpConfigurationTests.load(actions: text)
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.problems[0].hasPrefix("OTP_STEP_UP_ACTIONS_FILE: /etc/otp-fcgi/actions, \(expected)"), "\(error.problems)")
        }
    }

    @Test func unreadableActionsFileStopsTheStart() {
        #expect(Environment.named(Environment.with(Environment.minimal, ["OTP_STEP_UP_ACTIONS_FILE": "/nonexistent"])) == ["OTP_STEP_UP_ACTIONS_FILE"])
    }

    @Test func withoutAFileOnlyChangePhoneExists() throws {
        let configuration = try Configuration.load(from: Environment.minimal)
        #expect(configuration.stepUp.actions.names == ["change-phone"])
        #expect(configuration.stepUp.delegates.isEmpty)
    }

    @Test func delegatesAreACommaList() throws {
        let configuration = try StepUpConfigurationTests.load(actions: "", ["OTP_DELEGATE_PRINCIPALS": " voice-agent ,call-centre,, "])
        #expect(configuration.stepUp.delegates == ["voice-agent", "call-centre"])
    }

    @Test func stepUpTemplateMustSayWhatItApproves() {
        #expect(Environment.named(Environment.with(Environment.minimal, ["OTP_SMS_TEMPLATE_STEP_UP": "{code} is your code"])) == ["OTP_SMS_TEMPLATE_STEP_UP"])
        #expect(Environment.named(Environment.with(Environment.minimal, ["OTP_SMS_TEMPLATE_VERIFY_PHONE": "{code} to {action}"])) == ["OTP_SMS_TEMPLATE_VERIFY_PHONE"])
    }

    @Test func theLongestActionTextCountsTowardTheSMSLength() {
        let template = String(repeating: "x", count: 1_500) + " {code} {action}"
        let long = "a = \"" + String(repeating: "y", count: 100) + "\""
        #expect(throws: Never.self) { try StepUpConfigurationTests.load(actions: "a = \"short\"", ["OTP_SMS_TEMPLATE_STEP_UP": template]) }
        #expect(throws: ConfigurationError.self) { try StepUpConfigurationTests.load(actions: long, ["OTP_SMS_TEMPLATE_STEP_UP": template]) }
    }
}
