import Foundation

/// Speaks FastCGI straight to the responder's socket, record by record, so a test can stop
/// halfway through a request.
final class FastCGIClient: @unchecked Sendable {
    private let fd: Int32

    enum RecordType: UInt8 {
        case beginRequest = 1, endRequest = 3, params = 4, stdin = 5, stdout = 6, stderr = 7
    }

    init(unixSocket path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        // `self.fd` is set only once connected: an initializer that throws after every property is
        // set still runs deinit, whose second close would hit the descriptor another thread got
        // under the same number meanwhile (a curl socket of a test under load).
        guard withUnixAddress(path, { connect(fd, $0, $1) }) == 0 else {
            let error = errno
            close(fd)
            throw StackError("connect \(path): errno \(error)")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    func record(_ type: RecordType, requestID: UInt16 = 1, _ content: [UInt8]) {
        record(rawType: type.rawValue, requestID: requestID, content)
    }

    func record(rawType: UInt8, version: UInt8 = 1, requestID: UInt16 = 1, _ content: [UInt8]) {
        FastCGIClient.writeAll(fd, FastCGIClient.recordBytes(rawType: rawType, version: version, requestID: requestID, content))
    }

    /// One record as it goes on the wire: header, content, padding to a multiple of 8 bytes.
    static func recordBytes(rawType: UInt8, version: UInt8 = 1, requestID: UInt16, _ content: [UInt8]) -> [UInt8] {
        precondition(content.count <= 65_535)
        let padding = (8 - content.count % 8) % 8
        var bytes: [UInt8] = [version, rawType, UInt8(requestID >> 8), UInt8(requestID & 0xff),
                              UInt8(content.count >> 8), UInt8(content.count & 0xff), UInt8(padding), 0]
        bytes += content
        bytes += [UInt8](repeating: 0, count: padding)
        return bytes
    }

    /// BEGIN_REQUEST, by default for the responder role and without keep-alive.
    func begin(requestID: UInt16 = 1, role: UInt16 = 1, keepConnection: Bool = false) {
        record(.beginRequest, requestID: requestID, [UInt8(role >> 8), UInt8(role & 0xff), keepConnection ? 1 : 0, 0, 0, 0, 0, 0])
    }

    /// Bytes exactly as given: for malformed records.
    func raw(_ bytes: [UInt8]) {
        FastCGIClient.writeAll(fd, bytes)
    }

    /// Closes with a TCP-style reset instead of an orderly shutdown.
    func reset() {
        var linger = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// A request from parameters to answer, in one go.
    func exchange(_ pairs: [(String, String)], body: [UInt8] = []) throws -> String {
        begin()
        params(pairs)
        if !body.isEmpty { stdin(body) }
        stdin([])
        return try readResponse()
    }

    func params(_ pairs: [(String, String)]) {
        var content: [UInt8] = []
        for (name, value) in pairs {
            content += FastCGIClient.length(name.utf8.count) + FastCGIClient.length(value.utf8.count)
            content += Array(name.utf8) + Array(value.utf8)
        }
        record(.params, content)
        record(.params, [])
    }

    func stdin(_ bytes: [UInt8]) {
        record(.stdin, bytes)
    }

    /// Reads records until END_REQUEST; returns everything written to stdout.
    func readResponse(timeoutSeconds: Int = 10) throws -> String {
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var output: [UInt8] = []
        while true {
            let header = try FastCGIClient.readExactly(fd, 8)
            let length = Int(header[4]) << 8 | Int(header[5])
            let content = try FastCGIClient.readExactly(fd, length + Int(header[6]))
            switch RecordType(rawValue: header[1]) {
            case .stdout: output += content.prefix(length)
            case .endRequest: return String(decoding: output, as: UTF8.self)
            default: continue
            }
        }
    }

    static func length(_ count: Int) -> [UInt8] {
        if count < 128 { return [UInt8(count)] }
        return [UInt8((count >> 24) | 0x80), UInt8((count >> 16) & 0xff), UInt8((count >> 8) & 0xff), UInt8(count & 0xff)]
    }

    /// Writes until every byte is sent or the connection is gone.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return }
            offset += written
        }
    }

    /// Exactly `count` bytes, or an error when the connection closes or the read times out first.
    static func readExactly(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw StackError("FastCGI connection closed or timed out after \(got) of \(count) bytes") }
            got += n
        }
        return buffer
    }
}
