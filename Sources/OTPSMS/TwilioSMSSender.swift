import Logging
import OTPLogic

/// Sends through Twilio's Messaging Service: `POST …/Accounts/{sid}/Messages.json`, form-encoded,
/// HTTP Basic, over one reused libcurl handle per worker.
///
/// Twilio's create is not idempotent: a request that may have reached Twilio is never repeated,
/// or the user could get two different codes. Only failures that certainly did not reach it
/// (DNS failure, connection refused) and 429 (Twilio did not process the request) are retried,
/// with backoff, inside the total timeout.
public final class TwilioSMSSender: SMSSender {
    private let configuration: TwilioConfiguration
    /// `StatusCallback` sent with every message (and its reference, `?ref=`), when
    /// `OTP_PUBLIC_BASE_URL` is set.
    private let statusCallback: String?
    private let transport: ProviderTransport

    /// Twilio codes that mean this recipient cannot get SMS from us; retrying will not help. 30450
    /// and 30453 are its SMS pumping protection: also a signal for the country's tripwire.
    static let undeliverableCodes: Set<Int> = Set([21211, 21408, 21610, 21612, 21614]).union(SMSError.pumpingCodes)

    /// Initializes libcurl for the process; call once from the main thread before workers start.
    public static func initializeProcess() {
        CurlEasyHandle.initializeLibrary()
    }

    public init(configuration: TwilioConfiguration, statusCallback: String? = nil, settings: ProviderSettings) {
        self.configuration = configuration
        self.statusCallback = statusCallback
        transport = ProviderTransport(
            provider: "twilio", credentialVariables: "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN", apiBase: configuration.apiBase, settings: settings
        )
    }

    public func send(_ message: SMSMessage) throws(SMSError) -> SMSReceipt {
        var fields = [("To", message.to.e164), ("MessagingServiceSid", configuration.messagingServiceSID), ("Body", message.body)]
        if let statusCallback {
            // Twilio posts the message's statuses to this URL and signs it, query included.
            let reference = message.reference.map { "?ref=" + $0.text } ?? ""
            fields.append(("StatusCallback", statusCallback + reference))
        }
        let form = transport.form(fields)
        return try transport.send({
            .init(
                url: configuration.messagesURL, basicAuth: (configuration.accountSID, configuration.authToken.value), formBody: form,
                headers: ["Content-Type: application/x-www-form-urlencoded", "Accept: application/json", "Expect:"]
            )
        }, classify: TwilioResponse.classify)
    }
}

/// What one answer (or failure to get one) from Twilio means.
enum TwilioResponse {
    /// Reads an HTTP answer (transfer failures are `TransferFailure`'s).
    static func classify(_ response: CurlEasyHandle.Response) -> ProviderAttempt {
        let json = (try? JSONObjectParser.parse(response.body)) ?? []
        switch response.status {
        case 200, 201:
            // A success we cannot read (a proxy's page, a cut body): Twilio may have taken it.
            guard let sid = json.string("sid"), isMessageSID(sid) else { return TransferFailure.unreadableSuccess }
            return .accepted(messageID: sid)
        case 429:
            return TransferFailure.rateLimited
        case 401, 403:
            return TransferFailure.credentialsRejected
        case 400..<500:
            guard let code = json.integer("code") else { return TransferFailure.status(response.status) }
            if code == 20429 { return TransferFailure.rateLimited }
            if code == 20003 { return TransferFailure.credentialsRejected }
            if TwilioSMSSender.undeliverableCodes.contains(code) { return .failed(.recipientCannotReceive(providerCode: code)) }
            return TransferFailure.misconfigured(code)
        default:
            return TransferFailure.status(response.status)
        }
    }

    /// `SM` or `MM` followed by 32 hexadecimal characters.
    static func isMessageSID(_ sid: String) -> Bool {
        TwilioConfiguration.isSID(sid, prefix: "SM") || TwilioConfiguration.isSID(sid, prefix: "MM")
    }
}
