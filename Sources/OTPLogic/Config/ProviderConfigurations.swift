/// Credentials and endpoint of AWS SNS `Publish` (SMS straight to a phone number).
public struct SNSConfiguration: Sendable {
    /// `AWS_REGION`, e.g. `eu-central-1`.
    public var region: String
    public var accessKeyID: String
    public var secretAccessKey: Secret
    /// `AWS_SESSION_TOKEN`, with temporary credentials (sent as `X-Amz-Security-Token`).
    public var sessionToken: Secret?
    /// Scheme, host and optional port: `https://sns.<region>.amazonaws.com` unless `SNS_API_BASE` says otherwise.
    public var apiBase: String

    public init(region: String, accessKeyID: String, secretAccessKey: Secret, sessionToken: Secret? = nil, apiBase: String? = nil) {
        self.region = region
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.apiBase = apiBase ?? "https://sns.\(region).amazonaws.com"
    }

    static func read(_ reader: inout EnvironmentReader) -> SNSConfiguration {
        let because = "when OTP_SMS_PROVIDER names sns"
        let region = reader.required("AWS_REGION", because: because) ?? ""
        if !region.isEmpty && !region.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }) {
            reader.problem("AWS_REGION", "must be a region name like eu-central-1")
        }
        let key = reader.required("AWS_ACCESS_KEY_ID", because: because) ?? ""
        let secret = reader.required("AWS_SECRET_ACCESS_KEY", because: because) ?? ""
        let token = reader.value("AWS_SESSION_TOKEN").map(Secret.init)
        let base = readAPIBase(&reader, "SNS_API_BASE")
        return SNSConfiguration(region: region, accessKeyID: key, secretAccessKey: Secret(secret), sessionToken: token, apiBase: base)
    }
}

/// Credentials, sender and endpoint of Vonage's SMS API, and the secret its signed delivery
/// receipts carry.
public struct VonageConfiguration: Sendable {
    public static let defaultAPIBase = "https://rest.nexmo.com"

    public var apiKey: String
    public var apiSecret: Secret
    /// `VONAGE_FROM_NUMBER`: the sender (a number or an alphanumeric sender id).
    public var from: String
    public var apiBase: String
    /// `VONAGE_SIGNATURE_SECRET`: delivery receipts are accepted only when signed with it.
    public var signatureSecret: Secret?
    /// `VONAGE_SIGNATURE_METHOD`, as chosen in Vonage's dashboard (default `md5hash`, Vonage's own default).
    public var signatureMethod: VonageSignature.Method

    public init(
        apiKey: String, apiSecret: Secret, from: String, apiBase: String = defaultAPIBase, signatureSecret: Secret? = nil,
        signatureMethod: VonageSignature.Method = .md5hash
    ) {
        self.apiKey = apiKey
        self.apiSecret = apiSecret
        self.from = from
        self.apiBase = apiBase
        self.signatureSecret = signatureSecret
        self.signatureMethod = signatureMethod
    }

    static func read(_ reader: inout EnvironmentReader) -> VonageConfiguration {
        let because = "when OTP_SMS_PROVIDER names vonage"
        let key = reader.required("VONAGE_API_KEY", because: because) ?? ""
        let secret = reader.required("VONAGE_API_SECRET", because: because) ?? ""
        let from = reader.required("VONAGE_FROM_NUMBER", because: because) ?? ""
        let base = readAPIBase(&reader, "VONAGE_API_BASE") ?? defaultAPIBase
        let method = reader.choice("VONAGE_SIGNATURE_METHOD", default: VonageSignature.Method.md5hash, allowed: VonageSignature.Method.allCases)
        return VonageConfiguration(
            apiKey: key, apiSecret: Secret(secret), from: from, apiBase: base, signatureSecret: reader.value("VONAGE_SIGNATURE_SECRET").map(Secret.init),
            signatureMethod: method
        )
    }
}

/// A provider's base URL from `name`, checked like `TWILIO_API_BASE`; nil when unset.
func readAPIBase(_ reader: inout EnvironmentReader, _ name: String) -> String? {
    guard var base = reader.value(name) else { return nil }
    while base.hasSuffix("/") { base.removeLast() }
    if case .invalid(let reason) = APIBaseURL.check(base) { reader.problem(name, reason) }
    return base
}
