#if canImport(Glibc)
import Glibc
#endif

/// The fuzz targets. Each takes arbitrary bytes and throws when one of its invariants breaks; a
/// trap (an out-of-bounds index, an overflow) is a crash the fuzzer reports by itself.
enum FuzzTarget: String, CaseIterable {
    /// Request body bytes through the strict JSON parser and the send and verify bodies.
    case body
    /// FastCGI parameters and a body stream through `readBody` and a real `APIHandler`.
    case request
    /// `DOCUMENT_URI`, `OTP_ENDPOINT` and the role through `Route.resolve`.
    case routing
    /// Delivery status callback bodies through the strict form reader.
    case form

    func run(_ bytes: [UInt8]) throws(InvariantViolation) {
        switch self {
        case .body: try BodyTarget.run(bytes)
        case .request: try RequestTarget.run(bytes)
        case .routing: try RoutingTarget.run(bytes)
        case .form: try FormTarget.run(bytes)
        }
    }

    /// The target named by `OTP_FUZZ_TARGET`, or nil when it is unset or unknown.
    static var fromEnvironment: FuzzTarget? {
        guard let name = getenv("OTP_FUZZ_TARGET") else { return nil }
        return FuzzTarget(rawValue: String(cString: name))
    }

    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
