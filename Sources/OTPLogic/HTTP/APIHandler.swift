import Logging

/// FastCGI-free request handling: a request value in, a response value out.
public final class APIHandler {
    /// Which endpoints a process answers.
    public enum Exposure: Sendable {
        case everything
        /// Only the step-up check (and the Authorizer role): for an instance on a TCP port, where
        /// any local process can write FastCGI and choose its own `REMOTE_USER`. Everything else is 404.
        case stepUpCheckOnly
    }

    private let service: OTPService
    private let exposure: Exposure
    private let logger: Logger
    private let metricsExposition: (@Sendable () -> String)?

    /// `metricsExposition` renders the Prometheus text for the metrics endpoint; without it the
    /// endpoint answers 404.
    public init(service: OTPService, exposure: Exposure = .everything, logger: Logger, metricsExposition: (@Sendable () -> String)? = nil) {
        self.service = service
        self.exposure = exposure
        self.logger = logger
        self.metricsExposition = metricsExposition
    }

    /// Answers one request. Never throws: every failure has a defined answer.
    public func respond(to request: HTTPRequest) -> HTTPResponse {
        let route: Route
        do {
            route = try Route.resolve(request)
        } catch {
            return ErrorResponses.response(for: error)
        }
        if exposure == .stepUpCheckOnly && route != .stepUpCheck && route != .authorizer {
            return ErrorResponses.response(for: RequestError.notFound)
        }
        reportPrincipalProblems(request.principal, route: route)
        do {
            switch route {
            case .send: return try send(request)
            case .verify: return try verify(request)
            case .stepUpCheck: return try stepUpCheck(request)
            case .health: return try health(request)
            case .metrics: return try metrics(request)
            case .authorizer: return try authorize(request)
            case .deliveryStatus: return try deliveryStatus(request)
            }
        } catch let error as RequestError {
            return ErrorResponses.response(for: error)
        } catch let error as OTPError {
            return ErrorResponses.response(for: error)
        } catch {
            logger.error("unexpected error", metadata: ["event": "request", "error": "\(type(of: error))"])
            return ErrorResponses.internalError
        }
    }

    private func send(_ request: HTTPRequest) throws -> HTTPResponse {
        let body = try SendBody(json: jsonBody(of: request))
        let receipt = try service.send(body.request(principal: request.principal.userID, address: request.remoteAddress.flatMap(ClientAddress.init)))
        guard let hint = receipt.phoneHint else { return .json(200, #"{"status": "sent"}"#) }
        return .json(200, "{\"status\": \"sent\", \"phone_hint\": \(JSONText.quoted(hint))}")
    }

    private func verify(_ request: HTTPRequest) throws -> HTTPResponse {
        let body = try VerifyBody(json: jsonBody(of: request), codeLength: service.rules.codeLength)
        let verified = try service.verify(body.request(principal: request.principal.userID), code: body.code, stepUpToken: request.stepUpToken)
        switch verified {
        case .phoneVerified:
            return .json(200, #"{"status": "verified"}"#)
        case .stepUpGranted(let token):
            return .json(200, "{\"status\": \"verified\", \"step_up_token\": \(JSONText.quoted(token))}")
        }
    }

    private func stepUpCheck(_ request: HTTPRequest) throws -> HTTPResponse {
        let admission = try consume(request)
        var headers = [HTTPResponse.Header("Cache-Control", "no-store"), .init("X-Step-Up-User", admission.user)]
        if let delegate = admission.delegate { headers.append(.init("X-Step-Up-Delegate", delegate)) }
        return HTTPResponse(status: 204, headers: headers)
    }

    private func consume(_ request: HTTPRequest) throws(OTPError) -> StepUpAdmission {
        try service.consumeStepUpToken(
            request.stepUpToken, principal: request.principal.userID, action: request.stepUpAction, subject: request.stepUpSubject
        )
    }

    /// FastCGI Authorizer (§6.3): 200 lets the request through, and each `Variable-NAME` header
    /// becomes a variable the web server passes on; any other status denies. A refusal goes to the
    /// client as it is (lighttpd), so it says what the protected action needs, like the nginx site.
    private func authorize(_ request: HTTPRequest) throws -> HTTPResponse {
        let admission: StepUpAdmission
        do {
            admission = try consume(request)
        } catch .stepUpDenied(let action) {
            return ErrorResponses.stepUpRequired(action: action)
        }
        var headers: [HTTPResponse.Header] = [
            .init("Cache-Control", "no-store"), .init("Variable-STEP_UP_USER", admission.user), .init("X-Step-Up-User", admission.user),
        ]
        if let delegate = admission.delegate {
            headers += [.init("Variable-STEP_UP_DELEGATE", delegate), .init("X-Step-Up-Delegate", delegate)]
        }
        return HTTPResponse(status: 200, headers: headers)
    }

    /// A provider's delivery status callback: 200 once it is checked and stored (also for a
    /// message we do not know, so the provider does not retry it forever), 403 when unsigned or
    /// wrongly signed.
    private func deliveryStatus(_ request: HTTPRequest) throws -> HTTPResponse {
        let update = try DeliveryCallback.read(request, configuration: service.deliveryCallbacks, now: service.now(), logger: logger)
        _ = try service.recordDeliveryStatus(update)
        return .json(200, #"{"status": "ok"}"#)
    }

    private func metrics(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        guard let metricsExposition else { throw .notFound }
        guard request.method == "GET" || request.method == "HEAD" else { throw .methodNotAllowed(allow: "GET, HEAD") }
        return HTTPResponse(
            status: 200,
            headers: [.init("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), .init("Cache-Control", "no-store")],
            body: metricsExposition()
        )
    }

    private func health(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        guard request.method == "GET" || request.method == "HEAD" else { throw .methodNotAllowed(allow: "GET, HEAD") }
        if service.isHealthy() {
            return .json(200, #"{"status": "ok"}"#)
        }
        return .json(503, #"{"status": "unavailable"}"#, headers: [.init("Retry-After", "5")])
    }

    /// The checks every JSON endpoint shares, in this order: method, size, content type, completeness.
    private func jsonBody(of request: HTTPRequest) throws(RequestError) -> [UInt8] {
        guard request.method == "POST" else { throw .methodNotAllowed(allow: "POST") }
        if request.body == .tooLarge { throw .payloadTooLarge }
        if request.body == .timedOut { throw .bodyTimeout }
        guard MediaType.isJSON(request.contentType) else { throw .unsupportedMediaType }
        guard case .complete(let bytes) = request.body else {
            throw .malformed("Request body is shorter than its Content-Length")
        }
        return bytes
    }

    private func reportPrincipalProblems(_ principal: Principal, route: Route) {
        switch principal {
        case .ambiguous:
            logger.error(
                "REMOTE_USER sent more than once; treating the request as anonymous. Use the fastcgi params file shipped with otp-fcgi instead of fastcgi_params",
                metadata: ["event": "config_error", "route": "\(route)"]
            )
        case .invalid:
            logger.warning("REMOTE_USER has control characters or is too long; treating the request as anonymous", metadata: ["event": "config_error"])
        case .anonymous, .user:
            break
        }
    }
}

/// `Content-Type` matching.
enum MediaType {
    /// `application/json`, any case, with an optional `charset=utf-8` parameter.
    static func isJSON(_ header: String?) -> Bool {
        guard let header else { return false }
        // What every client sends, without splitting and lowercasing.
        if header == "application/json" || header == "application/json; charset=utf-8" { return true }
        let parts = header.split(separator: ";", omittingEmptySubsequences: false)
        guard parts[0].trimmingASCIIWhitespace().lowercased() == "application/json" else { return false }
        for parameter in parts.dropFirst() {
            let pair = parameter.trimmingASCIIWhitespace().lowercased()
            guard pair == "charset=utf-8" || pair == "charset=\"utf-8\"" else { return false }
        }
        return true
    }
}
