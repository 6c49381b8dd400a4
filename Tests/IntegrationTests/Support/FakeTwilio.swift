import Crypto
import Foundation

/// A stand-in for Twilio's `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` on loopback,
/// speaking the wire format of the published API description (../shared/reference): HTTP Basic,
/// `application/x-www-form-urlencoded` in, a 201 message JSON or a Twilio error object out. It
/// also plays Twilio's side of status callbacks: it signs them with the auth token as Twilio does.
final class FakeTwilio: FakeProvider, @unchecked Sendable {
    typealias Mode = FakeMode
    typealias Received = FakeRequest

    static let accountSID = "AC" + String(repeating: "0123456789abcdef", count: 2)
    static let authToken = "fake-twilio-auth-token-\(UUID().uuidString)"
    static let messagingServiceSID = "MG" + String(repeating: "fedcba9876543210", count: 2)

    let server: FakeProviderServer

    init(mode: Mode = .accept) throws {
        server = try FakeProviderServer(mode: mode, recipientField: "To", textField: "Body") { request, mode in FakeTwilio.answer(request, mode) }
    }

    /// The environment that points otp-fcgi at this fake.
    var environment: [String: String] {
        [
            "OTP_SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": FakeTwilio.accountSID,
            "TWILIO_AUTH_TOKEN": FakeTwilio.authToken,
            "TWILIO_MESSAGING_SERVICE_SID": FakeTwilio.messagingServiceSID,
            "TWILIO_API_BASE": server.baseURL,
        ]
    }

    static func answer(_ request: Received, _ mode: Mode) -> (Int, String, String) {
        switch mode {
        case .serverError: (500, "application/json", error(20500, 500, "Internal Server Error"))
        case .rateLimited: (429, "application/json", error(20429, 429, "Too Many Requests"))
        case .twilioError(let code, let status): (status, "application/json", error(code, status, "Error \(code)"))
        default: validated(request) ?? created(request)
        }
    }

    /// What real Twilio would refuse, checked like Twilio checks it.
    private static func validated(_ request: Received) -> (Int, String, String)? {
        let expectedAuth = "Basic " + Data("\(accountSID):\(authToken)".utf8).base64EncodedString()
        guard request.authorization == expectedAuth else { return (401, "application/json", error(20003, 401, "Authenticate")) }
        guard request.path == "/2010-04-01/Accounts/\(accountSID)/Messages.json" else {
            return (404, "application/json", error(20404, 404, "The requested resource was not found"))
        }
        guard request.contentType?.hasPrefix("application/x-www-form-urlencoded") == true, let to = request.field("To") else {
            return (400, "application/json", error(21604, 400, "A 'To' phone number is required."))
        }
        guard to.range(of: #"^\+[1-9][0-9]{6,14}$"#, options: .regularExpression) != nil else {
            return (400, "application/json", error(21211, 400, "The 'To' number is not a valid phone number."))
        }
        guard let service = request.field("MessagingServiceSid"), service.range(of: "^MG[0-9a-fA-F]{32}$", options: .regularExpression) != nil else {
            return (400, "application/json", error(21705, 400, "The Messaging Service Sid is invalid."))
        }
        guard let body = request.field("Body"), !body.isEmpty else { return (400, "application/json", error(21602, 400, "Message body is required.")) }
        guard body.count <= 1600 else { return (400, "application/json", error(21617, 400, "The concatenated message body exceeds the 1600 character limit.")) }
        if let callback = request.field("StatusCallback"), !callback.hasPrefix("https://") {
            return (400, "application/json", error(21609, 400, "Invalid StatusCallback"))
        }
        return nil
    }

    /// The sid a 201 carries for `request`: derived from its body, so tests can find it again.
    static func sid(of request: Received) -> String {
        "SM" + SHA256.hash(data: Data(request.rawBody.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    private static func created(_ request: Received) -> (Int, String, String) {
        let sid = sid(of: request)
        let now = "Sat, 21 Nov 2026 06:00:00 +0000"
        let message: [String: Any] = [
            "account_sid": accountSID, "api_version": "2010-04-01", "body": request.field("Body") ?? "",
            "date_created": now, "date_sent": NSNull(), "date_updated": now, "direction": "outbound-api",
            "error_code": NSNull(), "error_message": NSNull(), "from": NSNull(),
            "messaging_service_sid": request.field("MessagingServiceSid") ?? "", "num_media": "0", "num_segments": "0",
            "price": NSNull(), "price_unit": NSNull(), "sid": sid, "status": "accepted",
            "subresource_uris": ["media": "/2010-04-01/Accounts/\(accountSID)/Messages/\(sid)/Media.json"],
            "to": request.field("To") ?? "", "uri": "/2010-04-01/Accounts/\(accountSID)/Messages/\(sid).json",
        ]
        let data = try! JSONSerialization.data(withJSONObject: message, options: [.sortedKeys])
        return (201, "application/json", String(decoding: data, as: UTF8.self))
    }

    private static func error(_ code: Int, _ status: Int, _ message: String) -> String {
        #"{"code": \#(code), "message": "\#(message)", "more_info": "https://www.twilio.com/docs/errors/\#(code)", "status": \#(status)}"#
    }

    // MARK: - Status callbacks, as Twilio sends them

    /// The form Twilio posts to a message's `StatusCallback` (a subset of its message webhook).
    static func statusCallback(for request: Received, status: String, errorCode: Int? = nil) -> [(String, String)] {
        var fields = [
            ("AccountSid", accountSID), ("ApiVersion", "2010-04-01"), ("From", "+15005550006"), ("MessageSid", sid(of: request)),
            ("MessageStatus", status), ("MessagingServiceSid", messagingServiceSID), ("SmsSid", sid(of: request)), ("SmsStatus", status),
            ("To", request.field("To") ?? ""),
        ]
        if let errorCode { fields.append(("ErrorCode", "\(errorCode)")) }
        if status == "delivered" || status == "undelivered" { fields.append(("RawDlrDoneDate", "2611210600")) }
        return fields
    }

    /// `X-Twilio-Signature` as Twilio computes it: Base64(HMAC-SHA1(auth token, the URL, then
    /// each parameter's name and value sorted by name)).
    static func signature(url: String, fields: [(String, String)], authToken: String = authToken) -> String {
        let data = fields.sorted { $0.0 < $1.0 }.reduce(url) { $0 + $1.0 + $1.1 }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(data.utf8), using: SymmetricKey(data: Data(authToken.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// The body and headers of a signed callback (`signature` nil: unsigned; given: used as is).
    static func callbackRequest(url: String, fields: [(String, String)], signature: String?? = .none) -> (body: String, headers: [String]) {
        let body = fields.map { "\($0.0)=\(FakeProviderServer.encodeFormValue($0.1))" }.joined(separator: "&")
        var headers = ["Content-Type: application/x-www-form-urlencoded", "User-Agent: TwilioProxy/1.1"]
        switch signature {
        case .none: headers.append("X-Twilio-Signature: \(self.signature(url: url, fields: fields))")
        case .some(.some(let given)): headers.append("X-Twilio-Signature: \(given)")
        case .some(.none): break
        }
        return (body, headers)
    }
}
