import Foundation
import Testing

/// The API calls every integration stack (nginx, Apache, lighttpd) makes, keeping track of the
/// secrets they see so the stack can check its logs for them at the end.
protocol OTPSession: AnyObject {
    var client: HTTPClient { get }
    /// Where otp-fcgi's file SMS provider writes.
    var sms: SMSSink { get }
    var secrets: SecretLedger { get }
    /// The code of the last SMS delivered to `phone` for `purpose`.
    func lastCode(to phone: String, purpose: String) -> String?
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

    func send(_ phone: String, _ purpose: String, as user: HTTPClient.Credentials? = .alice, headers: [String] = []) -> HTTPResult {
        recordPhone(phone)
        return client.postJSON("/api/otp/send", #"{"phone_e164": "\#(phone)", "purpose": "\#(purpose)"}"#, as: user, headers: headers)
    }

    func verify(_ phone: String, _ purpose: String, code: String, as user: HTTPClient.Credentials? = .alice) -> HTTPResult {
        recordPhone(phone)
        let result = client.postJSON("/api/otp/verify", #"{"phone_e164": "\#(phone)", "purpose": "\#(purpose)", "code": "\#(code)"}"#, as: user)
        if let token = result.json["step_up_token"] { record(secret: token) }
        return result
    }

    /// Sends a step_up code, reads it from the sink, verifies it: the step-up token.
    func stepUpToken(phone: String, as user: HTTPClient.Credentials = .alice) throws -> String {
        let sent = send(phone, "step_up", as: user)
        guard sent.status == 200 else { throw StackError("send answered \(sent.status): \(sent.body)") }
        guard let code = lastCode(to: phone, purpose: "step_up") else { throw StackError("no SMS for \(phone)") }
        let verified = verify(phone, "step_up", code: code, as: user)
        guard verified.status == 200, let token = verified.json["step_up_token"] else {
            throw StackError("verify answered \(verified.status): \(verified.body)")
        }
        return token
    }

    /// POST to the example site's protected action (with an empty body by default: lighttpd
    /// answers 411 to a POST without Content-Length).
    func protectedAction(token: String?, as user: HTTPClient.Credentials? = .alice, headers: [String] = [], body: String = "") -> HTTPResult {
        client.request("POST", "/account/cancel-appointment", as: user, headers: headers + (token.map { ["X-Step-Up-Token: \($0)"] } ?? []), body: body)
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
