/// The CGI/FastCGI parameters a request is built from (`REMOTE_USER` and `CONTENT_LENGTH` are
/// read by the front ends themselves: the principal needs every value, the body its length first).
public enum CGIParameter: Int, CaseIterable, Sendable {
    case requestMethod, documentURI, scriptName, pathInfo, endpoint, contentType
    case stepUpToken, stepUpAction, stepUpSubject, remoteAddress, twilioSignature, requestURI

    public var name: String { staticName.description }

    /// The name as a literal, for front ends that match it byte for byte.
    public var staticName: StaticString {
        switch self {
        case .requestMethod: "REQUEST_METHOD"
        case .documentURI: "DOCUMENT_URI"
        case .scriptName: "SCRIPT_NAME"
        case .pathInfo: "PATH_INFO"
        case .endpoint: "OTP_ENDPOINT"
        case .contentType: "CONTENT_TYPE"
        case .stepUpToken: "HTTP_X_STEP_UP_TOKEN"
        case .stepUpAction: "OTP_STEP_UP_ACTION"
        case .stepUpSubject: "HTTP_X_STEP_UP_SUBJECT"
        case .remoteAddress: "REMOTE_ADDR"
        case .twilioSignature: "HTTP_X_TWILIO_SIGNATURE"
        case .requestURI: "REQUEST_URI"
        }
    }
}

extension HTTPRequest {
    /// Builds a request from CGI/FastCGI parameters: the one mapping from parameter names to the
    /// request value, shared by the FastCGI workers and plain CGI.
    public init(role: Role = .responder, principal: Principal, body: Body, parameter: (CGIParameter) -> String?) {
        self.init(
            role: role,
            method: parameter(.requestMethod) ?? "",
            documentURI: parameter(.documentURI) ?? parameter(.scriptName).map { $0 + (parameter(.pathInfo) ?? "") } ?? "",
            endpoint: parameter(.endpoint),
            contentType: parameter(.contentType),
            body: body,
            principal: principal,
            // nginx passes a parameter set from a missing header as an empty value: absent.
            stepUpToken: parameter(.stepUpToken).flatMap { $0.isEmpty ? nil : $0 },
            stepUpAction: parameter(.stepUpAction).flatMap { $0.isEmpty ? nil : $0 },
            stepUpSubject: parameter(.stepUpSubject).flatMap { $0.isEmpty ? nil : $0 },
            remoteAddress: parameter(.remoteAddress),
            twilioSignature: parameter(.twilioSignature).flatMap { $0.isEmpty ? nil : $0 },
            requestURI: parameter(.requestURI)
        )
    }

    /// Reads a body of `CONTENT_LENGTH` bytes through `read`, which fills the buffer it is given
    /// and returns the bytes it read (0 at end of input). Reads exactly that many bytes: leftovers
    /// would poison a kept FastCGI connection. A refused body is drained, not kept.
    public static func readBody(contentLength: String?, read: (UnsafeMutableRawBufferPointer) -> Int) -> Body {
        guard let contentLength, !contentLength.isEmpty else { return .complete([]) }
        guard let length = Int(contentLength), length >= 0 else { return .incomplete }
        if length > maximumBodyBytes {
            var scratch = [UInt8](repeating: 0, count: 4096)
            var left = length
            while left > 0 {
                let got = scratch.withUnsafeMutableBytes { read(UnsafeMutableRawBufferPointer(rebasing: $0.prefix(min(left, 4096)))) }
                guard got > 0 else { break }
                left -= got
            }
            return .tooLarge
        }
        var bytes = [UInt8](repeating: 0, count: length)
        var total = 0
        while total < length {
            let got = bytes.withUnsafeMutableBytes { read(UnsafeMutableRawBufferPointer(rebasing: $0[total...])) }
            guard got > 0 else { break }
            total += got
        }
        return total == length ? .complete(bytes) : .incomplete
    }
}
