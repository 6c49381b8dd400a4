extension HTTPRequest {
    /// Builds a request from CGI/FastCGI parameters: the one mapping from parameter names to the
    /// request value, shared by the FastCGI workers and plain CGI.
    public init(role: Role = .responder, principal: Principal, body: Body, parameter: (String) -> String?) {
        self.init(
            role: role,
            method: parameter("REQUEST_METHOD") ?? "",
            documentURI: parameter("DOCUMENT_URI") ?? parameter("SCRIPT_NAME").map { $0 + (parameter("PATH_INFO") ?? "") } ?? "",
            endpoint: parameter("OTP_ENDPOINT"),
            contentType: parameter("CONTENT_TYPE"),
            body: body,
            principal: principal,
            // nginx passes a parameter set from a missing header as an empty value: absent.
            stepUpToken: parameter("HTTP_X_STEP_UP_TOKEN").flatMap { $0.isEmpty ? nil : $0 },
            stepUpAction: parameter("OTP_STEP_UP_ACTION").flatMap { $0.isEmpty ? nil : $0 },
            stepUpSubject: parameter("HTTP_X_STEP_UP_SUBJECT").flatMap { $0.isEmpty ? nil : $0 },
            remoteAddress: parameter("REMOTE_ADDR"),
            twilioSignature: parameter("HTTP_X_TWILIO_SIGNATURE").flatMap { $0.isEmpty ? nil : $0 },
            requestURI: parameter("REQUEST_URI")
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
