/// Which SMS providers deliver codes, in which order, and how long a send may take.
public struct SMSConfiguration: Sendable {
    public enum Provider: Sendable {
        /// Development and tests only: one JSON line per message appended to a file.
        case file(path: String)
        case twilio(TwilioConfiguration)
        case sns(SNSConfiguration)
        case vonage(VonageConfiguration)

        /// The name as `OTP_SMS_PROVIDER` spells it.
        public var name: String {
            switch self {
            case .file: Kind.file.rawValue
            case .twilio: Kind.twilio.rawValue
            case .sns: Kind.sns.rawValue
            case .vonage: Kind.vonage.rawValue
            }
        }
    }

    enum Kind: String, CaseIterable {
        case twilio, vonage, sns, file
    }

    /// `OTP_SMS_PROVIDER`: the failover order (`twilio,vonage,sns`); `file` stands alone.
    public var providers: [Provider]
    public var connectTimeoutSeconds: Int = 5
    /// Per provider: a failover chain may take this long for each provider in it.
    public var totalTimeoutSeconds: Int = 10
    /// `OTP_SMS_MAX_INFLIGHT`; nil means half the workers (see `maxInFlight(workers:)`).
    public var maxInFlight: Int?
    /// `OTP_PUBLIC_BASE_URL` (https, scheme and host): where providers send delivery status
    /// callbacks, and the URL Twilio's signatures cover. Nil: no `StatusCallback` is sent.
    public var publicBaseURL: String?

    public init(
        provider: Provider, connectTimeoutSeconds: Int = 5, totalTimeoutSeconds: Int = 10, maxInFlight: Int? = nil, publicBaseURL: String? = nil
    ) {
        self.init(
            providers: [provider], connectTimeoutSeconds: connectTimeoutSeconds, totalTimeoutSeconds: totalTimeoutSeconds,
            maxInFlight: maxInFlight, publicBaseURL: publicBaseURL
        )
    }

    public init(
        providers: [Provider], connectTimeoutSeconds: Int = 5, totalTimeoutSeconds: Int = 10, maxInFlight: Int? = nil, publicBaseURL: String? = nil
    ) {
        precondition(!providers.isEmpty)
        self.providers = providers
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.totalTimeoutSeconds = totalTimeoutSeconds
        self.maxInFlight = maxInFlight
        self.publicBaseURL = publicBaseURL
    }

    /// The first provider (the only one for `file`).
    public var provider: Provider { providers[0] }

    /// The providers' names as `OTP_SMS_PROVIDER` spells them, in order.
    public var providerName: String { providers.map(\.name).joined(separator: ",") }

    /// The path of the delivery status location in the shipped nginx snippet.
    public static let deliveryStatusPath = "/api/otp/delivery-status"

    /// The `StatusCallback` URL for Twilio, when `OTP_PUBLIC_BASE_URL` is set.
    public var statusCallbackURL: String? { publicBaseURL.map { $0 + SMSConfiguration.deliveryStatusPath } }

    /// The longest a send may wait on providers: each provider of the chain in turn.
    public var chainTimeoutSeconds: Int { totalTimeoutSeconds * providers.count }

    /// How many sends may wait on the provider at once with `workers` worker threads. With a
    /// network provider it must leave at least one worker free, or a hung provider would hold
    /// every worker and stall verification and step-up checks.
    public func maxInFlight(workers: Int) throws(ConfigurationError) -> Int {
        let value = maxInFlight ?? max(1, workers / 2)
        if case .file = provider {} else if value >= workers {
            throw ConfigurationError(problems: [
                "OTP_SMS_MAX_INFLIGHT: must be lower than --workers (\(workers)) so sends stuck on the provider never hold every worker; it is \(value)"
                    + (maxInFlight == nil ? " (half the workers, at least 1): start at least 2 workers" : ""),
            ])
        }
        return value
    }

    static func read(_ reader: inout EnvironmentReader) -> SMSConfiguration {
        let connect = reader.integer("OTP_SMS_CONNECT_TIMEOUT_SECONDS", default: 5, range: 1...30)
        let total = reader.integer("OTP_SMS_TIMEOUT_SECONDS", default: 10, range: 1...60)
        if total < connect {
            reader.problem("OTP_SMS_TIMEOUT_SECONDS", "must not be shorter than OTP_SMS_CONNECT_TIMEOUT_SECONDS")
        }
        let kinds = readKinds(&reader)
        let providers: [Provider] = kinds.map { kind in
            switch kind {
            case .file: .file(path: reader.required("OTP_SMS_FILE", because: "when OTP_SMS_PROVIDER=file") ?? "")
            case .twilio: .twilio(TwilioConfiguration.read(&reader))
            case .sns: .sns(SNSConfiguration.read(&reader))
            case .vonage: .vonage(VonageConfiguration.read(&reader))
            }
        }
        let maxInFlight = reader.value("OTP_SMS_MAX_INFLIGHT") == nil ? nil : reader.integer("OTP_SMS_MAX_INFLIGHT", default: 1, range: 1...1000)
        var publicBaseURL = reader.value("OTP_PUBLIC_BASE_URL")
        if let url = publicBaseURL {
            let trimmed = url.hasSuffix("/") ? String(url.dropLast()) : url
            publicBaseURL = trimmed
            if !trimmed.hasPrefix("https://") {
                reader.problem("OTP_PUBLIC_BASE_URL", "must start with https:// (providers post delivery status there)")
            } else if case .invalid = APIBaseURL.check(trimmed) {
                reader.problem("OTP_PUBLIC_BASE_URL", "must be a scheme and host only, like https://portal.example")
            }
        }
        return SMSConfiguration(
            providers: providers, connectTimeoutSeconds: connect, totalTimeoutSeconds: total, maxInFlight: maxInFlight, publicBaseURL: publicBaseURL
        )
    }

    /// `OTP_SMS_PROVIDER`: a comma-separated list of distinct providers, `twilio` by default;
    /// `file` only alone (it is for development and never fails over).
    private static func readKinds(_ reader: inout EnvironmentReader) -> [Kind] {
        guard let text = reader.value("OTP_SMS_PROVIDER") else { return [.twilio] }
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingASCIIWhitespace().lowercased() }
        let kinds = names.compactMap(Kind.init(rawValue:))
        guard kinds.count == names.count else {
            reader.problem("OTP_SMS_PROVIDER", "must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")), or a comma-separated failover order of twilio, vonage and sns")
            return [.twilio]
        }
        guard Set(kinds).count == kinds.count else {
            reader.problem("OTP_SMS_PROVIDER", "names a provider twice")
            return [.twilio]
        }
        if kinds.count > 1 && kinds.contains(.file) {
            reader.problem("OTP_SMS_PROVIDER", "file stands alone: it is for development and never fails over")
            return [.twilio]
        }
        return kinds
    }
}

/// Credentials and endpoint of Twilio's Messaging API.
public struct TwilioConfiguration: Sendable {
    public static let defaultAPIBase = "https://api.twilio.com"

    public var accountSID: String
    public var authToken: Secret
    public var messagingServiceSID: String
    /// Scheme, host and optional port, without a trailing slash.
    public var apiBase: String

    public init(accountSID: String, authToken: Secret, messagingServiceSID: String, apiBase: String = defaultAPIBase) {
        self.accountSID = accountSID
        self.authToken = authToken
        self.messagingServiceSID = messagingServiceSID
        self.apiBase = apiBase
    }

    /// The `Messages.json` resource of the account.
    public var messagesURL: String { "\(apiBase)/2010-04-01/Accounts/\(accountSID)/Messages.json" }

    static func read(_ reader: inout EnvironmentReader) -> TwilioConfiguration {
        let because = "when OTP_SMS_PROVIDER names twilio (the default)"
        let account = reader.required("TWILIO_ACCOUNT_SID", because: because) ?? ""
        if !account.isEmpty && !isSID(account, prefix: "AC") {
            reader.problem("TWILIO_ACCOUNT_SID", "must be AC followed by 32 hexadecimal characters")
        }
        let token = reader.required("TWILIO_AUTH_TOKEN", because: because) ?? ""
        let service = reader.required("TWILIO_MESSAGING_SERVICE_SID", because: because) ?? ""
        if !service.isEmpty && !isSID(service, prefix: "MG") {
            reader.problem("TWILIO_MESSAGING_SERVICE_SID", "must be MG followed by 32 hexadecimal characters")
        }
        var base = reader.string("TWILIO_API_BASE", default: defaultAPIBase)
        while base.hasSuffix("/") { base.removeLast() }
        switch APIBaseURL.check(base) {
        case .ok: break
        case .invalid(let reason): reader.problem("TWILIO_API_BASE", reason)
        }
        return TwilioConfiguration(accountSID: account, authToken: Secret(token), messagingServiceSID: service, apiBase: base)
    }

    /// `prefix` followed by exactly 32 hexadecimal digits, as Twilio's SIDs are.
    public static func isSID(_ value: String, prefix: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 34, value.hasPrefix(prefix) else { return false }
        return bytes[2...].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) }
    }
}

/// Checks the provider's base URL: HTTPS, unless it points at this machine (the tests' fake).
enum APIBaseURL {
    enum Result: Equatable {
        case ok
        case invalid(String)
    }

    static func check(_ url: String) -> Result {
        let scheme: String
        let rest: Substring
        if url.hasPrefix("https://") {
            scheme = "https"
            rest = url.dropFirst("https://".count)
        } else if url.hasPrefix("http://") {
            scheme = "http"
            rest = url.dropFirst("http://".count)
        } else {
            return .invalid("must start with https://")
        }
        let authority = rest.prefix { $0 != "/" }
        guard !authority.isEmpty, !authority.contains("@"), rest.count == authority.count else {
            return .invalid("must be a scheme and host only, like https://api.twilio.com")
        }
        if scheme == "http" && !isLoopback(host(of: authority)) {
            return .invalid("must use https:// (plain http is allowed only for 127.0.0.1, [::1] or localhost)")
        }
        return .ok
    }

    static func host(of authority: Substring) -> Substring {
        if authority.hasPrefix("[") {
            return authority.prefix { $0 != "]" }.dropFirst()
        }
        return authority.prefix { $0 != ":" }
    }

    static func isLoopback(_ host: Substring) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        // A dotted IPv4 address in 127.0.0.0/8; "127.example.com" is not loopback.
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127"
            && parts.allSatisfy { part in !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && UInt8(part) != nil }
    }
}
