import Foundation
import Testing

/// The built otp-fcgi behind the real Debian nginx, configured from the shipped files
/// (scripts/render-nginx.sh), in a fresh state folder with its own SQLite file (or its own
/// PostgreSQL database: `Options.database`) and SMS sink.
final class TestStack: OTPSession, @unchecked Sendable {
    struct Options {
        /// Extra or overriding environment for otp-fcgi.
        var environment: [String: String] = [:]
        var workers = 8
        /// nil keeps the shipped send rate limit; the default lifts it so tests can send freely.
        var sendRate: String? = "100000r/m"
        /// Extra nginx server files to enable, by file name.
        var extraSites: [String: String] = [:]
        /// Deliver through this fake Twilio instead of the file sink.
        var twilio: FakeTwilio? = nil
        /// Fake AWS SNS and Vonage: their credentials join the environment (choose the chain with
        /// `OTP_SMS_PROVIDER` in `environment`).
        var sns: FakeSNS? = nil
        var vonage: FakeVonage? = nil
        /// Sets OTP_PUBLIC_BASE_URL to this stack's nginx (https://127.0.0.1:port): Twilio gets a
        /// StatusCallback there and callbacks are checked against it.
        var publicBaseURL = false
        /// OTP_PEPPER; random when nil.
        var pepper: String? = nil
        /// Runs on the database path before otp-fcgi first starts (to lay down a fixture).
        var prepareDatabase: ((String) throws -> Void)? = nil
        /// otp-fcgi processes on the one database file, each on its own socket, all in nginx's upstream.
        /// With 0, none is started: whatever listens on `socketPath` answers for otp-fcgi.
        var responders = 1
        /// Where the database lives; the state folder when nil.
        var databaseDirectory: String? = nil
        /// More `serve` options (`--body-timeout 1`, …).
        var serveArguments: [String] = []
        /// The store: the SQLite file, or a fresh PostgreSQL database on the test server.
        var database: StackDatabase = .sqlite
    }

    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: String {
        ProcessInfo.processInfo.environment["OTP_FCGI_BINARY"]
            ?? repositoryRoot.appendingPathComponent(".build/debug/otp-fcgi").path
    }

    let state: URL
    let httpsPort: Int
    let backendPort: Int
    let pepper: String
    let client: HTTPClient
    /// The API on a plain-HTTP server with no login (the snippet without `set $otp_fcgi_user`):
    /// verify_phone there binds to no user, so load tests can verify any number of phones; and
    /// `X-Forwarded-For` sets the client address (nginx's realip, trusting the test client only).
    let anonymousClient: HTTPClient
    let statusClient: HTTPClient
    private(set) var responders: [ChildProcess?] = []
    var responder: ChildProcess? { responders.first ?? nil }
    private var nginx: ChildProcess?
    private let options: Options
    /// The stack's PostgreSQL database, dropped with the stack.
    private(set) var postgresDatabase: String?
    /// Everything that must never appear in a log: filled by the API helpers as they go.
    let secrets = SecretLedger()

    init(_ options: Options = Options()) throws {
        self.options = options
        pepper = options.pepper ?? "test-pepper-" + UUID().uuidString
        state = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("otp-it-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        httpsPort = try TestStack.freePort()
        backendPort = try TestStack.freePort()
        client = HTTPClient(baseURL: "https://127.0.0.1:\(httpsPort)", caFile: state.appendingPathComponent("cert.pem").path)
        let anonymousPort = try TestStack.freePort()
        anonymousClient = HTTPClient(baseURL: "http://127.0.0.1:\(anonymousPort)", caFile: state.appendingPathComponent("cert.pem").path)
        let statusPort = try TestStack.freePort()
        statusClient = HTTPClient(baseURL: "http://127.0.0.1:\(statusPort)", caFile: state.appendingPathComponent("cert.pem").path)
        record(secret: pepper)

        var render = [TestStack.repositoryRoot.appendingPathComponent("scripts/render-nginx.sh").path, state.path, "\(httpsPort)", "\(backendPort)"]
        if let rate = options.sendRate { render.append(rate) }
        try ChildProcess.run(render[0], Array(render.dropFirst()), environment: TestStack.environment(statusPort: statusPort)).requireSuccess()
        // The test client stands for many client addresses: X-Forwarded-For sets REMOTE_ADDR here.
        try """
            server {
                listen 127.0.0.1:\(anonymousPort);
                set_real_ip_from 127.0.0.1;
                real_ip_header X-Forwarded-For;
                include snippets/otp-fcgi.conf;
            }

            """.write(to: state.appendingPathComponent("nginx/sites-enabled/anonymous-api.conf"), atomically: true, encoding: .utf8)
        for (name, text) in options.extraSites {
            try text.replacingOccurrences(of: "@STATE@", with: state.path)
                .write(to: state.appendingPathComponent("nginx/sites-enabled/\(name)"), atomically: true, encoding: .utf8)
        }
        if options.responders > 1 {
            let upstream = state.appendingPathComponent("nginx/conf.d/otp-fcgi.conf")
            let extra = (1..<options.responders).map { "    server unix:\(socketPath(for: $0));" }.joined(separator: "\n")
            let text = try String(contentsOf: upstream, encoding: .utf8)
                .replacingOccurrences(of: "    server unix:\(socketPath);", with: "    server unix:\(socketPath);\n" + extra)
            try text.write(to: upstream, atomically: true, encoding: .utf8)
        }
        if options.database == .postgres { postgresDatabase = try PostgresServer.createDatabase() }
        try options.prepareDatabase?(databasePath)
        responders = Array(repeating: nil, count: options.responders)
        for index in 0..<options.responders { try startResponder(index: index) }
        try startNginx()
    }

    deinit {
        stopAll()
        if let postgresDatabase { PostgresServer.dropDatabase(postgresDatabase) }
        if ProcessInfo.processInfo.environment["OTP_TEST_KEEP_STATE"] == nil { try? FileManager.default.removeItem(at: state) }
    }

    /// `OTP_DB_URL` of a PostgreSQL stack.
    var databaseURL: String? { postgresDatabase.flatMap { try? PostgresServer.url(database: $0) } }

    /// Runs a query on the stack's database (sqlite3 or psql); rows as `a|b` lines.
    func query(_ sql: String) throws -> String {
        if let databaseURL { return try PostgresServer.psql(databaseURL, sql) }
        return try sqlite(databasePath, sql)
    }

    /// Runs SQL on the stack's database, failing the test setup if it fails.
    func execute(_ sql: String) throws {
        if let databaseURL { try PostgresServer.psql(databaseURL, sql) } else { try sqliteExec(databasePath, sql) }
    }

    /// A verify_phone with no logged-in user: it marks matching notification preferences and
    /// binds the phone to nobody (a user who has a verified phone could not verify another).
    func verifyAnonymously(_ phone: String, code: String) -> HTTPResult {
        recordPhone(phone)
        return anonymousClient.postJSON("/api/otp/verify", OTPSessionJSON.body(phone: phone, purpose: "verify_phone", code: code))
    }

    /// What OTP_PUBLIC_BASE_URL is with `Options.publicBaseURL`.
    var publicBaseURL: String { "https://127.0.0.1:\(httpsPort)" }

    var socketPath: String { socketPath(for: 0) }
    func socketPath(for index: Int) -> String {
        state.appendingPathComponent(index == 0 ? "otp.sock" : "otp-\(index + 1).sock").path
    }
    var databasePath: String { (options.databaseDirectory.map { URL(fileURLWithPath: $0) } ?? state).appendingPathComponent("otp.sqlite3").path }
    var smsFile: String { state.appendingPathComponent("sms.jsonl").path }
    var sms: SMSSink { SMSSink(path: smsFile, codeLength: Int(environment["OTP_CODE_LENGTH"] ?? "") ?? 6) }
    /// Every responder's stderr, in order of index.
    var responderLog: String {
        responders.indices.map { (try? String(contentsOf: state.appendingPathComponent(logName(for: $0)), encoding: .utf8)) ?? "" }.joined()
    }

    func responderLog(index: Int) -> String {
        (try? String(contentsOf: state.appendingPathComponent(logName(for: index)), encoding: .utf8)) ?? ""
    }

    private func logName(for index: Int) -> String { index == 0 ? "otp-fcgi.log" : "otp-fcgi-\(index + 1).log" }
    var nginxErrorLog: String { (try? String(contentsOf: state.appendingPathComponent("nginx-error.log"), encoding: .utf8)) ?? "" }

    var environment: [String: String] {
        var environment = [
            "PATH": "/usr/sbin:/usr/bin:/bin",
            "OTP_PEPPER": pepper,
            "OTP_DB_PATH": databasePath,
            "OTP_SMS_PROVIDER": "file",
            "OTP_SMS_FILE": smsFile,
            "OTP_LOG_LEVEL": "debug",
        ].merging(ExampleSite.environment(state: state)) { _, new in new }
        if let databaseURL {
            environment["OTP_DB_PATH"] = nil
            environment["OTP_DB_URL"] = databaseURL
        }
        if let twilio = options.twilio { environment.merge(twilio.environment) { _, new in new } }
        if let sns = options.sns { environment.merge(sns.environment) { _, new in new } }
        if let vonage = options.vonage { environment.merge(vonage.environment) { _, new in new } }
        if options.publicBaseURL { environment["OTP_PUBLIC_BASE_URL"] = publicBaseURL }
        environment.merge(options.environment) { _, new in new }
        return environment
    }

    func startResponder(index: Int = 0, environment: [String: String]? = nil) throws {
        let socketPath = socketPath(for: index)
        let process = try ChildProcess.start(
            TestStack.binary, ["serve", "--listen", "unix:\(socketPath)", "--workers", "\(options.workers)"] + options.serveArguments,
            environment: environment ?? self.environment, stdout: .discard, stderr: .file(state.appendingPathComponent(logName(for: index)).path)
        )
        if responders.count <= index { responders += Array(repeating: nil, count: index + 1 - responders.count) }
        responders[index] = process
        try TestStack.waitUntil("otp-fcgi socket \(socketPath)") { TestStack.canConnect(unixSocket: socketPath) || !process.isRunning }
        guard process.isRunning else { throw StackError("otp-fcgi exited at start:\n\(responderLog)") }
    }

    private func startNginx() throws {
        let conf = state.appendingPathComponent("nginx").path
        let process = try ChildProcess.start(
            "/usr/sbin/nginx", ["-p", conf, "-c", "\(conf)/nginx.conf", "-e", state.appendingPathComponent("nginx-error.log").path],
            stdout: .discard, stderr: .file(state.appendingPathComponent("nginx-stderr.log").path)
        )
        nginx = process
        try TestStack.waitUntil("nginx on port \(httpsPort)") { TestStack.canConnect(port: self.httpsPort) || !process.isRunning }
        guard process.isRunning else {
            throw StackError("nginx exited at start: \((try? String(contentsOf: state.appendingPathComponent("nginx-stderr.log"), encoding: .utf8)) ?? "")")
        }
    }

    /// SIGTERM to otp-fcgi; returns its exit status.
    @discardableResult
    func stopResponder(index: Int = 0) -> Int32? {
        guard responders.indices.contains(index), let responder = responders[index] else { return nil }
        return responder.stop()
    }

    /// SIGKILL: no chance to finish anything.
    func killResponder(index: Int = 0) {
        guard responders.indices.contains(index), let responder = responders[index], responder.isRunning else { return }
        responder.kill()
        responder.wait()
    }

    func stopAll() {
        for index in responders.indices { stopResponder(index: index) }
        nginx?.stop()
    }

    // MARK: - Secrets bookkeeping and the log check

    /// Stops everything and checks that neither otp-fcgi's stderr nor nginx's error log contains a
    /// code, a token, a phone number (with or without +) or the pepper seen during the test.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        stopAll()
        if options.twilio != nil { record(secret: FakeTwilio.authToken) }
        if options.sns != nil { record(secret: FakeSNS.secretAccessKey); record(secret: FakeSNS.sessionToken) }
        if options.vonage != nil { record(secret: FakeVonage.apiSecret); record(secret: FakeVonage.signatureSecret) }
        for request in providerRequests {
            if let code = request.code { record(secret: code) }
            if let body = request.field(request.textField) { record(secret: body) }
        }
        if options.responders > 0 {
            #expect(!responderLog.isEmpty, "otp-fcgi wrote no log at all", sourceLocation: sourceLocation)
        }
        expectNoSecrets(in: responderLog + nginxErrorLog, sourceLocation: sourceLocation)
    }

    /// True when `secret` occurs in `text` not as part of a longer run of letters and digits: a
    /// six-digit code inside a 12-hex-character phone reference is chance, not a leak.
    static func containsStandalone(_ secret: String, in text: String) -> Bool {
        var searchRange = text.startIndex..<text.endIndex
        while let found = text.range(of: secret, range: searchRange) {
            let before = found.lowerBound == text.startIndex ? nil : text[text.index(before: found.lowerBound)]
            let after = found.upperBound == text.endIndex ? nil : text[found.upperBound]
            let isWordCharacter: (Character?) -> Bool = { $0.map { $0.isLetter || $0.isNumber } ?? false }
            if !isWordCharacter(before) && !isWordCharacter(after) { return true }
            searchRange = text.index(after: found.lowerBound)..<text.endIndex
        }
        return false
    }

    // MARK: - API helpers that keep track of secrets

    /// The code of the last SMS sent to `phone` for `purpose`.
    func lastCode(to phone: String, purpose: String) -> String? {
        if options.twilio != nil || options.sns != nil || options.vonage != nil {
            let recipients: Set<String> = [phone, String(phone.dropFirst())]
            return providerRequests.last { request in
                request.answeredWith == .accept && ["To", "PhoneNumber", "to"].contains { request.field($0).map(recipients.contains) ?? false }
            }?.code
        }
        return sms.lastCode(to: phone, purpose: purpose)
    }

    /// The test's environment with the status port the render scripts put in the configs.
    static func environment(statusPort: Int) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(["STATUS_PORT": "\(statusPort)"]) { _, new in new }
    }

    /// Every request the fake providers received.
    var providerRequests: [FakeRequest] {
        (options.twilio?.requests ?? []) + (options.sns?.requests ?? []) + (options.vonage?.requests ?? [])
    }

    // MARK: - Waiting and sockets

    static func waitUntil(_ what: String, timeout: TimeInterval = 10, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw StackError("timed out waiting for \(what)") }
            usleep(10_000)
        }
    }

    /// A loopback port nothing listens on and that no earlier call of this process handed out.
    /// The port is probed by binding and closing, so the kernel may offer the same one again at
    /// the next call: a stack asking for three ports at once would then get a clash (Apache
    /// refusing to start with "Cannot define multiple Listeners on the same IP:port").
    static func freePort() throws -> Int {
        for _ in 0..<64 {
            let port = try probeFreePort()
            let isNew = handedOutPorts.withLock { $0.insert(port).inserted }
            if isNew { return port }
        }
        throw StackError("no free port that was not handed out already")
    }

    private static let handedOutPorts = LockedPorts()

    private static func probeFreePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw StackError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func canConnect(unixSocket path: String) -> Bool {
        (try? FastCGIClient(unixSocket: path)) != nil
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

struct StackError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The ports `TestStack.freePort()` has handed out in this process.
final class LockedPorts: @unchecked Sendable {
    private let lock = NSLock()
    private var ports = Set<Int>()

    func withLock<T>(_ body: (inout Set<Int>) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&ports)
    }
}
