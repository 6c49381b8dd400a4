import Foundation

/// A FastCGI responder on a unix socket that stands in for otp-fcgi where a test must see exactly
/// what the web server sends: it records every request's parameters and answers each one with
/// `Status: 200` and a small JSON body.
final class RecordingFastCGIServer: @unchecked Sendable {
    /// One request as the web server sent it.
    struct Request: Sendable {
        /// Every parameter in the order received; a repeated name appears each time.
        var params: [(name: String, value: String)]
        var body: [UInt8]

        func param(_ name: String) -> String? { params.first { $0.name == name }?.value }
    }

    /// What every request gets, as the responder writes it on STDOUT.
    static let answer = "Status: 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\r\n{\"status\": \"recorded\"}"

    private let server: SocketServer
    private let lock = NSLock()
    private var received: [Request] = []

    init(socketPath: String) throws {
        unlink(socketPath)
        server = SocketServer(listener: try listeningUnixSocket(socketPath))
        server.start { [weak self] fd in self?.serve(fd) }
    }

    deinit { stop() }

    /// Every complete request so far, in the order they ended.
    var requests: [Request] { lock.withLock { received } }

    func stop() { server.stop() }

    /// Answers the requests on one connection until the web server closes it (or, without
    /// FCGI_KEEP_CONN, after the first).
    private func serve(_ fd: Int32) {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var requestID: UInt16 = 0
        var keepConnection = false
        var params: [UInt8] = []
        var body: [UInt8] = []
        while let record = try? readRecord(fd) {
            switch FastCGIClient.RecordType(rawValue: record.type) {
            case .beginRequest:
                requestID = record.requestID
                keepConnection = record.content.count > 2 && record.content[2] & 1 != 0
                params = []
                body = []
            case .params:
                params += record.content
            case .stdin where !record.content.isEmpty:
                body += record.content
            case .stdin:
                let request = Request(params: RecordingFastCGIServer.pairs(params), body: body)
                lock.withLock { received.append(request) }
                respond(fd, requestID: requestID)
                if !keepConnection { return }
            default:
                continue
            }
        }
    }

    private func readRecord(_ fd: Int32) throws -> (type: UInt8, requestID: UInt16, content: [UInt8]) {
        let header = try FastCGIClient.readExactly(fd, 8)
        let length = Int(header[4]) << 8 | Int(header[5])
        let content = try FastCGIClient.readExactly(fd, length + Int(header[6]))
        return (header[1], UInt16(header[2]) << 8 | UInt16(header[3]), Array(content.prefix(length)))
    }

    /// STDOUT with the answer, the empty STDOUT that ends it, END_REQUEST (complete, status 0).
    private func respond(_ fd: Int32, requestID: UInt16) {
        let stdout = FastCGIClient.RecordType.stdout.rawValue
        let bytes = FastCGIClient.recordBytes(rawType: stdout, requestID: requestID, Array(RecordingFastCGIServer.answer.utf8))
            + FastCGIClient.recordBytes(rawType: stdout, requestID: requestID, [])
            + FastCGIClient.recordBytes(rawType: FastCGIClient.RecordType.endRequest.rawValue, requestID: requestID, [0, 0, 0, 0, 0, 0, 0, 0])
        FastCGIClient.writeAll(fd, bytes)
    }

    /// The name-value pairs of a PARAMS stream, up to the first one that does not fit.
    static func pairs(_ bytes: [UInt8]) -> [(name: String, value: String)] {
        var index = 0
        func length() -> Int? {
            guard index < bytes.count else { return nil }
            guard bytes[index] & 0x80 != 0 else {
                index += 1
                return Int(bytes[index - 1])
            }
            guard index + 4 <= bytes.count else { return nil }
            let value = bytes[index..<index + 4].reduce(0) { $0 << 8 | Int($1) } & 0x7fff_ffff
            index += 4
            return value
        }
        var pairs: [(name: String, value: String)] = []
        while let nameLength = length(), let valueLength = length(), index + nameLength + valueLength <= bytes.count {
            let name = String(decoding: bytes[index..<index + nameLength], as: UTF8.self)
            let value = String(decoding: bytes[index + nameLength..<index + nameLength + valueLength], as: UTF8.self)
            pairs.append((name, value))
            index += nameLength + valueLength
        }
        return pairs
    }
}
