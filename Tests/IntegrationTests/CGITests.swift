import Foundation
import Testing

extension Integration {
    /// otp-fcgi started as a CGI program: no FastCGI socket on fd 0, the request in the
    /// environment and stdin, the answer on stdout, then exit. First the way any CGI server runs
    /// it, then through the real lighttpd mod_cgi with the shipped wrapper and configuration.
    @Suite struct CGI {
        @Test func sendVerifyAndStepUpCheckAsACGIProgram() throws {
            let run = try CGIRunner()
            defer { run.removeState() }
            let phone = "+14155550221"
            run.recordPhone(phone)

            // alice's phone on record, through verify_phone.
            #expect(try run.request("POST", "/send", user: "alice", json: #"{"phone_e164": "\#(phone)", "purpose": "verify_phone"}"#).status == 200)
            let phoneCode = try #require(run.lastCode(to: phone))
            #expect(try run.request("POST", "/verify", user: "alice", json: #"{"phone_e164": "\#(phone)", "purpose": "verify_phone", "code": "\#(phoneCode)"}"#).status == 200)

            let sent = try run.request("POST", "/send", user: "alice", json: #"{"phone_e164": "\#(phone)", "purpose": "step_up"}"#)
            #expect(sent.exitStatus == 0)
            #expect(sent.status == 200)
            #expect(sent.body == #"{"status": "sent", "phone_hint": "…0221"}"#)
            #expect(sent.headers["Content-Type"] == "application/json")
            #expect(sent.headers["Cache-Control"] == "no-store")
            let code = try #require(run.lastCode(to: phone))

            let wrong = try run.request("POST", "/verify", user: "alice", json: #"{"phone_e164": "\#(phone)", "purpose": "step_up", "code": "\#(code == "000000" ? "111111" : "000000")"}"#)
            #expect(wrong.status == 400)
            let verified = try run.request("POST", "/verify", user: "alice", json: #"{"phone_e164": "\#(phone)", "purpose": "step_up", "code": "\#(code)"}"#)
            #expect(verified.status == 200)
            let token = try #require(verified.json["step_up_token"])
            run.record(secret: token)

            let asBob = try run.stepUpCheck(token: token, user: "bob")
            #expect(asBob.status == 401)
            let admitted = try run.stepUpCheck(token: token, user: "alice")
            #expect(admitted.status == 204)
            #expect(admitted.headers["X-Step-Up-User"] == "alice")
            #expect(try run.stepUpCheck(token: token, user: "alice").status == 401)
            #expect(try run.stepUpCheck(token: token, user: nil).status == 401)

            let health = try run.request("GET", "", endpoint: "health")
            #expect(health.status == 200)
            #expect(health.body == #"{"status": "ok"}"#)
            #expect(try run.request("POST", "/step-up-check", user: "alice", json: "{}").status == 404)
            let anonymous = try run.request("POST", "/send", json: #"{"phone_e164": "\#(phone)", "purpose": "step_up"}"#)
            #expect(anonymous.status == 401)
            let short = try run.request("POST", "/send", user: "alice", json: #"{"phone_e164": "\#(phone)"}"#, contentLength: 200)
            #expect(short.status == 400)
            run.checkLogs()
        }

        @Test func badConfigurationAnswers500AndExits78() throws {
            let run = try CGIRunner()
            defer { run.removeState() }
            var environment = run.configuration
            environment["OTP_PEPPER"] = "too-short"
            let answer = try run.request("POST", "/send", user: "alice", json: "{}", configuration: environment)
            #expect(answer.exitStatus == 78)
            #expect(answer.status == 500)
            #expect(answer.body == #"{"detail": "Internal error"}"#)
            #expect(answer.stderr.contains("OTP_PEPPER"))
            #expect(!answer.stderr.contains("too-short"))
        }

        @Test func throughLighttpdModCGI() throws {
            let stack = try WebServerStack(.lighttpdCGI)
            defer { stack.finish() }
            // A token for no action: the CGI-style check below stands for a location that names none.
            let token = try stack.stepUpToken(phone: "+14155550222", action: nil)
            #expect(token.count == 43)
            #expect(stack.send("+14155550223", "step_up", as: nil).status == 401)
            stack.expectStatusOnItsOwnPortOnly(metrics: false)
            #expect(stack.client.request("POST", "/api/otp/nothing", as: .alice, body: "").status == 404)

            // The token lives in the same database: the check (CGI-style, as a web server would
            // run it) admits it once, for alice only.
            let run = try CGIRunner(configuration: stack.configuration)
            #expect(try run.stepUpCheck(token: token, user: "bob").status == 401)
            #expect(try run.stepUpCheck(token: token, user: "alice").status == 204)
            #expect(try run.stepUpCheck(token: token, user: "alice").status == 401)

            // The location's action arrives as OTP_STEP_UP_ACTION: another one refuses the token
            // (with the challenge naming it) without spending it.
            let cancel = try stack.stepUpToken(phone: "+14155550224", action: "cancel-appointment")
            let elsewhere = try run.stepUpCheck(token: cancel, user: "alice", action: "change-payout")
            #expect(elsewhere.status == 401)
            #expect(elsewhere.headers["WWW-Authenticate"] == #"OTP-Step-Up action="change-payout""#)
            #expect(try run.stepUpCheck(token: cancel, user: "alice").status == 401)
            #expect(try run.stepUpCheck(token: cancel, user: "alice", action: "cancel-appointment").status == 204)
        }

        /// The wrapper's configuration holds the pepper: a file others may read (any script on the
        /// host could) stops it with a 500 and a line in the server's log, before any secret is loaded.
        @Test func theWrapperRefusesAConfigurationOthersCanRead() throws {
            let stack = try WebServerStack(.lighttpdCGI)
            defer { stack.finish() }
            #expect(stack.send("+14155550225", "verify_phone").status == 200)
            #expect(chmod(stack.envFile, 0o644) == 0)
            let refused = stack.send("+14155550226", "verify_phone")
            #expect(refused.status == 500)
            #expect(refused.body == #"{"detail": "Internal server error"}"#)
            #expect(stack.logs.contains("is readable or writable by others"))
            #expect(stack.sms.messages().allSatisfy { $0.to != "+14155550226" })
            #expect(chmod(stack.envFile, 0o640) == 0)
            #expect(stack.send("+14155550226", "verify_phone").status == 200)
        }
    }
}

/// Runs the built binary the way a CGI server does: CGI variables and the configuration in the
/// environment, the body on stdin (a pipe, not a listening socket), the answer read from stdout.
final class CGIRunner: @unchecked Sendable {
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: String
        var stderr: String
        var exitStatus: Int32
        var json: [String: String] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
        }
    }

    let state: URL?
    let configuration: [String: String]
    private var secrets: Set<String> = []
    private var stderrText = ""

    /// A fresh state folder of its own.
    init() throws {
        let state = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("otp-cgi-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        self.state = state
        let pepper = "test-pepper-" + UUID().uuidString
        configuration = [
            "OTP_PEPPER": pepper,
            "OTP_DB_PATH": state.appendingPathComponent("otp.sqlite3").path,
            "OTP_SMS_PROVIDER": "file",
            "OTP_SMS_FILE": state.appendingPathComponent("sms.jsonl").path,
            "OTP_LOG_LEVEL": "debug",
        ]
        secrets.insert(pepper)
    }

    /// Another stack's configuration (its database).
    init(configuration: [String: String]) throws {
        state = nil
        self.configuration = configuration
    }

    func removeState() {
        if let state { try? FileManager.default.removeItem(at: state) }
    }

    func record(secret: String) { secrets.insert(secret) }

    func recordPhone(_ phone: String) {
        secrets.insert(phone)
        secrets.insert(String(phone.dropFirst()))
    }

    /// The code of the last SMS to `phone`, recorded as a secret.
    func lastCode(to phone: String) -> String? {
        guard let file = configuration["OTP_SMS_FILE"], let code = SMSSink(path: file).lastCode(to: phone) else { return nil }
        secrets.insert(code)
        return code
    }

    /// A request for the public API under SCRIPT_NAME /cgi-bin/otp-fcgi (PATH_INFO /send, …), or
    /// for an internal endpoint set by the server through OTP_ENDPOINT.
    func request(
        _ method: String, _ pathInfo: String, user: String? = nil, json: String? = nil, contentLength: Int? = nil,
        endpoint: String? = nil, headers: [String: String] = [:], configuration: [String: String]? = nil
    ) throws -> Answer {
        var environment = (configuration ?? self.configuration).merging([
            "PATH": "/usr/bin:/bin",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": "test",
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "/cgi-bin/otp-fcgi",
            "REMOTE_ADDR": "127.0.0.1",
        ]) { _, new in new }
        if !pathInfo.isEmpty { environment["PATH_INFO"] = pathInfo }
        if let user { environment["REMOTE_USER"] = user }
        if let endpoint { environment["OTP_ENDPOINT"] = endpoint }
        if let json {
            environment["CONTENT_TYPE"] = "application/json"
            environment["CONTENT_LENGTH"] = "\(contentLength ?? json.utf8.count)"
        }
        environment.merge(headers) { _, new in new }
        return try run(environment: environment, stdin: Array((json ?? "").utf8))
    }

    /// The check as a web server's internal location would call it (OTP_ENDPOINT=step-up-check),
    /// for a location that names `action` (OTP_STEP_UP_ACTION) or none.
    func stepUpCheck(token: String, user: String?, action: String? = nil) throws -> Answer {
        var parameters = ["HTTP_X_STEP_UP_TOKEN": token]
        if let action { parameters["OTP_STEP_UP_ACTION"] = action }
        return try request("GET", "", user: user, endpoint: "step-up-check", headers: parameters)
    }

    private func run(environment: [String: String], stdin: [UInt8]) throws -> Answer {
        let result = try ChildProcess.run(TestStack.binary, [], environment: environment, stdin: .bytes(stdin), stderr: .capture)
        let err = result.errors
        stderrText += err

        let text = result.output
        guard let end = text.range(of: "\r\n\r\n") else { throw StackError("no CGI header block in: \(text)\nstderr: \(err)") }
        var headers: [String: String] = [:]
        for line in text[..<end.lowerBound].components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let status = Int(headers["Status"]?.prefix(3) ?? "") ?? 0
        return Answer(status: status, headers: headers, body: String(text[end.upperBound...]), stderr: err, exitStatus: result.status)
    }

    /// Nothing secret in what the runs wrote to stderr (the web server's error log in real life).
    func checkLogs(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(stderrText.contains("event=otp."), "otp-fcgi logged no request at all", sourceLocation: sourceLocation)
        for secret in secrets where !secret.isEmpty {
            #expect(!stderrText.contains(secret), "a secret reached the logs", sourceLocation: sourceLocation)
        }
    }
}
