import OTPLogic

/// `Route.resolve` over any role, `DOCUMENT_URI` (or `SCRIPT_NAME` + `PATH_INFO`) and
/// `OTP_ENDPOINT`, the request built by the same CGI mapping the workers use.
///
/// Input: one selector byte (bit 0: Authorizer role), then the fields `DOCUMENT_URI`,
/// `OTP_ENDPOINT`, `SCRIPT_NAME`, `PATH_INFO` (see `FieldReader`).
///
/// Invariants: the Authorizer role always gets the step-up check; a non-empty `OTP_ENDPOINT`
/// reaches exactly the internal endpoint it names and never the public API; without it, `send` and
/// `verify` are reached exactly when they are the last `/`-separated segment of the URI, compared
/// byte for byte, and no path reaches an internal endpoint.
enum RoutingTarget {
    static func run(_ bytes: [UInt8]) throws(InvariantViolation) {
        var reader = FieldReader(bytes)
        let role: HTTPRequest.Role = reader.selector() & 1 == 1 ? .authorizer : .responder
        var parameters: [String: String] = [:]
        for name in ["DOCUMENT_URI", "OTP_ENDPOINT", "SCRIPT_NAME", "PATH_INFO"] {
            parameters[name] = reader.field()
        }
        let request = HTTPRequest(role: role, principal: .anonymous, body: .complete([]), parameter: { parameters[$0.name] })

        let uri = parameters["DOCUMENT_URI"] ?? parameters["SCRIPT_NAME"].map { $0 + (parameters["PATH_INFO"] ?? "") } ?? ""
        try require(request.documentURI.utf8.elementsEqual(uri.utf8), "documentURI \(request.documentURI.debugDescription), expected \(uri.debugDescription)")

        let route: Route?
        do { route = try Route.resolve(request) } catch { route = nil }
        try require(route == expectedRoute(role: role, endpoint: parameters["OTP_ENDPOINT"], uri: uri),
                    "\(role) uri=\(uri.debugDescription) endpoint=\(String(describing: parameters["OTP_ENDPOINT"])) routed to \(String(describing: route))")
    }

    /// The routing rule restated over bytes.
    private static func expectedRoute(role: HTTPRequest.Role, endpoint: String?, uri: String) -> Route? {
        if role == .authorizer { return .authorizer }
        if let endpoint = endpoint.map({ Array($0.utf8) }), !endpoint.isEmpty {
            switch endpoint {
            case Array("step-up-check".utf8): return .stepUpCheck
            case Array("health".utf8): return .health
            case Array("metrics".utf8): return .metrics
            case Array("delivery-status".utf8): return .deliveryStatus
            default: return nil
            }
        }
        let bytes = Array(uri.utf8)
        let lastSegment = bytes.lastIndex(of: UInt8(ascii: "/")).map { Array(bytes[($0 + 1)...]) } ?? bytes
        switch lastSegment {
        case Array("send".utf8): return .send
        case Array("verify".utf8): return .verify
        default: return nil
        }
    }
}
