import Logging
import OTPLogic

/// Sends through AWS SNS `Publish` to a phone number (query API, form-encoded, Signature
/// Version 4), as a Transactional SMS, over one reused libcurl handle per worker.
///
/// Like Twilio's create, Publish is not idempotent: only failures that certainly did not reach
/// SNS (DNS failure, connection refused, throttling) are retried inside the total timeout.
public final class SNSSMSSender: SMSSender {
    private let configuration: SNSConfiguration
    private let signer: SigV4Signer
    private let host: String
    private let wallClock: any UnixClock
    private let transport: ProviderTransport

    /// `wallClock` dates the signatures.
    public init(configuration: SNSConfiguration, wallClock: any UnixClock, settings: ProviderSettings) {
        self.configuration = configuration
        signer = SigV4Signer(
            accessKeyID: configuration.accessKeyID, secretAccessKey: configuration.secretAccessKey.value, region: configuration.region, service: "sns"
        )
        host = String(configuration.apiBase.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first ?? "")
        self.wallClock = wallClock
        transport = ProviderTransport(
            provider: "sns", credentialVariables: "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_REGION",
            apiBase: configuration.apiBase, settings: settings
        )
    }

    public func send(_ message: SMSMessage) throws(SMSError) -> SMSReceipt {
        let form = transport.form([
            ("Action", "Publish"), ("PhoneNumber", message.to.e164), ("Message", message.body),
            ("MessageAttributes.entry.1.Name", "AWS.SNS.SMS.SMSType"),
            ("MessageAttributes.entry.1.Value.DataType", "String"),
            ("MessageAttributes.entry.1.Value.StringValue", "Transactional"),
            ("Version", "2010-03-31"),
        ])
        return try transport.send({ signed(form) }, classify: SNSResponse.classify)
    }

    /// One attempt's request, signed at the time it leaves.
    private func signed(_ form: String) -> ProviderTransport.Attempt {
        let date = SigV4Signer.amzDate(wallClock.now())
        var headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Host", host), ("X-Amz-Date", date)]
        if let token = configuration.sessionToken { headers.append(("X-Amz-Security-Token", token.value)) }
        let authorization = signer.authorization(.init(method: "POST", headers: headers, body: Array(form.utf8)), amzDate: date)
        return .init(
            url: configuration.apiBase + "/", basicAuth: nil, formBody: form,
            headers: headers.map { "\($0.0): \($0.1)" } + ["Authorization: \(authorization)", "Accept: text/xml", "Expect:"]
        )
    }
}

/// What an answer from SNS means. Errors are `<ErrorResponse><Error><Code>…` (query API XML).
enum SNSResponse {
    static let throttlingCodes: Set<String> = ["Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException"]
    static let credentialCodes: Set<String> = [
        "InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied", "AccessDeniedException", "AuthorizationError",
        "ExpiredToken", "ExpiredTokenException", "IncompleteSignature", "UnrecognizedClientException", "MissingAuthenticationToken",
    ]
    /// Codes about the recipient: a number SNS will not send to, or one that opted out.
    static let recipientCodes: Set<String> = ["OptedOut", "OptedOutException"]
    static let parameterCodes: Set<String> = ["InvalidParameter", "InvalidParameterValue", "InvalidParameterException"]

    static func classify(_ response: CurlEasyHandle.Response) -> ProviderAttempt {
        let body = String(decoding: response.body, as: UTF8.self)
        if response.status == 200 {
            guard let id = XMLText.first("MessageId", in: body), !id.isEmpty else { return TransferFailure.unreadableSuccess }
            return .accepted(messageID: id)
        }
        let code = XMLText.first("Code", in: body) ?? ""
        if throttlingCodes.contains(code) || response.status == 429 { return TransferFailure.rateLimited }
        if credentialCodes.contains(code) { return TransferFailure.credentialsRejected }
        if recipientCodes.contains(code) { return .failed(.recipientCannotReceive(providerCode: response.status)) }
        if parameterCodes.contains(code) {
            // "Invalid parameter: PhoneNumber Reason: …" is about the recipient; any other about us.
            let message = XMLText.first("Message", in: body) ?? ""
            if message.contains("PhoneNumber") { return .failed(.recipientCannotReceive(providerCode: response.status)) }
            return TransferFailure.misconfigured(response.status)
        }
        if response.status >= 500 { return TransferFailure.status(response.status) }
        if response.status == 401 || response.status == 403 { return TransferFailure.credentialsRejected }
        if (400..<500).contains(response.status) && !code.isEmpty { return TransferFailure.misconfigured(response.status) }
        return TransferFailure.status(response.status)
    }
}

/// The text of an element in a small, known XML answer, with the five predefined entities decoded.
enum XMLText {
    static func first(_ element: String, in xml: String) -> String? {
        guard let open = xml.firstRange(of: "<\(element)>"), let close = xml[open.upperBound...].firstRange(of: "</\(element)>") else {
            return nil
        }
        return String(xml[open.upperBound..<close.lowerBound])
            .replacingEntities()
            .trimmingCharacters()
    }
}

private extension String {
    func replacingEntities() -> String {
        var text = self
        for (entity, character) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&apos;", "'"), ("&amp;", "&")] {
            text = text.replacing(entity, with: character)
        }
        return text
    }

    func trimmingCharacters() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
