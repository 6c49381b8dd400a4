import OTPLogic

/// One request decoded from fuzz input the way `FastCGIWorker` decodes a FastCGI request: the
/// parameters, then `HTTPRequest.readBody` over the stream, then the shared CGI mapping.
///
/// Layout: two selector bytes (bit 0: Authorizer role; bits 1–2: how many `REMOTE_USER` values,
/// 0–3; bits 3–5: the clock move before the request, `FuzzClock.steps`; bits 6–7: the SMS
/// provider's answer, `FuzzSMSOutcome`; bit 8: a sender that delivers immediately, like
/// the file sink; bits 9–15 unused), then the fields `REQUEST_METHOD`, `DOCUMENT_URI`,
/// `OTP_ENDPOINT`, `CONTENT_TYPE`, `CONTENT_LENGTH`, the `REMOTE_USER` values and
/// `HTTP_X_STEP_UP_TOKEN` (see `FieldReader`), then the body stream. `readBody` takes what it
/// takes; the rest is the next request on the same connection.
struct FuzzedRequest {
    static let parameterNames = ["REQUEST_METHOD", "DOCUMENT_URI", "OTP_ENDPOINT", "CONTENT_TYPE", "CONTENT_LENGTH"]
    /// The most bytes one read hands `readBody`, as a socket would: bodies arrive in pieces.
    static let readChunk = 700

    var request: HTTPRequest
    var clockStep: Int
    var smsOutcome: FuzzSMSOutcome
    var smsImmediate: Bool
    /// Every parameter value the web server sent, `REMOTE_USER`s included: what an answer may echo.
    var parameterValues: [String]

    static func read(from reader: inout FieldReader) throws(InvariantViolation) -> FuzzedRequest {
        let low = Int(reader.selector())
        let selector = low | Int(reader.selector()) << 8
        var parameters: [String: String] = [:]
        for name in parameterNames { parameters[name] = reader.field() }
        let remoteUsers = (0..<(selector >> 1 & 3)).compactMap { _ in reader.field() }
        parameters["HTTP_X_STEP_UP_TOKEN"] = reader.field()
        parameters["REMOTE_ADDR"] = "127.0.0.1"

        let stream = reader.remaining
        var consumed = 0
        var emptyRead = false
        let body = HTTPRequest.readBody(contentLength: parameters["CONTENT_LENGTH"]) { buffer in
            emptyRead = emptyRead || buffer.isEmpty
            let count = min(buffer.count, stream.count - consumed, readChunk)
            guard count > 0 else { return 0 }
            let start = stream.startIndex + consumed
            stream[start..<start + count].withUnsafeBytes { buffer.copyMemory(from: $0) }
            consumed += count
            return count
        }
        try require(!emptyRead, "readBody asked for 0 bytes, which a reader answers like end of input")
        try checkBody(body, consumed: consumed, contentLength: parameters["CONTENT_LENGTH"], stream: stream)
        reader.skip(consumed)

        let request = HTTPRequest(
            role: selector & 1 == 1 ? .authorizer : .responder, principal: Principal(remoteUserValues: remoteUsers), body: body,
            parameter: { parameters[$0.name] }
        )
        return FuzzedRequest(
            request: request, clockStep: selector >> 3 & 7, smsOutcome: FuzzSMSOutcome(rawValue: selector >> 6 & 3)!,
            smsImmediate: selector >> 8 & 1 == 1,
            parameterValues: Array(parameters.values) + remoteUsers
        )
    }

    /// `readBody` takes exactly `CONTENT_LENGTH` bytes when they are there (drained, not kept,
    /// past the limit), all there is when they are not, nothing for a value that is not a length.
    private static func checkBody(
        _ body: HTTPRequest.Body, consumed: Int, contentLength: String?, stream: ArraySlice<UInt8>
    ) throws(InvariantViolation) {
        let expected: (HTTPRequest.Body, Int)
        if let contentLength, !contentLength.isEmpty {
            if let length = Int(contentLength), length >= 0 {
                let available = min(length, stream.count)
                if length > HTTPRequest.maximumBodyBytes {
                    expected = (.tooLarge, available)
                } else {
                    expected = (available == length ? .complete(Array(stream.prefix(length))) : .incomplete, available)
                }
            } else {
                expected = (.incomplete, 0)
            }
        } else {
            expected = (.complete([]), 0)
        }
        try require(body == expected.0 && consumed == expected.1,
                    "CONTENT_LENGTH \(String(describing: contentLength)) with \(stream.count) bytes: read \(consumed) into \(body)")
    }
}
