/// One answer: status, headers and a JSON body. Every answer carries `Cache-Control: no-store`.
public struct HTTPResponse: Sendable, Equatable {
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var status: Int
    public var headers: [Header]
    public var body: String

    public init(status: Int, headers: [Header] = [], body: String = "") {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer with the headers every answer of the API carries.
    public static func json(_ status: Int, _ body: String, headers: [Header] = []) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: [Header("Content-Type", "application/json"), Header("Cache-Control", "no-store")] + headers,
            body: body
        )
    }

    /// `{"detail": "<message>"}`.
    public static func detail(_ status: Int, _ message: String, headers: [Header] = []) -> HTTPResponse {
        json(status, "{\"detail\": \(JSONText.quoted(message))}", headers: headers)
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The CGI/FastCGI form: a `Status:` line, the headers, a blank line, the body.
    public func cgiBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160 + body.utf8.count)
        writeCGI { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The same, piece by piece into `write` (the FastCGI worker's output stream copies each
    /// into its buffer: no array of the whole answer on every request).
    public func writeCGI(_ write: (UnsafeBufferPointer<UInt8>) -> Void) {
        func put(_ text: StaticString) { write(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)) }
        func put(_ text: String) {
            var text = text
            text.withUTF8(write)
        }
        put("Status: ")
        put(String(status))
        put(" ")
        put(HTTPResponse.reasonPhrase(status))
        put("\r\n")
        for header in headers {
            put(header.name)
            put(": ")
            put(header.value)
            put("\r\n")
        }
        if !body.isEmpty {
            put("Content-Length: ")
            put(String(body.utf8.count))
            put("\r\n")
        }
        put("\r\n")
        put(body)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
