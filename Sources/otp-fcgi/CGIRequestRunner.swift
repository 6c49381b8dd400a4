import Glibc
import Logging
import OTPLogic

/// Plain CGI: the web server started otp-fcgi for one request. The parameters are the process
/// environment, the body is stdin, the answer goes to stdout, then the process exits.
enum CGIRequestRunner {
    /// True when started by a CGI server: no listening socket on fd 0 and the CGI variables set.
    static func isCGI(environment: [String: String]) -> Bool {
        environment["GATEWAY_INTERFACE"]?.hasPrefix("CGI/") == true && !ListenSocket.isListening(0)
    }

    static func run(configuration: Configuration, environment: [String: String], logger: Logger) {
        let response: HTTPResponse
        do {
            let handler = try WorkerComponents.makeHandler(
                configuration: configuration, smsLimit: SMSInFlightLimit(maximum: 1), logger: logger
            )
            let body = HTTPRequest.readBody(contentLength: environment["CONTENT_LENGTH"]) { buffer in
                var got = 0
                repeat { got = Glibc.read(0, buffer.baseAddress, buffer.count) } while got < 0 && errno == EINTR
                return max(got, 0)
            }
            // The environment cannot carry a name twice, so REMOTE_USER is one value or none; its
            // bytes, not the environment's decoded text, decide whether it is UTF-8.
            let remoteUser = getenv("REMOTE_USER").map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0))) }
            let request = HTTPRequest(
                principal: Principal(remoteUserBytes: remoteUser.map { [$0] } ?? []), body: body, parameter: { environment[$0.name] }
            )
            response = handler.respond(to: request)
        } catch {
            logger.error("database unavailable", metadata: ["event": "storage", "error": "\(error)"])
            response = ErrorResponses.storageUnavailable
        }
        write(response)
    }

    static func write(_ response: HTTPResponse) {
        let bytes = response.cgiBytes()
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
