import Foundation
import TestSupport

/// A stand-in for Twilio's `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` on loopback,
/// speaking the wire format of the published API description (../shared/reference): HTTP/1.1
/// with keep-alive, HTTP Basic, `application/x-www-form-urlencoded` in, a 201 message JSON or a
/// Twilio error object out. Fault modes are chosen per test, and per recipient if needed.
final class FakeTwilio: @unchecked Sendable {
    enum Mode: Sendable, Equatable {
        case accept
        case serverError
        case rateLimited
        /// Waits, then accepts.
        case slow(seconds: Double)
        /// Reads the request and never answers.
        case hang
        case notJSON
        /// Reads the request, then resets the connection.
        case reset
        /// A Twilio error object with this code and HTTP status (21211, 21610, 20003 …).
        case twilioError(code: Int, status: Int)
    }

    struct Received: Sendable {
        var path: String
        var authorization: String?
        var contentType: String?
        /// Form fields in the order sent, decoded.
        var fields: [(String, String)]
        var rawBody: String
        var answeredWith: Mode

        func field(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }
        /// The code in the message text, for the default code length.
        var code: String? { field("Body").flatMap { SMSCode.extract(from: $0) } }
    }

    static let accountSID = "AC" + String(repeating: "0123456789abcdef", count: 2)
    static let authToken = "fake-twilio-auth-token-\(UUID().uuidString)"
    static let messagingServiceSID = "MG" + String(repeating: "fedcba9876543210", count: 2)

    let port: Int
    private let server: SocketServer
    private let lock = NSLock()
    private var defaultMode: Mode
    /// Modes used once each, in order, before `defaultMode`.
    private var queuedModes: [Mode] = []
    private var modesByRecipient: [String: Mode] = [:]
    private var received: [Received] = []

    init(mode: Mode = .accept) throws {
        defaultMode = mode
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && listen(fd, 128) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard ok else { throw StackError("fake Twilio cannot listen") }
        server = SocketServer(listener: fd)
        port = Int(UInt16(bigEndian: address.sin_port))
        server.start { [unowned self] fd in self.serve(fd) }
    }

    deinit { stop() }

    /// The environment that points otp-fcgi at this fake.
    var environment: [String: String] {
        [
            "OTP_SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": FakeTwilio.accountSID,
            "TWILIO_AUTH_TOKEN": FakeTwilio.authToken,
            "TWILIO_MESSAGING_SERVICE_SID": FakeTwilio.messagingServiceSID,
            "TWILIO_API_BASE": "http://127.0.0.1:\(port)",
        ]
    }

    func setMode(_ mode: Mode) { locked { defaultMode = mode; queuedModes = [] } }
    func queue(_ modes: [Mode]) { locked { queuedModes += modes } }
    func setMode(_ mode: Mode, forRecipient phone: String) { locked { modesByRecipient[phone] = mode } }
    var requests: [Received] { locked { received } }

    func stop() { server.stop() }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Serves requests on one kept-alive connection until the client closes it.
    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        while let request = readRequest(fd, &buffer) {
            let mode = locked { () -> Mode in
                if let phone = request.fields.first(where: { $0.0 == "To" })?.1, let mode = modesByRecipient[phone] { return mode }
                if !queuedModes.isEmpty { return queuedModes.removeFirst() }
                return defaultMode
            }
            var recorded = request
            recorded.answeredWith = mode
            locked { received.append(recorded) }
            switch mode {
            case .hang:
                while !server.isStopped { usleep(50_000) }
                return
            case .reset:
                var linger = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
                return
            case .slow(let seconds):
                usleep(useconds_t(seconds * 1_000_000))
                respond(fd, validated(request) ?? created(request))
            case .accept:
                respond(fd, validated(request) ?? created(request))
            case .serverError:
                respond(fd, (500, "application/json", error(20500, 500, "Internal Server Error")))
            case .rateLimited:
                respond(fd, (429, "application/json", error(20429, 429, "Too Many Requests")))
            case .notJSON:
                respond(fd, (200, "text/html", "<html><body>upstream proxy says hello</body></html>"))
            case .twilioError(let code, let status):
                respond(fd, (status, "application/json", error(code, status, "Error \(code)")))
            }
        }
    }

    /// What real Twilio would refuse, checked like Twilio checks it.
    private func validated(_ request: Received) -> (Int, String, String)? {
        let expectedAuth = "Basic " + Data("\(FakeTwilio.accountSID):\(FakeTwilio.authToken)".utf8).base64EncodedString()
        guard request.authorization == expectedAuth else { return (401, "application/json", error(20003, 401, "Authenticate")) }
        guard request.path == "/2010-04-01/Accounts/\(FakeTwilio.accountSID)/Messages.json" else {
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
        return nil
    }

    private func created(_ request: Received) -> (Int, String, String) {
        let sid = "SM" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let now = "Sat, 21 Nov 2026 06:00:00 +0000"
        let message: [String: Any] = [
            "account_sid": FakeTwilio.accountSID, "api_version": "2010-04-01", "body": request.field("Body") ?? "",
            "date_created": now, "date_sent": NSNull(), "date_updated": now, "direction": "outbound-api",
            "error_code": NSNull(), "error_message": NSNull(), "from": NSNull(),
            "messaging_service_sid": request.field("MessagingServiceSid") ?? "", "num_media": "0", "num_segments": "0",
            "price": NSNull(), "price_unit": NSNull(), "sid": sid, "status": "accepted",
            "subresource_uris": ["media": "/2010-04-01/Accounts/\(FakeTwilio.accountSID)/Messages/\(sid)/Media.json"],
            "to": request.field("To") ?? "", "uri": "/2010-04-01/Accounts/\(FakeTwilio.accountSID)/Messages/\(sid).json",
        ]
        let data = try! JSONSerialization.data(withJSONObject: message, options: [.sortedKeys])
        return (201, "application/json", String(decoding: data, as: UTF8.self))
    }

    private func error(_ code: Int, _ status: Int, _ message: String) -> String {
        #"{"code": \#(code), "message": "\#(message)", "more_info": "https://www.twilio.com/docs/errors/\#(code)", "status": \#(status)}"#
    }

    private func respond(_ fd: Int32, _ answer: (Int, String, String)) {
        let (status, type, body) = answer
        let reason = [200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                      429: "Too Many Requests", 500: "Internal Server Error"][status] ?? "Status"
        let text = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            offset += n
        }
    }

    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> Received? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while true {
            if let end = buffer.firstRange(of: separator)?.upperBound { headerEnd = end; break }
            guard readMore(fd, &buffer) else { return nil }
        }
        guard let headerEnd else { return nil }
        let head = String(decoding: buffer[..<headerEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < headerEnd + length {
            guard readMore(fd, &buffer) else { return nil }
        }
        let body = String(decoding: buffer[headerEnd..<(headerEnd + length)], as: UTF8.self)
        buffer.removeFirst(headerEnd + length)
        return Received(
            path: requestLine.count > 1 ? String(requestLine[1]) : "", authorization: headers["authorization"],
            contentType: headers["content-type"], fields: FakeTwilio.decodeForm(body), rawBody: body, answeredWith: .accept
        )
    }

    private func readMore(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer += chunk[..<n]
        return true
    }

    /// application/x-www-form-urlencoded as a server decodes it: `+` is a space, `%XX` a byte.
    static func decodeForm(_ body: String) -> [(String, String)] {
        func decode(_ text: Substring) -> String {
            var bytes: [UInt8] = []
            var index = text.utf8.startIndex
            let utf8 = text.utf8
            while index < utf8.endIndex {
                let byte = utf8[index]
                if byte == UInt8(ascii: "+") {
                    bytes.append(0x20)
                } else if byte == UInt8(ascii: "%"), let end = utf8.index(index, offsetBy: 2, limitedBy: utf8.endIndex), end < utf8.endIndex,
                          let value = UInt8(String(decoding: utf8[utf8.index(after: index)...end], as: UTF8.self), radix: 16) {
                    bytes.append(value)
                    index = end
                } else {
                    bytes.append(byte)
                }
                index = utf8.index(after: index)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        return body.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}
