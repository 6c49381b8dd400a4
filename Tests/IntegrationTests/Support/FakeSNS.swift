import Crypto
import Foundation

/// A stand-in for AWS SNS's query API (`POST /`, `Action=Publish`) on loopback: it checks the
/// Signature Version 4 `Authorization` header it receives with the same credentials (its own
/// signer, written from AWS's description, not otp-fcgi's), answers `<PublishResponse>` with a
/// `MessageId`, or an `<ErrorResponse>` with AWS's error codes.
final class FakeSNS: FakeProvider, @unchecked Sendable {
    static let region = "eu-central-1"
    static let accessKeyID = "AKIDFAKESNS0000EXAMPLE"
    static let secretAccessKey = "fake-sns-secret-\(UUID().uuidString)"
    static let sessionToken = "fake-sns-session-\(UUID().uuidString)"

    let server: FakeProviderServer

    init(mode: FakeMode = .accept) throws {
        server = try FakeProviderServer(mode: mode, recipientField: "PhoneNumber", textField: "Message") { request, mode in FakeSNS.answer(request, mode) }
    }

    var environment: [String: String] {
        [
            "AWS_REGION": FakeSNS.region, "AWS_ACCESS_KEY_ID": FakeSNS.accessKeyID, "AWS_SECRET_ACCESS_KEY": FakeSNS.secretAccessKey,
            "AWS_SESSION_TOKEN": FakeSNS.sessionToken, "SNS_API_BASE": server.baseURL,
        ]
    }

    static func messageID(of request: FakeRequest) -> String {
        let hex = SHA256.hash(data: Data(request.rawBody.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    static func answer(_ request: FakeRequest, _ mode: FakeMode) -> (Int, String, String) {
        switch mode {
        case .serverError: return error("InternalError", 500, "Internal service error", type: "Receiver")
        case .rateLimited: return error("Throttling", 400, "Rate exceeded")
        case .snsError(let code, let status, let message): return error(code, status, message)
        default: break
        }
        if let refusal = validated(request) { return refusal }
        let body = """
            <PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
              <PublishResult>
                <MessageId>\(messageID(of: request))</MessageId>
              </PublishResult>
              <ResponseMetadata>
                <RequestId>\(UUID().uuidString.lowercased())</RequestId>
              </ResponseMetadata>
            </PublishResponse>
            """
        return (200, "text/xml", body)
    }

    static func error(_ code: String, _ status: Int, _ message: String, type: String = "Sender") -> (Int, String, String) {
        (status, "text/xml", """
            <ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
              <Error>
                <Type>\(type)</Type>
                <Code>\(code)</Code>
                <Message>\(message)</Message>
              </Error>
              <RequestId>\(UUID().uuidString.lowercased())</RequestId>
            </ErrorResponse>
            """)
    }

    /// What SNS would refuse: the signature first, then the parameters.
    private static func validated(_ request: FakeRequest) -> (Int, String, String)? {
        guard let authorization = request.authorization, authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            return error("MissingAuthenticationToken", 403, "Request is missing Authentication Token")
        }
        guard authorization.contains("Credential=\(accessKeyID)/") else {
            return error("InvalidClientTokenId", 403, "The security token included in the request is invalid.")
        }
        guard request.headers["x-amz-security-token"] == sessionToken else {
            return error("InvalidClientTokenId", 403, "The security token included in the request is invalid.")
        }
        guard authorization == expectedAuthorization(request) else {
            return error("SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided.")
        }
        guard request.field("Action") == "Publish", request.field("Version") == "2010-03-31" else {
            return error("InvalidAction", 400, "Could not find operation")
        }
        guard let phone = request.field("PhoneNumber"), phone.range(of: #"^\+[1-9][0-9]{6,14}$"#, options: .regularExpression) != nil else {
            return error("InvalidParameter", 400, "Invalid parameter: PhoneNumber Reason: is not valid")
        }
        guard let text = request.field("Message"), !text.isEmpty else { return error("InvalidParameter", 400, "Invalid parameter: Message") }
        guard request.field("MessageAttributes.entry.1.Name") == "AWS.SNS.SMS.SMSType",
              request.field("MessageAttributes.entry.1.Value.DataType") == "String",
              request.field("MessageAttributes.entry.1.Value.StringValue") == "Transactional" else {
            return error("InvalidParameterValue", 400, "Invalid parameter: MessageAttributes")
        }
        return nil
    }

    /// SigV4 as AWS describes it, over the headers the request says it signed.
    private static func expectedAuthorization(_ request: FakeRequest) -> String {
        guard let date = request.headers["x-amz-date"], date.count == 16,
              let signedPart = request.authorization?.components(separatedBy: "SignedHeaders=").last?.components(separatedBy: ",").first else { return "" }
        let signed = signedPart.components(separatedBy: ";")
        guard signed.contains("host"), signed.contains("x-amz-date") else { return "" }
        let headerBlock = signed.map { "\($0):\(request.headers[$0] ?? "")\n" }.joined()
        let payloadHash = hex(SHA256.hash(data: Data(request.rawBody.utf8)))
        let canonical = "POST\n/\n\n\(headerBlock)\n\(signedPart)\n\(payloadHash)"
        let day = String(date.prefix(8))
        let scope = "\(day)/\(region)/sns/aws4_request"
        let toSign = "AWS4-HMAC-SHA256\n\(date)\n\(scope)\n\(hex(SHA256.hash(data: Data(canonical.utf8))))"
        var key = SymmetricKey(data: Data("AWS4\(secretAccessKey)".utf8))
        for part in [day, region, "sns", "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: key))
        return "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope), SignedHeaders=\(signedPart), Signature=\(signature)"
    }

    private static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
