/// Which endpoint a request is for.
public enum Route: Sendable, Equatable {
    case send
    case verify
    case stepUpCheck
    case health
    case metrics
    /// The Authorizer role: the step-up check, answered the way an authorizer answers.
    case authorizer
    /// The providers' delivery status callbacks (Twilio `StatusCallback`, Vonage receipts).
    case deliveryStatus

    /// Internal endpoints come only from `OTP_ENDPOINT`, which nginx sets in internal locations and
    /// a client cannot; the public API is the last segment of `DOCUMENT_URI`. So no path reaches
    /// the check or health.
    public static func resolve(_ request: HTTPRequest) throws(RequestError) -> Route {
        if request.role == .authorizer { return .authorizer }
        if let endpoint = request.endpoint, !endpoint.isEmpty {
            switch endpoint {
            case "step-up-check": return .stepUpCheck
            case "health": return .health
            case "metrics": return .metrics
            case "delivery-status": return .deliveryStatus
            default: throw .notFound
            }
        }
        // The last segment, found by the byte: by Characters, a "/" after a prepended scalar
        // (U+0600, say) is part of that scalar's Character and would not separate segments.
        let bytes = request.documentURI.utf8
        let start = bytes.lastIndex(of: UInt8(ascii: "/")).map(bytes.index(after:)) ?? bytes.startIndex
        let segment = Substring(bytes[start...])
        switch segment {
        case "send": return .send
        case "verify": return .verify
        default: throw .notFound
        }
    }
}
