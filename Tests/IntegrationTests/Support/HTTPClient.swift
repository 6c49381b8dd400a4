import CCurl
import Foundation

/// One HTTP answer as the tests look at it.
struct HTTPResult: Sendable {
    var status: Int
    /// Header names lowercased; repeated headers keep every value.
    var headers: [String: [String]]
    var body: String

    func header(_ name: String) -> String? { headers[name.lowercased()]?.first }

    /// The body parsed as a JSON object (empty when it is not one).
    var json: [String: String] {
        guard let data = body.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object.compactMapValues { $0 as? String }
    }
}

/// A small blocking HTTPS client over libcurl: one easy handle per request, so it is safe to use
/// from many threads at once. Trusts only the test stack's self-signed certificate.
struct HTTPClient: Sendable {
    let baseURL: String
    let caFile: String

    static let initialize: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    struct Credentials: Sendable {
        var user: String
        var password: String
        static let alice = Credentials(user: "alice", password: "alice-password")
        static let bob = Credentials(user: "bob", password: "bob-password")
        /// A service principal in OTP_DELEGATE_PRINCIPALS (the example sites' voice agent).
        static let voiceAgent = Credentials(user: "voice-agent", password: "voice-agent-password")
    }

    /// How a slow client sends its body: `bytes` at a time with a pause before each piece.
    struct Trickle: Sendable {
        var bytes: Int
        var pause: TimeInterval
    }

    func request(
        _ method: String, _ path: String, as credentials: Credentials? = nil,
        headers: [String] = [], body: String? = nil, trickle: Trickle? = nil, timeoutSeconds: Int = 30
    ) -> HTTPResult {
        _ = HTTPClient.initialize
        guard let handle = curl_easy_init() else { fatalError("curl_easy_init") }
        defer { curl_easy_cleanup(handle) }
        var collected = Collected()
        _ = otp_curl_setopt_string(handle, CURLOPT_URL, baseURL + path)
        _ = otp_curl_setopt_string(handle, CURLOPT_CAINFO, caFile)
        _ = otp_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)
        _ = otp_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = otp_curl_setopt_long(handle, CURLOPT_TIMEOUT, timeoutSeconds)
        if method == "HEAD" { _ = otp_curl_setopt_long(handle, CURLOPT_NOBODY, 1) }
        if let credentials {
            _ = otp_curl_setopt_long(handle, CURLOPT_HTTPAUTH, otp_curlauth_basic)
            _ = otp_curl_setopt_string(handle, CURLOPT_USERNAME, credentials.user)
            _ = otp_curl_setopt_string(handle, CURLOPT_PASSWORD, credentials.password)
        }
        if let body {
            _ = otp_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.utf8.count)
            if let trickle {
                collected.upload = Upload(bytes: Array(body.utf8), piece: trickle.bytes, pauseMicroseconds: useconds_t(trickle.pause * 1_000_000))
                _ = otp_curl_setopt_long(handle, CURLOPT_POST, 1)
            } else {
                _ = otp_curl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, body)
            }
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers + ["Expect:"] { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }
        _ = otp_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list)

        // curl's own words on a transport failure (which TLS or socket step broke), for the result's body.
        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorText.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorText.deallocate() }
        let code = withUnsafeMutablePointer(to: &collected) { pointer -> CURLcode in
            _ = otp_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorText)
            _ = otp_curl_setopt_write_function(handle) { data, size, count, context in
                let sink = context!.assumingMemoryBound(to: Collected.self)
                sink.pointee.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size * count))
                return size * count
            }
            _ = otp_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, pointer)
            _ = otp_curl_setopt_header_function(handle) { data, size, count, context in
                let sink = context!.assumingMemoryBound(to: Collected.self)
                sink.pointee.headerLines.append(String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self))
                return size * count
            }
            _ = otp_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, pointer)
            if pointer.pointee.upload != nil {
                _ = otp_curl_setopt_read_function(handle) { buffer, size, count, context in
                    let sink = context!.assumingMemoryBound(to: Collected.self)
                    guard var upload = sink.pointee.upload, let buffer else { return 0 }
                    usleep(upload.pauseMicroseconds)
                    let length = min(upload.piece, size * count, upload.bytes.count - upload.sent)
                    upload.bytes.withUnsafeBytes { bytes in
                        UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + upload.sent, byteCount: length)
                    }
                    upload.sent += length
                    sink.pointee.upload = upload
                    return length
                }
                _ = otp_curl_setopt_pointer(handle, CURLOPT_READDATA, pointer)
            }
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK else {
            let detail = String(cString: errorText)
            return HTTPResult(status: -Int(code.rawValue), headers: [:], body: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        _ = otp_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var headerMap: [String: [String]] = [:]
        for line in collected.headerLines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            headerMap[name, default: []].append(value)
        }
        return HTTPResult(status: status, headers: headerMap, body: String(decoding: collected.body, as: UTF8.self))
    }

    func postJSON(_ path: String, _ json: String, as credentials: Credentials? = nil, headers: [String] = []) -> HTTPResult {
        request("POST", path, as: credentials, headers: ["Content-Type: application/json"] + headers, body: json)
    }
}

private struct Collected {
    var body: [UInt8] = []
    var headerLines: [String] = []
    var upload: Upload?
}

private struct Upload {
    var bytes: [UInt8]
    var piece: Int
    var pauseMicroseconds: useconds_t
    var sent = 0
}

/// Runs `count` blocking closures on `count` threads at once and returns their results in order.
func inParallel<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let results = ResultsBox<T>(count: count)
    let group = DispatchGroup()
    let start = DispatchSemaphore(value: 0)
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            start.wait()
            results.set(index, body(index))
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    for _ in 0..<count { start.signal() }
    group.wait()
    return results.values()
}

private final class ResultsBox<T: Sendable>: @unchecked Sendable {
    private var storage: [T?]
    private let lock = NSLock()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: T) { lock.lock(); storage[index] = value; lock.unlock() }
    func values() -> [T] { lock.lock(); defer { lock.unlock() }; return storage.map { $0! } }
}
