import Crypto
import OTPLogic

/// AWS Signature Version 4 (the "Signature Version 4 signing process" of AWS's General
/// Reference): canonical request, string to sign, signing key, `Authorization` header. Tested
/// against AWS's published test suite (Tests/Fixtures/aws-sigv4-test-suite.txt).
struct SigV4Signer {
    let accessKeyID: String
    let secretAccessKey: String
    let region: String
    let service: String

    /// The parts of a request the signature covers. Header names in any case; values as sent.
    struct Request {
        var method: String
        var path: String = "/"
        /// Decoded name/value pairs of the query string.
        var query: [(String, String)] = []
        var headers: [(String, String)]
        var body: [UInt8] = []
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` of a Unix time (UTC).
    static func amzDate(_ time: UnixTime) -> String {
        let utc = UTCDateTime(secondsSinceEpoch: time)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(utc.year)\(two(utc.month))\(two(utc.day))T\(two(utc.hour))\(two(utc.minute))\(two(utc.second))Z"
    }

    /// RFC 3986 percent-encoding as SigV4 wants it: everything but `A–Z a–z 0–9 - _ . ~`.
    static func uriEncode(_ text: String) -> String { FormBody.percentEncoded(text) }

    /// Header names lower-cased and sorted, values trimmed with inner runs of spaces collapsed.
    private static func canonicalHeaders(_ headers: [(String, String)]) -> [(String, String)] {
        headers.map { name, value in
            (name.lowercased(), value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " "))
        }.sorted { $0.0 < $1.0 }
    }

    func signedHeaders(_ request: Request) -> String {
        SigV4Signer.canonicalHeaders(request.headers).map(\.0).joined(separator: ";")
    }

    func canonicalRequest(_ request: Request) -> String {
        let encoded: [(name: String, value: String)] = request.query.map { (SigV4Signer.uriEncode($0.0), SigV4Signer.uriEncode($0.1)) }
        let sorted = encoded.sorted { left, right in left.name == right.name ? left.value < right.value : left.name < right.name }
        let query = sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        let headers = SigV4Signer.canonicalHeaders(request.headers).map { "\($0.0):\($0.1)\n" }.joined()
        return [request.method, request.path, query, headers, signedHeaders(request), Hex.encode(SHA256.hash(data: request.body))]
            .joined(separator: "\n")
    }

    func scope(date: String) -> String { "\(date.prefix(8))/\(region)/\(service)/aws4_request" }

    func stringToSign(canonicalRequest: String, amzDate: String) -> String {
        ["AWS4-HMAC-SHA256", amzDate, scope(date: amzDate), Hex.encode(SHA256.hash(data: Array(canonicalRequest.utf8)))].joined(separator: "\n")
    }

    /// HMAC chain: "AWS4" + secret → date → region → service → "aws4_request".
    func signingKey(date: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secretAccessKey).utf8))
        for part in [String(date.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    func signature(stringToSign: String, amzDate: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(date: amzDate)))
    }

    /// The `Authorization` header's value for `request`, whose headers include `X-Amz-Date: amzDate`.
    func authorization(_ request: Request, amzDate: String) -> String {
        let toSign = stringToSign(canonicalRequest: canonicalRequest(request), amzDate: amzDate)
        return "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope(date: amzDate)), SignedHeaders=\(signedHeaders(request)), "
            + "Signature=\(signature(stringToSign: toSign, amzDate: amzDate))"
    }
}
