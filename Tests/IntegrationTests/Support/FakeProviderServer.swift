import Foundation
import TestSupport

/// What a fake provider does with the next request. The provider-specific errors are spoken in
/// each provider's own wire format by its fake.
enum FakeMode: Sendable, Equatable {
    case accept
    /// 500 in the provider's error format, no message id.
    case serverError
    /// 429 (Twilio 20429, SNS Throttling, Vonage status 1).
    case rateLimited
    /// Waits, then accepts.
    case slow(seconds: Double)
    /// Reads the request and never answers.
    case hang
    /// A 200 that is not the provider's answer (a proxy's page).
    case notJSON
    /// Reads the request, then resets the connection.
    case reset
    /// A Twilio error object with this code and HTTP status (21211, 21610, 20003 …).
    case twilioError(code: Int, status: Int)
    /// An SNS `<ErrorResponse>` with this code, HTTP status and message.
    case snsError(code: String, status: Int, message: String = "Error")
    /// A Vonage answer whose message has this `status` (2, 4, 7, 9, 29 …).
    case vonageStatus(Int)
}

/// One request a fake provider received, as a server decodes it.
struct FakeRequest: Sendable {
    var path: String
    var headers: [String: String]
    /// Form fields in the order sent, decoded.
    var fields: [(String, String)]
    var rawBody: String
    var answeredWith: FakeMode
    /// The form field that carries the message text.
    var textField: String

    var authorization: String? { headers["authorization"] }
    var contentType: String? { headers["content-type"] }
    func field(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }
    /// The code in the message text, for the default code length.
    var code: String? { field(textField).flatMap { SMSCode.extract(from: $0) } }
}

/// What a test does with any fake provider, over its server.
protocol FakeProvider: AnyObject {
    var server: FakeProviderServer { get }
}

extension FakeProvider {
    var port: Int { server.port }
    var requests: [FakeRequest] { server.requests }
    func setMode(_ mode: FakeMode) { server.setMode(mode) }
    func queue(_ modes: [FakeMode]) { server.queue(modes) }
    func setMode(_ mode: FakeMode, forRecipient recipient: String) { server.setMode(mode, forRecipient: recipient) }
    func stop() { server.stop() }
}

/// The HTTP side every fake provider shares: a loopback listener, HTTP/1.1 with keep-alive,
/// form bodies in, the provider's answer out, fault modes chosen per test (queued, per recipient
/// or by default), and the record of every request.
final class FakeProviderServer: @unchecked Sendable {
    let port: Int
    private let server: SocketServer
    private let lock = NSLock()
    private var defaultMode: FakeMode
    private var queuedModes: [FakeMode] = []
    private var modesByRecipient: [String: FakeMode] = [:]
    private var received: [FakeRequest] = []
    private let recipientField: String
    private let textField: String
    private let answer: @Sendable (FakeRequest, FakeMode) -> (Int, String, String)

    /// `answer` gives status, content type and body for a request in a mode that answers.
    init(mode: FakeMode, recipientField: String, textField: String, answer: @escaping @Sendable (FakeRequest, FakeMode) -> (Int, String, String)) throws {
        defaultMode = mode
        self.recipientField = recipientField
        self.textField = textField
        self.answer = answer
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
        guard ok else { throw StackError("fake provider cannot listen") }
        server = SocketServer(listener: fd)
        port = Int(UInt16(bigEndian: address.sin_port))
        server.start { [unowned self] fd in self.serve(fd) }
    }

    deinit { stop() }

    var baseURL: String { "http://127.0.0.1:\(port)" }
    func setMode(_ mode: FakeMode) { locked { defaultMode = mode; queuedModes = [] } }
    func queue(_ modes: [FakeMode]) { locked { queuedModes += modes } }
    func setMode(_ mode: FakeMode, forRecipient recipient: String) { locked { modesByRecipient[recipient] = mode } }
    var requests: [FakeRequest] { locked { received } }
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
            let mode = locked { () -> FakeMode in
                if let recipient = request.field(recipientField), let mode = modesByRecipient[recipient] { return mode }
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
                respond(fd, answer(recorded, .accept))
            case .notJSON:
                respond(fd, (200, "text/html", "<html><body>upstream proxy says hello</body></html>"))
            default:
                respond(fd, answer(recorded, mode))
            }
        }
    }

    private func respond(_ fd: Int32, _ answer: (Int, String, String)) {
        let (status, type, body) = answer
        let reason = [200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
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

    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> FakeRequest? {
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
        return FakeRequest(
            path: requestLine.count > 1 ? String(requestLine[1]) : "", headers: headers, fields: FakeProviderServer.decodeForm(body),
            rawBody: body, answeredWith: .accept, textField: textField
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

    /// RFC 3986 percent-encoding of a form value (what the fakes' callbacks send).
    static func encodeFormValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")) ?? text
    }
}
