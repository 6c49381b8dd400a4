import Foundation
import Testing

/// The built otp-fcgi behind the real Debian Apache httpd or lighttpd, configured from the shipped
/// files (scripts/render-apache.sh, scripts/render-lighttpd.sh), in a fresh state folder with its
/// own SQLite file and SMS sink. Both servers run in the foreground as children of the test, from
/// a private configuration; the system services are never used.
///
/// - `.apache`: two otp-fcgi processes on one database, as shipped: the API on a unix socket
///   through mod_proxy_fcgi, and the step-up check alone (`--step-up-check-only`) on a loopback TCP
///   port for mod_authnz_fcgi (it speaks only TCP), which gates the protected action, a CGI script
///   on a second virtual host standing in for the application.
/// - `.lighttpd`: otp-fcgi listens on a unix socket; the API goes through mod_fastcgi, the
///   protected path through mod_fastcgi in authorizer mode, then a CGI script.
/// - `.lighttpdCGI`: no otp-fcgi process; lighttpd's mod_cgi starts the binary for every request
///   through the shipped wrapper, which reads `otp-fcgi-cgi.env` in the state folder.
final class WebServerStack: OTPSession, @unchecked Sendable {
    enum Kind: String {
        case apache, lighttpd, lighttpdCGI
    }

    let kind: Kind
    let state: URL
    let httpsPort: Int
    /// Apache only: the virtual host that stands in for the application.
    let backendPort: Int
    /// Apache only: the step-up check's TCP port.
    let fastCGIPort: Int
    let pepper = "test-pepper-" + UUID().uuidString
    let client: HTTPClient
    let statusClient: HTTPClient
    private var responder: ChildProcess?
    /// Apache only: the check-only instance.
    private var authorizer: ChildProcess?
    private var server: ChildProcess?
    /// Everything that must never appear in a log: filled by the API helpers as they go.
    let secrets = SecretLedger()

    /// More `serve` options for the API instance (`--body-timeout 2`, …).
    private let serveArguments: [String]

    init(_ kind: Kind, serveArguments: [String] = []) throws {
        self.kind = kind
        self.serveArguments = serveArguments
        state = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("otp-web-\(UUID().uuidString.prefix(8))")
        // Apache's children (www-data when the tests run as root) read the htpasswd file and the
        // example application from here.
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        httpsPort = try TestStack.freePort()
        backendPort = try TestStack.freePort()
        fastCGIPort = try TestStack.freePort()
        client = HTTPClient(baseURL: "https://127.0.0.1:\(httpsPort)", caFile: state.appendingPathComponent("cert.pem").path)
        let statusPort = try TestStack.freePort()
        statusClient = HTTPClient(baseURL: "http://127.0.0.1:\(statusPort)", caFile: state.appendingPathComponent("cert.pem").path)
        let environment = TestStack.environment(statusPort: statusPort)
        record(secret: pepper)

        let scripts = TestStack.repositoryRoot.appendingPathComponent("scripts")
        switch kind {
        case .apache:
            try ChildProcess.run(scripts.appendingPathComponent("render-apache.sh").path, [state.path, "\(httpsPort)", "\(backendPort)", "\(fastCGIPort)"], environment: environment)
                .requireSuccess()
        case .lighttpd:
            try ChildProcess.run(scripts.appendingPathComponent("render-lighttpd.sh").path, [state.path, "\(httpsPort)", "fastcgi", TestStack.binary], environment: environment)
                .requireSuccess()
        case .lighttpdCGI:
            try ChildProcess.run(scripts.appendingPathComponent("render-lighttpd.sh").path, [state.path, "\(httpsPort)", "cgi", TestStack.binary], environment: environment)
                .requireSuccess()
            let lines = configuration.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
            guard FileManager.default.createFile(atPath: envFile, contents: Data(lines.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw StackError("cannot write \(envFile)")
            }
        }
        do {
            if kind != .lighttpdCGI { try startResponder() }
            try startServer()
        } catch {
            stopAll()
            throw error
        }
    }

    deinit {
        stopAll()
        try? FileManager.default.removeItem(at: state)
    }

    var databasePath: String { state.appendingPathComponent("otp.sqlite3").path }
    var smsFile: String { state.appendingPathComponent("sms.jsonl").path }
    var sms: SMSSink { SMSSink(path: smsFile) }
    var socketPath: String { state.appendingPathComponent("otp.sock").path }
    /// `.lighttpdCGI` only: the wrapper's own configuration file.
    var envFile: String { state.appendingPathComponent("otp-fcgi-cgi.env").path }

    /// otp-fcgi's configuration: its environment, or the lines of the CGI wrapper's env file.
    var configuration: [String: String] {
        [
            "OTP_PEPPER": pepper,
            "OTP_DB_PATH": databasePath,
            "OTP_SMS_PROVIDER": "file",
            "OTP_SMS_FILE": smsFile,
            "OTP_LOG_LEVEL": "debug",
        ].merging(ExampleSite.environment(state: state)) { _, new in new }
    }

    /// Every log of the run: otp-fcgi's stderr (in CGI mode the web server's stderr), the web
    /// server's error and access logs.
    var logs: String {
        let names = ["otp-fcgi.log", "otp-fcgi-authorizer.log", "apache2-error.log", "apache2-access.log", "apache2-stderr.log", "lighttpd-error.log", "lighttpd-stderr.log"]
        return names.map { (try? String(contentsOf: state.appendingPathComponent($0), encoding: .utf8)) ?? "" }.joined(separator: "\n")
    }

    private func startResponder() throws {
        responder = try startOTPFCGI(["--listen", "unix:\(socketPath)"] + serveArguments, log: "otp-fcgi.log") { FileManager.default.fileExists(atPath: self.socketPath) }
        if kind == .apache {
            // As the shipped otp-fcgi.socket does (SocketGroup=www-data, mode 0660): Apache's
            // children run as www-data when the tests run as root.
            if getuid() == 0, let group = getgrnam("www-data") {
                guard chown(socketPath, 0, group.pointee.gr_gid) == 0 else { throw StackError("chown \(socketPath) failed") }
            }
            authorizer = try startOTPFCGI(["--listen", "127.0.0.1:\(fastCGIPort)", "--step-up-check-only"], log: "otp-fcgi-authorizer.log") {
                TestStack.canConnect(port: self.fastCGIPort)
            }
        }
    }

    private func startOTPFCGI(_ arguments: [String], log: String, ready: @escaping () -> Bool) throws -> ChildProcess {
        let process = try ChildProcess.start(
            TestStack.binary, ["serve", "--workers", "4"] + arguments,
            environment: configuration.merging(["PATH": "/usr/sbin:/usr/bin:/bin"]) { _, new in new },
            stdout: .discard, stderr: .file(state.appendingPathComponent(log).path)
        )
        try TestStack.waitUntil("otp-fcgi \(arguments.joined(separator: " "))") { !process.isRunning || ready() }
        guard process.isRunning else { throw StackError("otp-fcgi exited at start:\n\(logs)") }
        return process
    }

    private func startServer() throws {
        let stderrName: String
        let command: [String]
        switch kind {
        case .apache:
            command = ["/usr/sbin/apache2", "-f", state.appendingPathComponent("apache2/apache2.conf").path, "-DFOREGROUND"]
            stderrName = "apache2-stderr.log"
        case .lighttpd, .lighttpdCGI:
            command = ["/usr/sbin/lighttpd", "-D", "-f", state.appendingPathComponent("lighttpd/lighttpd.conf").path]
            stderrName = "lighttpd-stderr.log"
        }
        // Apache's parent never unblocks SIGTERM: it would ignore terminate() from a test thread.
        let process = try ChildProcess.start(
            command[0], Array(command.dropFirst()), environment: ["PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C"],
            stdin: .empty, stdout: .discard, stderr: .file(state.appendingPathComponent(stderrName).path), clearingSignalMask: true
        )
        server = process
        let ports = kind == .apache ? [httpsPort, backendPort] : [httpsPort]
        try TestStack.waitUntil("\(kind) on port \(httpsPort)") { !process.isRunning || ports.allSatisfy { TestStack.canConnect(port: $0) } }
        guard process.isRunning else { throw StackError("\(kind) exited at start:\n\(logs)") }
    }

    /// SIGTERM to the web server, then to otp-fcgi; SIGKILL after 10 s, so a stuck server cannot
    /// hang the suite.
    func stopAll() {
        for process in [server, responder, authorizer].compactMap({ $0 }) {
            process.stop(killAfter: 10)
        }
    }

    // MARK: - The example sites' step-up gate

    /// A step-up token of `subject` for `action`, asked for and verified by the delegate
    /// voice-agent (`"subject"` in send and verify); the code goes to the subject's `phone`.
    func delegatedStepUpToken(phone: String, subject: HTTPClient.Credentials, action: String) throws -> String {
        try ensureVerifiedPhone(phone, of: subject)
        let sent = send(nil, "step_up", as: .voiceAgent, action: action, subject: subject.user)
        guard sent.status == 200, let code = lastCode(to: phone, purpose: "step_up") else {
            throw StackError("delegated send answered \(sent.status): \(sent.body)")
        }
        let verified = verify(nil, "step_up", code: code, as: .voiceAgent, action: action, subject: subject.user)
        guard verified.status == 200, let token = verified.json["step_up_token"] else {
            throw StackError("delegated verify answered \(verified.status): \(verified.body)")
        }
        return token
    }

    /// The refusal of the protected location that needs `action`, as the client gets it through
    /// either server: 401, otp-fcgi's JSON naming the action, and the challenge
    /// `WWW-Authenticate: OTP-Step-Up action="…"` first (Apache adds its Basic challenge after it).
    func expectStepUpRequired(_ answer: HTTPResult, action: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == 401, "\(answer.body)", sourceLocation: sourceLocation)
        #expect(answer.header("WWW-Authenticate") == #"OTP-Step-Up action="\#(action)""#, sourceLocation: sourceLocation)
        #expect(
            answer.body == #"{"detail": "Step-up required: verify a step_up code and send the token in X-Step-Up-Token", "step_up": "required", "action": "\#(action)"}"#,
            sourceLocation: sourceLocation
        )
        #expect(answer.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
        #expect(answer.header("Cache-Control") == "no-store", sourceLocation: sourceLocation)
    }

    /// The location's action reaches the authorizer (the Apache and lighttpd suites run this on
    /// their own stack): a token is refused where another action is asked for and not spent
    /// there, admitted once where its own is; a token minted without an action is refused where
    /// one is asked for. Three fresh phones, one per token. Returns the refusal at the other
    /// action's location, for the server's own checks of its headers.
    @discardableResult
    func expectTokensAdmittedOnlyWhereTheirActionIsAskedFor(
        phones: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> HTTPResult {
        expectStepUpRequired(protectedAction(token: nil), action: "cancel-appointment", sourceLocation: sourceLocation)
        expectStepUpRequired(protectedAction(token: nil, path: "/account/change-payout"), action: "change-payout", sourceLocation: sourceLocation)

        let token = try stepUpToken(phone: phones[0], action: "cancel-appointment")
        let elsewhere = protectedAction(token: token, path: "/account/change-payout")
        expectStepUpRequired(elsewhere, action: "change-payout", sourceLocation: sourceLocation)
        let admitted = protectedAction(token: token)
        #expect(admitted.status == 200, sourceLocation: sourceLocation)
        #expect(admitted.json["status"] == "cancelled", sourceLocation: sourceLocation)
        expectStepUpRequired(protectedAction(token: token), action: "cancel-appointment", sourceLocation: sourceLocation)

        // A token minted without an action does not do where one is asked for.
        let plain = try stepUpToken(phone: phones[1], action: nil)
        expectStepUpRequired(protectedAction(token: plain), action: "cancel-appointment", sourceLocation: sourceLocation)

        let payout = try stepUpToken(phone: phones[2], action: "change-payout")
        let changed = protectedAction(token: payout, path: "/account/change-payout")
        #expect(changed.status == 200, sourceLocation: sourceLocation)
        #expect(changed.json["status"] == "payout account changed", sourceLocation: sourceLocation)
        #expect(changed.json["confirmed_by"] == "alice", sourceLocation: sourceLocation)
        #expect(try sqlite(databasePath, "SELECT count(*) FROM step_up_tokens WHERE used_at IS NOT NULL") == "2", sourceLocation: sourceLocation)
        return elsewhere
    }

    // MARK: - Secrets bookkeeping and the log check

    /// Stops everything and checks that no log contains a code, a token, a phone number (with or
    /// without +) or the pepper seen during the test.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        stopAll()
        let text = logs
        #expect(text.contains("event=otp."), "otp-fcgi logged no request at all", sourceLocation: sourceLocation)
        expectNoSecrets(in: text, sourceLocation: sourceLocation)
    }
}
