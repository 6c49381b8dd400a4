import CFastCGI
import Glibc
import Logging
import OTPLogic

/// One worker thread's accept loop: FastCGI in, an `HTTPRequest` to the handler, the response out.
final class FastCGIWorker {
    /// libfcgi keeps pointers into the request: it must stay at one address for the worker's life.
    private let request: UnsafeMutablePointer<FCGX_Request>
    private let handler: APIHandler
    private let state: ServerState
    private let logger: Logger

    init(listenFileDescriptor: Int32, handler: APIHandler, state: ServerState, logger: Logger) {
        request = .allocate(capacity: 1)
        FCGX_InitRequest(request, listenFileDescriptor, 0)
        self.handler = handler
        self.state = state
        self.logger = logger
    }

    deinit {
        FCGX_Free(request, 1)
        request.deallocate()
    }

    /// Serves until shutdown. An accept error (EMFILE, say) backs off and retries instead of
    /// silently losing the worker.
    func run() {
        var backoffMilliseconds = 10
        while true {
            let accepted = FCGX_Accept_r(request)
            if state.isShuttingDown {
                if accepted >= 0 { serveCurrent() }
                return
            }
            guard accepted >= 0 else {
                logger.error("accept failed; retrying", metadata: ["event": "fastcgi.accept", "errno": "\(errno)", "rc": "\(accepted)"])
                var pause = timespec(tv_sec: backoffMilliseconds / 1000, tv_nsec: (backoffMilliseconds % 1000) * 1_000_000)
                nanosleep(&pause, nil)
                backoffMilliseconds = min(backoffMilliseconds * 2, 1000)
                continue
            }
            backoffMilliseconds = 10
            serveCurrent()
        }
    }

    private func serveCurrent() {
        state.requestStarted()
        defer { state.requestFinished() }
        let response = handler.respond(to: readRequest())
        let bytes = response.cgiBytes()
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                _ = FCGX_PutStr(chars.baseAddress, Int32(chars.count), request.pointee.out)
            }
        }
        FCGX_Finish_r(request)
    }

    /// Copies what the logic needs out of libfcgi's buffers (they are gone after `FCGX_Finish_r`).
    private func readRequest() -> HTTPRequest {
        let environment = request.pointee.envp
        func parameter(_ name: String) -> String? {
            guard let value = FCGX_GetParam(name, environment) else { return nil }
            return String(cString: value)
        }
        return HTTPRequest(
            method: parameter("REQUEST_METHOD") ?? "",
            documentURI: parameter("DOCUMENT_URI") ?? "",
            endpoint: parameter("OTP_ENDPOINT"),
            contentType: parameter("CONTENT_TYPE"),
            body: readBody(contentLength: parameter("CONTENT_LENGTH")),
            principal: Principal(remoteUserValues: allValues(of: "REMOTE_USER")),
            stepUpToken: parameter("HTTP_X_STEP_UP_TOKEN"),
            remoteAddress: parameter("REMOTE_ADDR")
        )
    }

    /// Every value of a parameter, in order. `FCGX_GetParam` returns only the first, which is how a
    /// repeated `REMOTE_USER` would let a client choose its principal.
    private func allValues(of name: String) -> [String] {
        var values: [String] = []
        let prefix = Array((name + "=").utf8CString.dropLast())
        guard var cursor = request.pointee.envp else { return values }
        while let entry = cursor.pointee {
            if strncmp(entry, prefix, prefix.count) == 0 {
                values.append(String(cString: entry + prefix.count))
            }
            cursor += 1
        }
        return values
    }

    /// Reads exactly `CONTENT_LENGTH` bytes: leftovers would poison a kept connection.
    private func readBody(contentLength: String?) -> HTTPRequest.Body {
        guard let contentLength, !contentLength.isEmpty else { return .complete([]) }
        guard let length = Int(contentLength), length >= 0 else { return .incomplete }
        if length > HTTPRequest.maximumBodyBytes {
            drain(length)
            return .tooLarge
        }
        var bytes = [UInt8](repeating: 0, count: length)
        let received = bytes.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                readFully(into: chars.baseAddress!, count: length)
            }
        }
        return received == length ? .complete(bytes) : .incomplete
    }

    private func readFully(into buffer: UnsafeMutablePointer<CChar>, count: Int) -> Int {
        var total = 0
        while total < count {
            let got = FCGX_GetStr(buffer + total, Int32(count - total), request.pointee.in)
            guard got > 0 else { break }
            total += Int(got)
        }
        return total
    }

    /// Reads and drops a refused body (nginx's `client_max_body_size` bounds it).
    private func drain(_ length: Int) {
        var scratch = [CChar](repeating: 0, count: 4096)
        var left = length
        while left > 0 {
            let got = scratch.withUnsafeMutableBufferPointer { FCGX_GetStr($0.baseAddress, Int32(min(left, 4096)), request.pointee.in) }
            guard got > 0 else { return }
            left -= Int(got)
        }
    }
}
