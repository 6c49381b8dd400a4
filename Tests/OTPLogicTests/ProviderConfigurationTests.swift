import Testing
@testable import OTPLogic
import TestSupport

/// `OTP_SMS_PROVIDER` as a failover list, the SNS and Vonage settings, `OTP_PUBLIC_BASE_URL`.
@Suite("Provider configuration")
struct ProviderConfigurationTests {
    static let sns = ["AWS_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "aws-secret-do-not-print"]
    static let vonage = ["VONAGE_API_KEY": "abcd1234", "VONAGE_API_SECRET": "vonage-secret-do-not-print", "VONAGE_FROM_NUMBER": "AcmeInc"]
    static let all = Environment.twilio.merging(sns) { $1 }.merging(vonage) { $1 }

    @Test func aListIsTheFailoverOrder() throws {
        let configuration = try Configuration.load(from: Environment.with(Self.all, ["OTP_SMS_PROVIDER": "twilio, Vonage,sns"]))
        #expect(configuration.sms.providers.map(\.name) == ["twilio", "vonage", "sns"])
        #expect(configuration.sms.providerName == "twilio,vonage,sns")
        // A send may wait on each provider in turn before a reservation is taken as lost.
        #expect(configuration.rules.sendInFlightSeconds == 10 * 3 * 2 + 30)
    }

    @Test func snsSettings() throws {
        let configuration = try Configuration.load(from: Environment.with(Self.all, ["OTP_SMS_PROVIDER": "sns", "AWS_SESSION_TOKEN": "session"]))
        guard case .sns(let sns) = configuration.sms.provider else { Issue.record("not sns"); return }
        #expect(sns.apiBase == "https://sns.eu-central-1.amazonaws.com")
        #expect(sns.sessionToken?.value == "session")
        #expect("\(sns.secretAccessKey)" == "<redacted>")
        let local = try Configuration.load(from: Environment.with(Self.all, ["OTP_SMS_PROVIDER": "sns", "SNS_API_BASE": "http://127.0.0.1:8080/"]))
        guard case .sns(let fake) = local.sms.provider else { Issue.record("not sns"); return }
        #expect(fake.apiBase == "http://127.0.0.1:8080")
    }

    @Test func vonageSettings() throws {
        let configuration = try Configuration.load(from: Environment.with(Self.all, ["OTP_SMS_PROVIDER": "vonage", "VONAGE_SIGNATURE_METHOD": "sha256"]))
        guard case .vonage(let vonage) = configuration.sms.provider else { Issue.record("not vonage"); return }
        #expect(vonage.apiBase == "https://rest.nexmo.com")
        #expect(vonage.from == "AcmeInc")
        #expect(vonage.signatureMethod == .sha256)
        #expect(vonage.signatureSecret == nil)
    }

    @Test func everyMissingProviderSettingIsNamed() {
        let named = Environment.named(Environment.with(Environment.minimal, ["OTP_SMS_PROVIDER": "sns,vonage"]))
        #expect(named == ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_FROM_NUMBER"])
    }

    @Test(arguments: ["twilio,twilio", "file,twilio", "twilio,", "twilio,carrier-pigeon"])
    func badListsAreRefused(_ value: String) {
        #expect(Environment.named(Environment.with(Self.all, ["OTP_SMS_PROVIDER": value])) == ["OTP_SMS_PROVIDER"])
    }

    @Test(arguments: [
        ("SNS_API_BASE", "http://sns.example.com"), ("VONAGE_API_BASE", "ftp://x"), ("AWS_REGION", "EU Central"),
        ("VONAGE_SIGNATURE_METHOD", "crc32"), ("OTP_PUBLIC_BASE_URL", "http://portal.example"), ("OTP_PUBLIC_BASE_URL", "https://portal.example/api"),
    ])
    func badValuesAreNamed(_ name: String, _ value: String) {
        let environment = Environment.with(Self.all, ["OTP_SMS_PROVIDER": "twilio,vonage,sns", name: value])
        #expect(Environment.named(environment) == [name])
    }

    @Test func publicBaseURLGivesTheStatusCallback() throws {
        let configuration = try Configuration.load(from: Environment.with(Self.all, ["OTP_PUBLIC_BASE_URL": "https://portal.example/"]))
        #expect(configuration.sms.publicBaseURL == "https://portal.example")
        #expect(configuration.sms.statusCallbackURL == "https://portal.example/api/otp/delivery-status")
        let callbacks = DeliveryCallbackConfiguration(configuration.sms)
        #expect(callbacks.twilioAuthToken?.value == Environment.authToken)
        #expect(callbacks.publicBaseURL == "https://portal.example")
    }

    @Test func aChainOfNetworkProvidersLeavesAWorkerFree() throws {
        let configuration = try Configuration.load(from: Environment.with(Self.all, ["OTP_SMS_PROVIDER": "twilio,vonage"]))
        #expect(throws: ConfigurationError.self) { try configuration.sms.maxInFlight(workers: 1) }
        #expect(try configuration.sms.maxInFlight(workers: 8) == 4)
    }
}
