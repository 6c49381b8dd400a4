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
        case .bodyTimeout:
            .detail(408, "Request body not received in time")
        case .malformed(let message):
            .detail(400, message)
        case .invalid(let message):
            .detail(422, message)
        case .badSignature:
            .detail(403, "Invalid or missing signature")
        case .notAForm:
            .detail(415, "Content-Type must be application/x-www-form-urlencoded")
        }
    }

    static let phoneChangeNeedsStepUp = "Changing the verified phone needs a step-up with the current phone"

    /// What to do next (RFC 9470 style): a step-up, for `action` when the location names one.
    static func challenge(action: String?) -> HTTPResponse.Header {
        .init("WWW-Authenticate", action.map { "OTP-Step-Up action=\"\($0)\"" } ?? "OTP-Step-Up")
    }

    /// `{"detail": …, "step_up": "required", "action": …}` with the challenge.
    static func stepUpChallenge(_ status: Int, _ detail: String, action: String?) -> HTTPResponse {
        let actionMember = action.map { ", \"action\": \(JSONText.quoted($0))" } ?? ""
        return .json(
            status, "{\"detail\": \(JSONText.quoted(detail)), \"step_up\": \"required\"\(actionMember)}", headers: [challenge(action: action)]
        )
    }

    /// The Authorizer role's refusal: the web server hands it to the client unchanged.
    static func stepUpRequired(action: String?) -> HTTPResponse {
        stepUpChallenge(401, stepUpRequired, action: action)
    }

    public static func response(for error: OTPError) -> HTTPResponse {
        switch error {
        case .notAuthenticated:
            .detail(401, notAuthenticated)
        case .invalidOrExpiredCode:
            .detail(400, invalidOrExpiredCode)
        case .stepUpDenied(let action):
            .detail(401, stepUpDenied, headers: [challenge(action: action)])
        case .notADelegate:
            .detail(403, "Only a delegate principal may act for a subject")
        case .unknownAction:
            .detail(422, "Field action is not a step-up action of this site")
        case .noVerifiedPhone:
            .detail(409, "This account has no verified phone")
        case .notThePhoneOnRecord:
            .detail(422, "phone_e164 is not the verified phone of this account")
        case .phoneChangeNeedsStepUp:
            stepUpChallenge(403, phoneChangeNeedsStepUp, action: StepUpActions.changePhone)
        case .smsBlocked(let block):
            switch block {
            case .invalidNumber, .numberType, .countryNotAllowed:
                .detail(422, cannotReceiveSMS)
            case .overBudget(.user, let retryAfter), .overBudget(.address, let retryAfter):
                .detail(429, "Too many requests, try again later", headers: [.init("Retry-After", String(retryAfter))])
            case .countryPaused(let retryAfter), .overBudget(.country, let retryAfter), .overBudget(.total, let retryAfter):
                .detail(503, couldNotSend, headers: [.init("Retry-After", String(retryAfter))])
            }
        case .storageUnavailable:
            storageUnavailable
        case .smsUnavailable(let retryAfter):
            .detail(503, couldNotSend, headers: [.init("Retry-After", String(retryAfter))])
        case .recipientCannotReceiveSMS:
            .detail(422, cannotReceiveSMS)
        }
    }
}
