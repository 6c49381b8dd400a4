import CCurl
import Logging
import OTPLogic

#if canImport(Glibc)
import Glibc
#endif

/// Sends through Twilio's Messaging Service: `POST …/Accounts/{sid}/Messages.json`, form-encoded,
/// HTTP Basic, over one reused libcurl handle per worker.
///
/// Twilio's create is not idempotent: a request that may have reached Twilio is never repeated,
/// or the user could get two different codes. Only failures that certainly did not reach it
/// (DNS failure, connection refused) and 429 (Twilio did not process the request) are retried,
/// with backoff, inside the total timeout.
public final class TwilioSMSSender: SMSSender {
    private let configuration: TwilioConfiguration
    private let connectTimeoutMilliseconds: Int
    private let retry: ProviderRetry
    private let allowedProtocols: String
    private let curl = CurlEasyHandle()
    private let clock: any MonotonicClock
    private let logger: Logger

    /// Twilio codes that mean this recipient cannot get SMS from us; retrying will not help. 30450
    /// and 30453 are its SMS pumping protection: also a signal for the country's tripwire.
    static let undeliverableCodes: Set<Int> = Set([21211, 21408, 21610, 21612, 21614]).union(SMSError.pumpingCodes)

    /// Initializes libcurl for the process; call once from the main thread before workers start.
    public static func initializeProcess() {
        CurlEasyHandle.initializeLibrary()
    }

    public init(
        configuration: TwilioConfiguration, connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, clock: any MonotonicClock, logger: Logger
    ) {
        self.configuration = configuration
        self.connectTimeoutMilliseconds = connectTimeoutSeconds * 1000
        self.retry = ProviderRetry(totalMilliseconds: totalTimeoutSeconds * 1000)
        // Configuration allows plain http only for a loopback base URL (the tests' fake Twilio).
        self.allowedProtocols = configuration.apiBase.hasPrefix("http://") ? "http" : "https"
        self.clock = clock
        self.logger = logger
    }

    public func send(_ message: SMSMessage) throws(SMSError) {
        let form = [
            ("To", message.to.e164),
            ("MessagingServiceSid", configuration.messagingServiceSID),
            ("Body", message.body),
        ].map { "\($0.0)=\(curl.escape($0.1))" }.joined(separator: "&")

        try retry.run(clock: clock, attempt: { remaining in
            TwilioResponse.classify(curl.post(.init(
                url: configuration.messagesURL,
                username: configuration.accountSID,
                password: configuration.authToken.value,
                formBody: form,
                headers: ["Content-Type: application/x-www-form-urlencoded", "Accept: application/json", "Expect:"],
                allowedProtocols: allowedProtocols,
                connectTimeoutMilliseconds: min(connectTimeoutMilliseconds, remaining),
                totalTimeoutMilliseconds: remaining
            )))
        }, willRetry: { error in
            logger.info("SMS provider not reached; retrying", metadata: ["event": "sms.retry", "reason": "\(error.logReason)"])
        })
    }
}

/// What one answer (or failure to get one) from Twilio means.
enum TwilioResponse {
    static func classify(_ response: CurlEasyHandle.Response) -> ProviderAttempt {
        switch response.code {
        case CURLE_OK:
            break
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
            return .retryable(.unavailable(.unreachable, retryAfterSeconds: 30))
        case CURLE_OPERATION_TIMEDOUT:
            // Once the request left, Twilio may have taken it: the send counts as made.
            return .failed(response.requestBytesSent > 0 ? .outcomeUnknown(.timeout, retryAfterSeconds: 30) : .unavailable(.timeout, retryAfterSeconds: 30))
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
            return .failed(.unavailable(.tlsFailed(curlCode: Int(response.code.rawValue)), retryAfterSeconds: 60))
        default:
            // Reset, empty reply, read errors: once the request left it may have been processed.
            // Never retried; counted as made.
            let reason = SMSUnavailableReason.transport(curlCode: Int(response.code.rawValue))
            return .failed(response.requestBytesSent > 0 ? .outcomeUnknown(reason, retryAfterSeconds: 30) : .unavailable(reason, retryAfterSeconds: 30))
        }

        let json = try? JSONObjectParser.parse(response.body)
        func string(_ name: String) -> String? {
            for member in json ?? [] where member.name == name {
                if case .string(let text) = member.value { return text }
            }
            return nil
        }
        func integer(_ name: String) -> Int? {
            for member in json ?? [] where member.name == name {
                if case .number(let text) = member.value { return Int(text) }
            }
            return nil
        }

        switch response.status {
        case 200, 201:
            // A success we cannot read (a proxy's page, a cut body): Twilio may have taken it.
            guard let sid = string("sid"), isMessageSID(sid) else {
                return .failed(.outcomeUnknown(.unparseableAnswer, retryAfterSeconds: 30))
            }
            return .accepted
        case 429:
            return .retryable(.unavailable(.rateLimited, retryAfterSeconds: 10))
        case 401, 403:
            return .failed(.credentialsRejected(retryAfterSeconds: 60))
        case 400..<500:
            if let code = integer("code") {
                if code == 20429 { return .retryable(.unavailable(.rateLimited, retryAfterSeconds: 10)) }
                if code == 20003 { return .failed(.credentialsRejected(retryAfterSeconds: 60)) }
                if TwilioSMSSender.undeliverableCodes.contains(code) { return .failed(.recipientCannotReceive(providerCode: code)) }
                return .failed(.misconfigured(providerCode: code, retryAfterSeconds: 60))
            }
            return .failed(.unavailable(.status(response.status), retryAfterSeconds: 30))
        default:
            return .failed(.unavailable(.status(response.status), retryAfterSeconds: 30))
        }
    }

    /// `SM` or `MM` followed by 32 hexadecimal characters.
    static func isMessageSID(_ sid: String) -> Bool {
        TwilioConfiguration.isSID(sid, prefix: "SM") || TwilioConfiguration.isSID(sid, prefix: "MM")
    }
}
