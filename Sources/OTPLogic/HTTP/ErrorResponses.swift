/// The one place errors become HTTP answers. Bodies are fixed texts: nothing from the request
/// (a phone, a code, a token) is ever echoed.
public enum ErrorResponses {
    static let invalidOrExpiredCode = "Invalid or expired code"
    static let notAuthenticated = "Not authenticated"
    static let couldNotSend = "Could not send code, try again later"
    static let cannotReceiveSMS = "This phone number cannot receive SMS"
    static let stepUpDenied = "Invalid or missing step-up token"
    /// The Authorizer role's refusal, which the web server passes to the client.
    static let stepUpRequired = "Step-up required: verify a step_up code and send the token in X-Step-Up-Token"
    static let serviceUnavailable = "Service temporarily unavailable, try again later"
    /// Seconds a client should wait after the database refused a request.
    static let storageRetryAfterSeconds = 2

    /// Anything unexpected: no detail leaves the process.
    public static let internalError = HTTPResponse.detail(500, "Internal error")

    /// The database could not be opened or did not answer.
    public static let storageUnavailable = HTTPResponse.detail(
        503, serviceUnavailable, headers: [.init("Retry-After", String(storageRetryAfterSeconds))]
    )

    public static func response(for error: RequestError) -> HTTPResponse {
        switch error {
        case .notFound:
            .detail(404, "Not found")
        case .methodNotAllowed(let allow):
            .detail(405, "Method not allowed", headers: [.init("Allow", allow)])
        case .payloadTooLarge:
            .detail(413, "Request body is larger than \(HTTPRequest.maximumBodyBytes) bytes")
        case .unsupportedMediaType:
            .detail(415, "Content-Type must be application/json")
        case .malformed(let message):
            .detail(400, message)
        case .invalid(let message):
            .detail(422, message)
        }
    }

    /// The Authorizer role's refusal: the web server hands it to the client unchanged.
    static let stepUpRequiredResponse = HTTPResponse.json(
        401, "{\"detail\": \(JSONText.quoted(stepUpRequired)), \"step_up\": \"required\"}"
    )

    public static func response(for error: OTPError) -> HTTPResponse {
        switch error {
        case .notAuthenticated:
            .detail(401, notAuthenticated)
        case .invalidOrExpiredCode:
            .detail(400, invalidOrExpiredCode)
        case .stepUpDenied:
            .detail(401, stepUpDenied)
        case .storageUnavailable:
            storageUnavailable
        case .smsUnavailable(let retryAfter):
            .detail(503, couldNotSend, headers: [.init("Retry-After", String(retryAfter))])
        case .recipientCannotReceiveSMS:
            .detail(422, cannotReceiveSMS)
        }
    }
}
