import CCurl
import Logging
import OTPLogic

/// How every network provider runs: its timeouts, the monotonic clock its retries wait on, its
/// logger. One value for the whole chain, from `SMSConfiguration`.
public struct ProviderSettings {
    public var connectTimeoutSeconds: Int
    /// For each provider of the chain in turn.
    public var totalTimeoutSeconds: Int
    public var clock: any MonotonicClock
    public var logger: Logger

    public init(connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, clock: any MonotonicClock, logger: Logger) {
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.totalTimeoutSeconds = totalTimeoutSeconds
        self.clock = clock
        self.logger = logger
    }
}

/// What every HTTP provider shares: one reused libcurl handle per worker, bounded timeouts, the
/// retry of failures that certainly did not reach the provider (`ProviderRetry`), the meaning of
/// a transfer that failed, and the error line for credentials an operator must fix.
///
/// A provider adapter only says how to build one attempt's request and how to read an answer.
final class ProviderTransport {
    /// The provider's name as `OTP_SMS_PROVIDER` spells it: goes into receipts and log lines.
    let provider: String
    /// The settings an operator checks when the provider rejects our credentials (names only).
    let credentialVariables: String
    private let connectTimeoutMilliseconds: Int
    private let retry: ProviderRetry
    private let allowedProtocols: String
    private let curl = CurlEasyHandle()
    private let clock: any MonotonicClock
    private let logger: Logger

    /// What one attempt sends; `ProviderTransport` adds timeouts and protocols.
    struct Attempt {
        var url: String
        var basicAuth: (user: String, password: String)?
        var formBody: String
        var headers: [String]
    }

    init(provider: String, credentialVariables: String, apiBase: String, settings: ProviderSettings) {
        self.provider = provider
        self.credentialVariables = credentialVariables
        self.connectTimeoutMilliseconds = settings.connectTimeoutSeconds * 1000
        self.retry = ProviderRetry(totalMilliseconds: settings.totalTimeoutSeconds * 1000)
        // Configuration allows plain http only for a loopback base URL (the tests' fakes).
        self.allowedProtocols = apiBase.hasPrefix("http://") ? "http" : "https"
        self.clock = settings.clock
        self.logger = settings.logger
    }

    /// Runs attempts until one is accepted, fails for good, or the total timeout is used up.
    /// `attempt` is called afresh for each try (a signature may depend on the time).
    func send(_ attempt: () -> Attempt, classify: (CurlEasyHandle.Response) -> ProviderAttempt) throws(SMSError) -> SMSReceipt {
        do {
            let messageID = try retry.run(clock: clock, attempt: { remaining in
                let request = attempt()
                let response = curl.post(.init(
                    url: request.url, basicAuth: request.basicAuth, formBody: request.formBody, headers: request.headers,
                    allowedProtocols: allowedProtocols, connectTimeoutMilliseconds: min(connectTimeoutMilliseconds, remaining),
                    totalTimeoutMilliseconds: remaining
                ))
                return TransferFailure.classify(response) ?? classify(response)
            }, willRetry: { error in
                logger.info("SMS provider not reached; retrying", metadata: [
                    "event": "sms.retry", "provider": "\(provider)", "reason": "\(error.logReason)",
                ])
            })
            return SMSReceipt(provider: provider, messageID: messageID)
        } catch {
            if case .credentialsRejected = error {
                logger.error("SMS provider rejected our credentials: check \(credentialVariables)", metadata: [
                    "event": "sms.credentials", "provider": "\(provider)",
                ])
            }
            throw error
        }
    }

    /// `name=value&…`, each value percent-encoded (everything but unreserved characters).
    func form(_ fields: [(String, String)]) -> String {
        fields.map { "\($0.0)=\(curl.escape($0.1))" }.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding as libcurl does it (unreserved characters kept).
    func percentEncoded(_ text: String) -> String { curl.escape(text) }
}

/// What a transfer that produced no HTTP answer means, the same for every provider.
enum TransferFailure {
    /// nil when an HTTP answer arrived (the provider's classifier reads it).
    static func classify(_ response: CurlEasyHandle.Response) -> ProviderAttempt? {
        switch response.code {
        case CURLE_OK:
            return nil
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
            return .retryable(.unavailable(.unreachable, retryAfterSeconds: 30))
        case CURLE_OPERATION_TIMEDOUT:
            // Once the request left, the provider may have taken it: the send counts as made.
            return .failed(response.requestBytesSent > 0 ? .outcomeUnknown(.timeout, retryAfterSeconds: 30) : .unavailable(.timeout, retryAfterSeconds: 30))
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
            return .failed(.unavailable(.tlsFailed(curlCode: Int(response.code.rawValue)), retryAfterSeconds: 60))
        default:
            // Reset, empty reply, read errors: once the request left it may have been processed.
            // Never retried; counted as made.
            let reason = SMSUnavailableReason.transport(curlCode: Int(response.code.rawValue))
            return .failed(response.requestBytesSent > 0 ? .outcomeUnknown(reason, retryAfterSeconds: 30) : .unavailable(reason, retryAfterSeconds: 30))
        }
    }

    /// A 2xx answer whose message id cannot be read (a proxy's page, a cut body): the provider
    /// may have taken the message.
    static let unreadableSuccess = ProviderAttempt.failed(.outcomeUnknown(.unparseableAnswer, retryAfterSeconds: 30))
    /// 429, or the provider's own throttling code: not processed, safe to send again.
    static let rateLimited = ProviderAttempt.retryable(.unavailable(.rateLimited, retryAfterSeconds: 10))
    static let credentialsRejected = ProviderAttempt.failed(.credentialsRejected(retryAfterSeconds: 60))

    /// Any other status without an error we know: certainly not accepted.
    static func status(_ status: Int) -> ProviderAttempt {
        .failed(.unavailable(.status(status), retryAfterSeconds: 30))
    }

    static func misconfigured(_ code: Int) -> ProviderAttempt {
        .failed(.misconfigured(providerCode: code, retryAfterSeconds: 60))
    }
}
