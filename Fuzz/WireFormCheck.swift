import OTPLogic

/// The bytes a worker writes for an answer (`HTTPResponse.cgiBytes()`) must read back as that
/// answer: a `Status:` line, one `Name: value` line per header and nothing else (no header value
/// may break a line: `X-Step-Up-User` repeats `REMOTE_USER`), a blank line, then the body with
/// its `Content-Length`.
enum WireFormCheck {
    static func check(_ response: HTTPResponse, context: String) throws(InvariantViolation) {
        let bytes = response.cgiBytes()
        let separator = Array("\r\n\r\n".utf8)
        guard let end = firstIndex(of: separator, in: bytes) else {
            throw InvariantViolation(description: "CGI answer has no blank line: \(context)")
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let body = Array(bytes[(end + separator.count)...])
        let lines = head.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { Array($0) }
        try require(lines.dropLast().allSatisfy { $0.last == UInt8(ascii: "\r") }, "a bare LF in the head: \(context)")
        let texts = lines.enumerated().map { String(decoding: $0 < lines.count - 1 ? $1.dropLast() : $1[...], as: UTF8.self) }
        try require(texts.allSatisfy { !$0.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) }, "a bare CR or NUL in the head: \(context)")
        try require(texts.first?.hasPrefix("Status: \(response.status) ") == true, "no Status line first: \(context)")

        var expected = response.headers.map { "\($0.name): \($0.value)" }
        if !response.body.isEmpty { expected.append("Content-Length: \(response.body.utf8.count)") }
        try require(Array(texts.dropFirst()) == expected, "CGI head \(texts) does not read back as the headers: \(context)")
        try require(body == Array(response.body.utf8), "CGI body differs: \(context)")
    }

    private static func firstIndex(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        return (0...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
