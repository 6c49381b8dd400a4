import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// One libcurl easy handle, reused for every request of one thread so connections are kept.
/// Not `Sendable`: the handle belongs to the thread that made it.
final class CurlEasyHandle {
    private let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?

    /// `curl_global_init` must run once before any handle exists, and not concurrently with one.
    private static let globalInit: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    static func initializeLibrary() {
        _ = globalInit
    }

    init() {
        CurlEasyHandle.initializeLibrary()
        guard let made = curl_easy_init() else { fatalError("curl_easy_init failed: out of memory") }
        handle = made
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
    }

    struct Response {
        var code: CURLcode
        var status: Int
        var body: [UInt8]
        /// Bytes of the HTTP request that went out; 0 means the server never saw it.
        var requestBytesSent: Int
    }

    /// What one transfer needs. Strings are copied by libcurl (`COPYPOSTFIELDS`, string options).
    struct Request {
        var url: String
        /// HTTP Basic credentials (user, password), or nil for a request signed otherwise.
        var basicAuth: (user: String, password: String)?
        var formBody: String
        var headers: [String]
        var allowedProtocols: String
        var connectTimeoutMilliseconds: Int
        var totalTimeoutMilliseconds: Int
        var maximumResponseBytes: Int = 64 * 1024
    }

    /// Runs one POST. The response body is cut at `maximumResponseBytes`.
    func post(_ request: Request) -> Response {
        curl_easy_reset(handle)
        var sink = ResponseSink(limit: request.maximumResponseBytes)
        set(CURLOPT_URL, request.url)
        set(CURLOPT_PROTOCOLS_STR, request.allowedProtocols)
        set(CURLOPT_REDIR_PROTOCOLS_STR, request.allowedProtocols)
        set(CURLOPT_FOLLOWLOCATION, 0)
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_SSL_VERIFYPEER, 1)
        set(CURLOPT_SSL_VERIFYHOST, 2)
        set(CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMilliseconds)
        set(CURLOPT_TIMEOUT_MS, request.totalTimeoutMilliseconds)
        if let basicAuth = request.basicAuth {
            set(CURLOPT_HTTPAUTH, otp_curlauth_basic)
            set(CURLOPT_USERNAME, basicAuth.user)
            set(CURLOPT_PASSWORD, basicAuth.password)
        }
        set(CURLOPT_POST, 1)
        set(CURLOPT_POSTFIELDSIZE, request.formBody.utf8.count)
        set(CURLOPT_COPYPOSTFIELDS, request.formBody)

        curl_slist_free_all(headerList)
        headerList = nil
        for header in request.headers {
            headerList = curl_slist_append(headerList, header)
        }
        _ = otp_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)

        let code = withUnsafeMutablePointer(to: &sink) { pointer -> CURLcode in
            _ = otp_curl_setopt_write_function(handle) { data, size, count, context in
                guard let data, let context else { return 0 }
                let sink = context.assumingMemoryBound(to: ResponseSink.self)
                let length = size * count
                sink.pointee.append(UnsafeRawBufferPointer(start: data, count: length))
                return length
            }
            _ = otp_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, pointer)
            return curl_easy_perform(handle)
        }
        // The sink is about to go away: never leave libcurl a pointer to it.
        _ = otp_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, nil)
        // The password option holds a copy of the secret; replace it now the transfer is over.
        if request.basicAuth != nil { set(CURLOPT_PASSWORD, "") }

        var status = 0
        var requestSize = 0
        _ = otp_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        _ = otp_curl_getinfo_long(handle, CURLINFO_REQUEST_SIZE, &requestSize)
        return Response(code: code, status: status, body: sink.bytes, requestBytesSent: requestSize)
    }

    /// libcurl's percent-encoding of one form value: everything but unreserved characters.
    func escape(_ text: String) -> String {
        guard let escaped = curl_easy_escape(handle, text, Int32(text.utf8.count)) else { return "" }
        defer { curl_free(escaped) }
        return String(cString: escaped)
    }

    private func set(_ option: CURLoption, _ value: Int) {
        _ = otp_curl_setopt_long(handle, option, value)
    }

    private func set(_ option: CURLoption, _ value: String) {
        _ = otp_curl_setopt_string(handle, option, value)
    }
}

private struct ResponseSink {
    let limit: Int
    var bytes: [UInt8] = []

    init(limit: Int) {
        self.limit = limit
    }

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        let room = max(0, limit - bytes.count)
        bytes.append(contentsOf: chunk.prefix(room))
    }
}
