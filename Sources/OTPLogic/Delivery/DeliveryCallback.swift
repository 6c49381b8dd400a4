import Logging

/// What the delivery-status endpoint needs to check a callback: where the public reaches us and
/// the secrets the providers sign with. Read from `SMSConfiguration` at start.
public struct DeliveryCallbackConfiguration: Sendable {
    /// `OTP_PUBLIC_BASE_URL`: the scheme and host Twilio called; its signatures cover that URL.
    public var publicBaseURL: String?
    public var twilioAuthToken: Secret?
    public var vonageSignatureSecret: Secret?
    public var vonageSignatureMethod: VonageSignature.Method
    /// A Vonage receipt signed longer ago (or further ahead) than this is a replay.
    public static let vonageTimestampToleranceSeconds: Int64 = 600

    public init(
        publicBaseURL: String? = nil, twilioAuthToken: Secret? = nil, vonageSignatureSecret: Secret? = nil,
        vonageSignatureMethod: VonageSignature.Method = .md5hash
    ) {
        self.publicBaseURL = publicBaseURL
        self.twilioAuthToken = twilioAuthToken
        self.vonageSignatureSecret = vonageSignatureSecret
        self.vonageSignatureMethod = vonageSignatureMethod
    }

    /// The secrets of the providers in `sms`'s chain.
    public init(_ sms: SMSConfiguration) {
        self.init(publicBaseURL: sms.publicBaseURL)
        for provider in sms.providers {
            switch provider {
            case .twilio(let twilio): twilioAuthToken = twilio.authToken
            case .vonage(let vonage):
                vonageSignatureSecret = vonage.signatureSecret
                vonageSignatureMethod = vonage.signatureMethod
            case .file, .sns: break
            }
        }
    }
}

/// Reads and checks one delivery status callback, in this order: method, size, content type,
/// strict form, which provider sent it (Twilio's `MessageSid`, Vonage's `messageId`), its
/// signature, its fields. A refusal changes nothing; a bad signature is logged.
enum DeliveryCallback {
    static func read(
        _ request: HTTPRequest, configuration: DeliveryCallbackConfiguration, now: UnixTime, logger: Logger
    ) throws(RequestError) -> DeliveryUpdate {
        guard request.method == "POST" else { throw .methodNotAllowed(allow: "POST") }
        if request.body == .tooLarge { throw .payloadTooLarge }
        if request.body == .timedOut { throw .bodyTimeout }
        guard isForm(request.contentType) else { throw .notAForm }
        guard case .complete(let bytes) = request.body else { throw .malformed("Request body is shorter than its Content-Length") }
        let fields: [FormField]
        do {
            fields = try FormBody.parse(bytes)
        } catch {
            guard case .malformed(let reason) = error else { throw .malformed("Malformed form body") }
            throw .malformed("Malformed form body: \(reason)")
        }
        func refuse(_ provider: String, _ reason: String) -> RequestError {
            logger.warning("delivery status callback refused", metadata: [
                "event": "sms.delivery", "outcome": "refused", "provider": .string(provider), "reason": .string(reason),
            ])
            return .badSignature
        }

        if let sid = fields[field: "MessageSid"] {
            guard let token = configuration.twilioAuthToken, let base = configuration.publicBaseURL else {
                throw refuse("twilio", "not_configured")
            }
            guard let signature = request.twilioSignature else { throw refuse("twilio", "unsigned") }
            let url = base + (request.requestURI ?? request.documentURI)
            guard TwilioSignature.isValid(signature, authToken: token.value, url: url, fields: fields) else {
                throw refuse("twilio", "bad_signature")
            }
            guard let status = fields[field: "MessageStatus"], !status.isEmpty else { throw .invalid("MessageStatus is required") }
            return DeliveryUpdate(
                provider: "twilio", messageID: sid, status: DeliveryStatus(twilio: status) ?? .unknown, errorCode: fields[field: "ErrorCode"],
                reference: try reference(queryValue(of: "ref", in: request.requestURI), from: "ref")
            )
        }
        if let messageID = fields[field: "messageId"] {
            guard let secret = configuration.vonageSignatureSecret else { throw refuse("vonage", "not_configured") }
            guard let signature = fields[field: "sig"] else { throw refuse("vonage", "unsigned") }
            guard VonageSignature.isValid(signature, secret: secret.value, method: configuration.vonageSignatureMethod, fields: fields) else {
                throw refuse("vonage", "bad_signature")
            }
            guard let stamp = fields[field: "timestamp"].flatMap({ Int64($0) }),
                  abs(now - stamp) <= DeliveryCallbackConfiguration.vonageTimestampToleranceSeconds else {
                throw refuse("vonage", "stale_timestamp")
            }
            guard let status = fields[field: "status"], !status.isEmpty else { throw .invalid("status is required") }
            return DeliveryUpdate(
                provider: "vonage", messageID: messageID, status: DeliveryStatus(vonage: status) ?? .unknown, errorCode: fields[field: "err-code"],
                reference: try reference(fields[field: "client-ref"], from: "client-ref")
            )
        }
        throw .invalid("Not a delivery status callback: MessageSid (Twilio) or messageId (Vonage) is required")
    }

    /// The reference a signed callback carries (`DeliveryReference`); nil when it has none, for a
    /// message sent before there were references.
    static func reference(_ value: String?, from name: String) throws(RequestError) -> DeliveryReference? {
        guard let value else { return nil }
        guard let reference = DeliveryReference(value) else { throw .invalid("\(name) is not a reference of ours") }
        return reference
    }

    /// The value of `name` in the query of `uri` (`/path?ref=…`), if it has exactly one; our
    /// references need no percent-decoding, so one that would is no reference of ours.
    static func queryValue(of name: String, in uri: String?) -> String? {
        guard let uri, let mark = uri.firstIndex(of: "?") else { return nil }
        let pairs = uri[uri.index(after: mark)...].split(separator: "&").filter { $0.hasPrefix(name + "=") }
        guard pairs.count == 1 else { return pairs.isEmpty ? nil : "" }
        return String(pairs[0].dropFirst(name.count + 1))
    }

    /// `application/x-www-form-urlencoded`, any case, with an optional charset parameter.
    static func isForm(_ header: String?) -> Bool {
        guard let header else { return false }
        let type = header.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return type.trimmingASCIIWhitespace().lowercased() == "application/x-www-form-urlencoded"
    }
}
