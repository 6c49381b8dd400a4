import Foundation
import Testing

/// The API calls every integration stack (nginx, Apache, lighttpd) makes, keeping track of the
/// secrets they see so the stack can check its logs for them at the end.
protocol OTPSession: AnyObject {
    var client: HTTPClient { get }
    /// Health and metrics: plain HTTP on the web server's own loopback port (never a public path).
    var statusClient: HTTPClient { get }
    /// Where otp-fcgi's file SMS provider writes.
    var sms: SMSSink { get }
    var secrets: SecretLedger { get }
    /// otp-fcgi's SQLite file.
    var databasePath: String { get }
    /// The code of the last SMS delivered to `phone` for `purpose`.
    func lastCode(to phone: String, purpose: String) -> String?
    /// A query on otp-fcgi's database (the SQLite file unless the stack says otherwise); rows as `a|b` lines.
    func query(_ sql: String) throws -> String
    /// SQL run on otp-fcgi's database.
    func execute(_ sql: String) throws
}

extension OTPSession {
    /// Adds a value that must never appear in a log.
    func record(secret: String) { secrets.insert(secret) }

    func recordPhone(_ phone: String) {
        record(secret: phone)
        record(secret: String(phone.dropFirst()))
    }

    func lastCode(to phone: String, purpose: String) -> String? {
        sms.lastCode(to: phone, purpose: purpose)
    }

    func query(_ sql: String) throws -> String { try sqlite(databasePath, sql) }

    func execute(_ sql: String) throws { try sqliteExec(databasePath, sql) }

    func send(
        _ phone: String?, _ purpose: String, as user: HTTPClient.Credentials? = .alice, action: String? = nil, subject: String? = nil,
        headers: [String] = []
    ) -> HTTPResult {
        if let phone { recordPhone(phone) }
        return client.postJSON("/api/otp/send", OTPSessionJSON.body(phone: phone, purpose: purpose, action: action, subject: subject), as: user, headers: headers)
    }

    func verify(
        _ phone: String?, _ purpose: String, code: String, as user: HTTPClient.Credentials? = .alice, action: String? = nil,
        subject: String? = nil, headers: [String] = []
    ) -> HTTPResult {
        if let phone { recordPhone(phone) }
        let body = OTPSessionJSON.body(phone: phone, purpose: purpose, code: code, action: action, subject: subject)
        let result = client.postJSON("/api/otp/verify", body, as: user, headers: headers)
        if let token = result.json["step_up_token"] { record(secret: token) }
        return result
    }

    /// Makes `phone` the user's verified phone: through verify_phone when the account has none
    /// yet; by a write to the database when it has another (test setup: changing the phone on
    /// record through the API needs a change-phone step-up, which has tests of its own).
    func ensureVerifiedPhone(_ phone: String, of user: HTTPClient.Credentials) throws {
        let current = try query("SELECT phone_e164 FROM users WHERE user_id = '\(user.user)' AND phone_verified = 1")
        if current == phone { return }
        if current.isEmpty {
            let sent = send(phone, "verify_phone", as: user)
            guard sent.status == 200, let code = lastCode(to: phone, purpose: "verify_phone") else {
                throw StackError("verify_phone send answered \(sent.status): \(sent.body)")
            }
            let verified = verify(phone, "verify_phone", code: code, as: user)
            guard verified.status == 200 else { throw StackError("verify_phone answered \(verified.status): \(verified.body)") }
            return
        }
        try execute("UPDATE users SET phone_e164 = '\(phone)' WHERE user_id = '\(user.user)'")
    }

    /// Makes `phone` the user's phone on record, sends a step_up code for `action` (the example
    /// site's protected action by default), reads it from the sink, verifies it: the step-up token.
    func stepUpToken(phone: String, as user: HTTPClient.Credentials = .alice, action: String? = OTPSessionJSON.protectedAction) throws -> String {
        try ensureVerifiedPhone(phone, of: user)
        let sent = send(phone, "step_up", as: user, action: action)
        guard sent.status == 200 else { throw StackError("send answered \(sent.status): \(sent.body)") }
        guard let code = lastCode(to: phone, purpose: "step_up") else { throw StackError("no SMS for \(phone)") }
        let verified = verify(phone, "step_up", code: code, as: user, action: action)
        guard verified.status == 200, let token = verified.json["step_up_token"] else {
            throw StackError("verify answered \(verified.status): \(verified.body)")
        }
        return token
    }

    /// POST to the example site's protected action, which needs a step-up for the action
    /// `cancel-appointment` (with an empty body by default: lighttpd answers 411 to a POST without
    /// Content-Length).
    func protectedAction(
        token: String?, as user: HTTPClient.Credentials? = .alice, path: String = "/account/cancel-appointment", headers: [String] = [],
        body: String = ""
    ) -> HTTPResult {
        client.request("POST", path, as: user, headers: headers + (token.map { ["X-Step-Up-Token: \($0)"] } ?? []), body: body)
    }

    /// Health (and metrics, where the server has them) answer on the loopback status port only: the
    /// public site answers 404 for their old paths even to a logged-in client from 127.0.0.1, and
    /// the status port serves nothing else.
    func expectStatusOnItsOwnPortOnly(metrics: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) {
        let health = statusClient.request("GET", "/health")
        #expect(health.status == 200, sourceLocation: sourceLocation)
        #expect(health.body == #"{"status": "ok"}"#, sourceLocation: sourceLocation)
        #expect(health.header("Cache-Control") == "no-store", sourceLocation: sourceLocation)
        if metrics {
            let scrape = statusClient.request("GET", "/metrics")
            #expect(scrape.status == 200, sourceLocation: sourceLocation)
            #expect(scrape.body.contains("# TYPE otp_requests_in_flight gauge"), sourceLocation: sourceLocation)
        }
        for path in ["/api/otp/health", "/api/otp/metrics"] {
            let answer = client.request("GET", path, as: .alice)
            #expect(answer.status == 404, "\(path) on the public site: \(answer.status) \(answer.body)", sourceLocation: sourceLocation)
            #expect(!answer.body.contains("otp_"), sourceLocation: sourceLocation)
        }
        for path in ["/", "/api/otp/send", "/health/x", "/metricsx"] {
            let other = statusClient.request("GET", path)
            #expect([403, 404].contains(other.status), "\(path) on the status port: \(other.status)", sourceLocation: sourceLocation)
        }
    }

    /// Checks that `logs` contains none of the recorded secrets, nor any code the sink delivered.
    func expectNoSecrets(in logs: String, sourceLocation: SourceLocation) {
        for message in sms.messages() {
            if let code = message.code { record(secret: code) }
        }
        for secret in secrets.all where !secret.isEmpty {
            #expect(!TestStack.containsStandalone(secret, in: logs), "a secret reached the logs", sourceLocation: sourceLocation)
        }
    }
}

/// The values a test saw that must never reach a log, shared by the test's threads.
final class SecretLedger: @unchecked Sendable {
    private let lock = NSLock()
    private var values: Set<String> = []

    func insert(_ value: String) {
        lock.lock()
        values.insert(value)
        lock.unlock()
    }

    var all: Set<String> {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}

/// The request bodies of send and verify the sessions post.
enum OTPSessionJSON {
    /// The action of the example sites' protected location `/account/cancel-appointment`.
    static let protectedAction = "cancel-appointment"

    static func body(phone: String?, purpose: String, code: String? = nil, action: String? = nil, subject: String? = nil) -> String {
        var members: [String] = []
        if let phone { members.append(#""phone_e164": "\#(phone)""#) }
        members.append(#""purpose": "\#(purpose)""#)
        if let code { members.append(#""code": "\#(code)""#) }
        if let action { members.append(#""action": "\#(action)""#) }
        if let subject { members.append(#""subject": "\#(subject)""#) }
        return "{" + members.joined(separator: ", ") + "}"
    }
}
