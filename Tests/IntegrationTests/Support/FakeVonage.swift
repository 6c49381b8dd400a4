import Crypto
import Foundation

/// A stand-in for Vonage's SMS API (`POST /sms/json`) on loopback: form fields in, the JSON
/// `messages[]` answer out with a per-message `status` ("0" accepted with its `message-id`, or
/// Vonage's error statuses with `error-text`). It also plays Vonage's side of delivery receipts,
/// signed with the signature secret like Vonage's signed webhooks.
final class FakeVonage: FakeProvider, @unchecked Sendable {
    static let apiKey = "fakekey1"
    static let apiSecret = "fake-vonage-secret-\(UUID().uuidString.prefix(8))"
    static let signatureSecret = "fake-vonage-signature-\(UUID().uuidString)"
    static let from = "AcmePortal"

    let server: FakeProviderServer

    init(mode: FakeMode = .accept) throws {
        server = try FakeProviderServer(mode: mode, recipientField: "to", textField: "text") { request, mode in FakeVonage.answer(request, mode) }
    }

    var environment: [String: String] {
        [
            "VONAGE_API_KEY": FakeVonage.apiKey, "VONAGE_API_SECRET": FakeVonage.apiSecret, "VONAGE_FROM_NUMBER": FakeVonage.from,
            "VONAGE_API_BASE": server.baseURL, "VONAGE_SIGNATURE_SECRET": FakeVonage.signatureSecret,
        ]
    }

    static func messageID(of request: FakeRequest) -> String {
        SHA256.hash(data: Data(request.rawBody.utf8)).prefix(8).map { String(format: "%02X", $0) }.joined()
    }

    static let errorTexts = [
        1: "Throttled", 2: "Missing to param", 3: "Invalid to param", 4: "Bad Credentials", 5: "Internal Error", 6: "Invalid Message",
        7: "Number barred", 8: "Partner account barred", 9: "Partner quota exceeded", 15: "Illegal Sender Address - rejected",
        29: "Non-Whitelisted Destination",
    ]

    static func answer(_ request: FakeRequest, _ mode: FakeMode) -> (Int, String, String) {
        switch mode {
        case .serverError: return (500, "text/html", "<html><body>500 Internal Server Error</body></html>")
        case .rateLimited: return refused(1)
        case .vonageStatus(let status): return refused(status)
        default: break
        }
        guard request.path == "/sms/json" else { return (404, "text/plain", "Not Found") }
        guard request.field("api_key") == apiKey, request.field("api_secret") == apiSecret else { return refused(4) }
        guard let to = request.field("to"), !to.isEmpty else { return refused(2) }
        guard to.range(of: "^[1-9][0-9]{6,14}$", options: .regularExpression) != nil else { return refused(3) }
        guard request.field("from") == from else { return refused(15) }
        guard let text = request.field("text"), !text.isEmpty else { return refused(2) }
        // Text outside ASCII (a simplification of GSM-7) must be sent as unicode, or it arrives garbled.
        if !text.unicodeScalars.allSatisfy(\.isASCII) && request.field("type") != "unicode" { return refused(6) }
        let body = #"{"message-count": "1", "messages": [{"to": "\#(to)", "message-id": "\#(messageID(of: request))", "status": "0", "remaining-balance": "3.14159265", "message-price": "0.03330000", "network": "12345"}]}"#
        return (200, "application/json", body)
    }

    static func refused(_ status: Int) -> (Int, String, String) {
        (200, "application/json", #"{"message-count": "1", "messages": [{"status": "\#(status)", "error-text": "\#(errorTexts[status] ?? "Error")"}]}"#)
    }

    // MARK: - Delivery receipts, as Vonage sends them

    /// A delivery receipt for `request`, signed (md5hash, Vonage's default) unless `signed` is false.
    static func deliveryReceipt(for request: FakeRequest, status: String, errorCode: String = "0", timestamp: Int = Int(Date().timeIntervalSince1970), signed: Bool = true) -> [(String, String)] {
        var fields = [
            ("msisdn", request.field("to") ?? ""), ("to", from), ("network-code", "12345"), ("messageId", messageID(of: request)),
            ("price", "0.03330000"), ("status", status), ("scts", "2611210600"), ("err-code", errorCode), ("api-key", apiKey),
            ("message-timestamp", "2026-11-21 06:00:00"), ("timestamp", "\(timestamp)"), ("nonce", UUID().uuidString),
        ]
        // Vonage returns the message's client-ref, when it was sent with one, in each receipt.
        if let reference = request.field("client-ref") { fields.append(("client-ref", reference)) }
        if signed {
            let text = fields.sorted { $0.0 < $1.0 }.map { "&\($0.0)=\($0.1.replacingOccurrences(of: "&", with: "_").replacingOccurrences(of: "=", with: "_"))" }.joined()
            let digest = Insecure.MD5.hash(data: Data((text + signatureSecret).utf8))
            fields.append(("sig", digest.map { String(format: "%02x", $0) }.joined()))
        }
        return fields
    }

    static func form(_ fields: [(String, String)]) -> String {
        fields.map { "\($0.0)=\(FakeProviderServer.encodeFormValue($0.1))" }.joined(separator: "&")
    }
}
