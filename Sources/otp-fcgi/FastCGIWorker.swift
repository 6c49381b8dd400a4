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
    private let bodyTimeoutMilliseconds: Int

    init(listenFileDescriptor: Int32, handler: APIHandler, state: ServerState, bodyTimeoutMilliseconds: Int, logger: Logger) {
        request = .allocate(capacity: 1)
        FCGX_InitRequest(request, listenFileDescriptor, 0)
        self.handler = handler
        self.state = state
        self.bodyTimeoutMilliseconds = bodyTimeoutMilliseconds
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
        let out = request.pointee.out
        response.writeCGI { piece in
            piece.withMemoryRebound(to: CChar.self) { chars in
                _ = FCGX_PutStr(chars.baseAddress, Int32(chars.count), out)
            }
        }
        FCGX_Finish_r(request)
    }

    /// Copies what the logic needs out of libfcgi's buffers (they are gone after `FCGX_Finish_r`).
    private func readRequest() -> HTTPRequest {
        let parameters = FastCGIParameters(environment: request.pointee.envp)
        let body = BodyReader(stream: request.pointee.in, socket: request.pointee.ipcFd, timeoutMilliseconds: bodyTimeoutMilliseconds)
            .read(contentLength: parameters.contentLength)
        return HTTPRequest(
            role: request.pointee.role == FCGI_AUTHORIZER ? .authorizer : .responder,
            principal: Principal(remoteUserBytes: parameters.remoteUsers),
            body: body,
            parameter: { parameters[$0] }
        )
    }
}
