/// One request as the FastCGI layer hands it to the logic: the CGI parameters otp-fcgi reads and
/// the body, already bounded.
public struct HTTPRequest: Sendable {
    /// Bodies longer than this are refused with 413 without being read.
    public static let maximumBodyBytes = 4096

    public enum Body: Sendable, Equatable {
        case complete([UInt8])
        /// `CONTENT_LENGTH` was over `maximumBodyBytes`.
        case tooLarge
        /// Fewer bytes arrived than `CONTENT_LENGTH` announced, or it was not a number.
        case incomplete
        /// The body did not arrive within the read deadline (a client trickling it).
        case timedOut
    }

    /// The FastCGI role the web server asked for.
    public enum Role: Sendable, Equatable {
        case responder
        /// FastCGI 1.0 §6.3: the server asks whether to let the request through; otp-fcgi answers
        /// it with the step-up check.
        case authorizer
    }

    public var role: Role
    public var method: String
    /// `DOCUMENT_URI`: routes the public API by its last segment.
    public var documentURI: String
    /// `OTP_ENDPOINT`: set only by nginx in internal locations.
    public var endpoint: String?
    public var contentType: String?
    public var body: Body
    public var principal: Principal
    /// `HTTP_X_STEP_UP_TOKEN`: the token the check consumes, or a `change-phone` token on verify.
    public var stepUpToken: String?
    /// `OTP_STEP_UP_ACTION`: the action the protected location needs (set by the web server).
    public var stepUpAction: String?
    /// `HTTP_X_STEP_UP_SUBJECT`: on the check, the user a delegate acts for.
    public var stepUpSubject: String?
    public var remoteAddress: String?
    /// `HTTP_X_TWILIO_SIGNATURE`: a Twilio status callback's signature.
    public var twilioSignature: String?
    /// `REQUEST_URI`: the path and query the client asked for (what Twilio's signature covers).
    public var requestURI: String?

    public init(
        role: Role = .responder, method: String, documentURI: String, endpoint: String? = nil, contentType: String? = nil,
        body: Body = .complete([]), principal: Principal = .anonymous, stepUpToken: String? = nil,
        stepUpAction: String? = nil, stepUpSubject: String? = nil, remoteAddress: String? = nil, twilioSignature: String? = nil,
        requestURI: String? = nil
    ) {
        self.role = role
        self.method = method
        self.documentURI = documentURI
        self.endpoint = endpoint
        self.contentType = contentType
        self.body = body
        self.principal = principal
        self.stepUpToken = stepUpToken
        self.stepUpAction = stepUpAction
        self.stepUpSubject = stepUpSubject
        self.remoteAddress = remoteAddress
        self.twilioSignature = twilioSignature
        self.requestURI = requestURI
    }
}

/// Who nginx says is calling, from `REMOTE_USER`.
public enum Principal: Sendable, Equatable {
    case anonymous
    case user(String)
    /// `REMOTE_USER` arrived more than once: a client may have chosen one of the values (Debian's
    /// stock `fastcgi_params` forwards `$remote_user` from any Basic header). Treated as anonymous.
    case ambiguous
    /// A value no authentication module produces (control characters, absurd length). Anonymous.
    case invalid

    public static let maximumLength = 256

    /// Classifies every `REMOTE_USER` value the request carried, in order, as the web server sent
    /// its bytes: a value that is not UTF-8 is `.invalid` (decoding it with replacement characters
    /// would make distinct names one user).
    public init(remoteUserBytes values: [[UInt8]]) {
        guard values.count == 1 else {
            self.init(remoteUserValues: values.map { String(decoding: $0, as: UTF8.self) })
            return
        }
        guard let value = String(validUTF8: values[0]) else {
            self = .invalid
            return
        }
        self.init(remoteUserValues: [value])
    }

    /// Classifies every `REMOTE_USER` value the request carried, in order.
    public init(remoteUserValues values: [String]) {
        switch values.count {
        case 0:
            self = .anonymous
        case 1:
            let value = values[0]
            if value.isEmpty {
                self = .anonymous
            } else if value.utf8.count > Principal.maximumLength || value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
                self = .invalid
            } else {
                self = .user(value)
            }
        default:
            self = .ambiguous
        }
    }

    /// The authenticated user, or nil for every kind of anonymous.
    public var userID: String? {
        if case .user(let id) = self { return id }
        return nil
    }
}
