import Logging
import OTPLogic

/// Sends through Vonage's SMS API: `POST {VONAGE_API_BASE}/sms/json`, form-encoded with the API
/// key and secret, over one reused libcurl handle per worker. Text outside GSM-7 goes as
/// `type=unicode`. Each part of the message answers with its own `status` (`messages[]`).
public final class VonageSMSSender: SMSSender {
    private let configuration: VonageConfiguration
    private let transport: ProviderTransport
    private let logger: Logger

    public init(configuration: VonageConfiguration, settings: ProviderSettings) {
        self.configuration = configuration
        logger = settings.logger
        transport = ProviderTransport(
            provider: "vonage", credentialVariables: "VONAGE_API_KEY and VONAGE_API_SECRET", apiBase: configuration.apiBase, settings: settings
        )
    }

    public func send(_ message: SMSMessage) throws(SMSError) -> SMSReceipt {
        var fields = [
            ("api_key", configuration.apiKey), ("api_secret", configuration.apiSecret.value), ("from", configuration.from),
            ("to", String(message.to.e164.dropFirst())), ("text", message.body),
        ]
        if SMSEncoding(of: message.body).alphabet == .ucs2 { fields.append(("type", "unicode")) }
        // Vonage returns it in the message's delivery receipt: the key the receipt is stored by.
        if let reference = message.reference { fields.append(("client-ref", reference.text)) }
        let form = transport.form(fields)
        return try transport.send({
            .init(
                url: configuration.apiBase + "/sms/json", basicAuth: nil, formBody: form,
                headers: ["Content-Type: application/x-www-form-urlencoded", "Accept: application/json", "Expect:"]
            )
        }, classify: { response in
            let attempt = VonageResponse.classify(response)
            if case .failed(.unavailable(.status(VonageResponse.quotaExceeded), _)) = attempt {
                logger.error("Vonage account out of credit (status 9, partner quota exceeded): top up the account", metadata: [
                    "event": "sms.credentials", "provider": "vonage",
                ])
            }
            return attempt
        })
    }
}

/// What an answer from Vonage's SMS API means: HTTP 200 with `messages[].status` per part.
enum VonageResponse {
    /// Status 9: the account has no credit left.
    static let quotaExceeded = 9

    static func classify(_ response: CurlEasyHandle.Response) -> ProviderAttempt {
        guard response.status == 200 else {
            if response.status == 429 { return TransferFailure.rateLimited }
            if response.status == 401 || response.status == 403 { return TransferFailure.credentialsRejected }
            return TransferFailure.status(response.status)
        }
        let messages = ProviderJSON.nestedObjects(in: response.body)
        guard !messages.isEmpty else { return TransferFailure.unreadableSuccess }
        // A long text goes as several parts; one part refused is the message refused. Every part
        // that was accepted has its id; the first is the message's.
        for message in messages {
            guard let text = message.string("status"), let status = Int(text) else { return TransferFailure.unreadableSuccess }
            if status != 0 { return outcome(ofStatus: status) }
        }
        guard let id = messages[0].string("message-id"), !id.isEmpty else { return TransferFailure.unreadableSuccess }
        return .accepted(messageID: id)
    }

    /// Vonage's per-message status codes (SMS API reference, "Response codes"), mapped like Twilio's.
    static func outcome(ofStatus status: Int) -> ProviderAttempt {
        switch status {
        case 1: TransferFailure.rateLimited  // Throttled
        case 5: .failed(.unavailable(.status(status), retryAfterSeconds: 30))  // Internal error
        case 9: .failed(.unavailable(.status(quotaExceeded), retryAfterSeconds: 300))  // Partner quota exceeded: no retry helps
        case 4: TransferFailure.credentialsRejected  // Invalid credentials
        case 7, 29: .failed(.recipientCannotReceive(providerCode: status))  // Number barred; non-whitelisted destination
        case 2, 3, 6, 8, 15: TransferFailure.misconfigured(status)  // Missing/invalid params, invalid message, account barred, invalid sender
        default: TransferFailure.misconfigured(status)
        }
    }
}
