#if canImport(Glibc)
import Glibc
#endif
import OTPLogic

/// Up to `maximumRequests` requests on one connection (`FuzzedRequest` has the layout) through
/// `readBody` and a real `APIHandler` on SQLite. The database is emptied first, so a code or token
/// can only come from an earlier request of the same input.
///
/// Invariants, on top of `FuzzedRequest`'s for the body read: those of `ResponseCheck` for every
/// answer, and a verify succeeds only with a code the provider accepted earlier in the input.
enum RequestTarget {
    static let maximumRequests = 8
    /// `OTP_FUZZ_TRACE=1`: print each request and answer (replay; to see what an input does).
    static let trace = getenv("OTP_FUZZ_TRACE") != nil

    static func run(_ bytes: [UInt8]) throws(InvariantViolation) {
        let service = FuzzService.shared
        let handler = service.freshHandler()
        var ledger = SecretLedger()
        var reader = FieldReader(bytes)
        for _ in 0..<maximumRequests where !reader.atEnd {
            let fuzzed = try FuzzedRequest.read(from: &reader)
            service.saw(fuzzed.request.principal.userID)
            FuzzClockStep.apply(fuzzed.clockStep, to: service.clock)
            service.sender.failEverySend(with: fuzzed.smsOutcome.failure)
            service.sender.deliversImmediately = fuzzed.smsImmediate
            let response = handler.respond(to: fuzzed.request)
            if trace { emit("\n  \(fuzzed.request.role) \(fuzzed.request.method) \(fuzzed.request.documentURI) \(text(of: fuzzed.request.body)) → \(response.status) \(response.body)") }
            ledger.codes = service.sender.delivered.map(\.body)
            // The phone's log reference is hex that may hold digit runs by chance: not a secret.
            let logLines = service.log.entries.map { $0.text(excluding: ["phone"]) }
            try ResponseCheck(fuzzed: fuzzed, response: response).run(ledger: &ledger, logLines: logLines)
            service.log.reset()
        }
    }

    private static func text(of body: HTTPRequest.Body) -> String {
        guard case .complete(let bytes) = body else { return "\(body)" }
        return String(decoding: bytes, as: UTF8.self).debugDescription
    }
}

/// The secrets one input has produced so far, which no answer or log line may show.
struct SecretLedger {
    /// Codes the provider accepted.
    var codes: [String] = []
    /// Digits of every phone a request body carried.
    var phoneDigits: Set<String> = []
    /// Step-up tokens issued, with their user and action.
    var tokens: [String: (user: String, action: String?)] = [:]
    /// Tokens that let a request through.
    var admitted: Set<String> = []
}
