import Foundation
import Testing

extension Integration {
    /// The .deb built by `make deb`, installed on this machine, started the way a host without
    /// systemd as PID 1 would (spawn-fcgi), and used through nginx with the installed files.
    @Suite struct DebianPackage {
        static var version: String {
            (try? String(contentsOf: TestStack.repositoryRoot.appendingPathComponent("packaging/VERSION"), encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        }
        static var package: String { TestStack.repositoryRoot.appendingPathComponent("otp-fcgi_\(version)_amd64.deb").path }

        @Test func packageIsLintianCleanInstallsAndServesThroughNginx() throws {
            #expect(FileManager.default.fileExists(atPath: DebianPackage.package), "run `make deb` first (make test does)")
            let lintian = try ChildProcess.run("/usr/bin/lintian", ["--fail-on", "error", DebianPackage.package])
            #expect(lintian.status == 0, "lintian: \(lintian.output)")

            _ = try? ChildProcess.run("/usr/bin/dpkg", ["--purge", "otp-fcgi"])
            // A purge keeps the database on purpose; a fresh install here starts without one (a
            // database left by an earlier build would decide what this test sees).
            try? FileManager.default.removeItem(atPath: "/var/lib/otp-fcgi")
            let install = try ChildProcess.run("/usr/bin/dpkg", ["-i", DebianPackage.package])
            #expect(install.status == 0, "\(install.output)")
            defer {
                _ = try? ChildProcess.run("/usr/bin/dpkg", ["--purge", "otp-fcgi"])
                try? FileManager.default.removeItem(atPath: "/var/lib/otp-fcgi")
            }

            // What the maintainer scripts set up.
            #expect(try ChildProcess.run("/usr/bin/getent", ["passwd", "otp-fcgi"]).status == 0)
            let state = try FileManager.default.attributesOfItem(atPath: "/var/lib/otp-fcgi")
            #expect(state[.ownerAccountName] as? String == "otp-fcgi")
            #expect((state[.posixPermissions] as? Int) == 0o750)
            let envFile = "/etc/otp-fcgi/otp-fcgi.env"
            #expect((try FileManager.default.attributesOfItem(atPath: envFile)[.posixPermissions] as? Int) == 0o600)
            let environment = try String(contentsOfFile: envFile, encoding: .utf8)
            #expect(environment.range(of: "(?m)^OTP_PEPPER=[0-9a-f]{64}$", options: .regularExpression) != nil)

            // An edited environment file survives a reinstall.
            try (environment + "# edited by the sysadmin\n").write(toFile: envFile, atomically: false, encoding: .utf8)
            #expect(try ChildProcess.run("/usr/bin/dpkg", ["-i", "--force-confold", DebianPackage.package]).status == 0)
            #expect(try String(contentsOfFile: envFile, encoding: .utf8).hasSuffix("# edited by the sysadmin\n"))

            let verify = try ChildProcess.run("/usr/bin/systemd-analyze", ["verify"] + ["otp-fcgi.socket", "otp-fcgi.service", "otp-fcgi-check.socket", "otp-fcgi-check.service"].map { "/lib/systemd/system/" + $0 })
            #expect(verify.status == 0, "\(verify.output)")
            #expect(!verify.output.contains("otp-fcgi"), "systemd-analyze has remarks: \(verify.output)")

            let served = try InstalledService(environmentFile: environment)
            defer { served.stop() }
            // check-nginx on what is installed: nginx's own configuration (Debian's stock files and the
            // package's conf.d), and this test's, which uses the installed conf.d, snippet and params.
            let path = ["PATH": "/usr/sbin:/usr/bin:/bin"]
            let system = try ChildProcess.run("/usr/sbin/otp-fcgi", ["check-nginx"], environment: path, stdin: .empty)
            #expect(system.status == 0, "\(system.output)")
            let site = try ChildProcess.run("/usr/sbin/otp-fcgi", ["check-nginx", "--nginx-conf", served.nginxConfig], environment: path, stdin: .empty)
            #expect(site.status == 0, "\(site.output)")
            #expect(site.output == "nginx configuration: no problems found in 6 otp-fcgi locations\n")

            let token = try served.stepUpToken(phone: "+14155550240")
            #expect(served.protectedAction(token: token).status == 200)
            #expect(served.protectedAction(token: token).status == 401)
            let status = HTTPClient(baseURL: "http://127.0.0.1:9478", caFile: "/dev/null")
            #expect(status.request("GET", "/health").status == 200)
            #expect(status.request("GET", "/metrics").body.contains("otp_step_up_checks_total"))
            #expect(served.client.request("GET", "/api/otp/health", as: .alice).status == 404)
            #expect(try ChildProcess.run("/usr/sbin/otp-fcgi", ["--help"]).output.contains("check-config"))
        }
    }
}

/// The installed binary under spawn-fcgi as user otp-fcgi, behind nginx configured with the
/// installed /etc/nginx files.
final class InstalledService {
    let client: HTTPClient
    private let directory: URL
    private let spawn: ChildProcess
    private let nginx: ChildProcess
    let nginxConfig = "/etc/nginx/otp-fcgi-package-test.conf"
    private let sms = SMSSink(path: "/var/lib/otp-fcgi/sms.jsonl")

    init(environmentFile: String) throws {
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("otp-deb-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try FileManager.default.createDirectory(atPath: "/run/otp-fcgi", withIntermediateDirectories: true)

        var environment = ["PATH": "/usr/sbin:/usr/bin:/bin"]
        for line in environmentFile.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { environment[String(parts[0])] = String(parts[1]) }
        }
        environment["OTP_SMS_PROVIDER"] = "file"
        environment["OTP_SMS_FILE"] = sms.path
        spawn = try ChildProcess.start(
            "/usr/bin/spawn-fcgi",
            ["-n", "-s", "/run/otp-fcgi/otp.sock", "-M", "0660", "-U", "otp-fcgi", "-G", "www-data",
             "-u", "otp-fcgi", "-g", "otp-fcgi", "--", "/usr/sbin/otp-fcgi", "serve", "--workers", "4"],
            environment: environment, stderr: .discard
        )
        try TestStack.waitUntil("the installed otp-fcgi") { TestStack.canConnect(unixSocket: "/run/otp-fcgi/otp.sock") }

        let port = try TestStack.freePort()
        let backend = try TestStack.freePort()
        let htpasswd = directory.appendingPathComponent("htpasswd").path
        let hash = try ChildProcess.run("/usr/bin/openssl", ["passwd", "-apr1", "alice-password"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        try "alice:\(hash)\n".write(toFile: htpasswd, atomically: true, encoding: .utf8)
        try """
            user www-data;
            daemon off;
            pid \(directory.path)/nginx.pid;
            error_log \(directory.path)/error.log info;
            events { worker_connections 256; }
            http {
                access_log off;
                include /etc/nginx/conf.d/otp-fcgi.conf;
                include /etc/nginx/conf.d/otp-fcgi-status.conf;
                server {
                    listen 127.0.0.1:\(port);
                    auth_basic "package test";
                    auth_basic_user_file \(htpasswd);
                    set $otp_fcgi_user $remote_user;
                    include snippets/otp-fcgi.conf;
                    location = /protected {
                        auth_request /_otp/step-up-check;
                        proxy_set_header X-Step-Up-Token "";
                        proxy_pass http://127.0.0.1:\(backend);
                    }
                }
                server {
                    listen 127.0.0.1:\(backend);
                    location / { return 200 '{"status": "done"}'; }
                }
            }
            """.write(toFile: nginxConfig, atomically: true, encoding: .utf8)
        let nginx = try ChildProcess.start("/usr/sbin/nginx", ["-c", nginxConfig, "-e", directory.appendingPathComponent("error.log").path], stderr: .discard)
        self.nginx = nginx
        client = HTTPClient(baseURL: "http://127.0.0.1:\(port)", caFile: "/dev/null")
        try TestStack.waitUntil("nginx on \(port)") { TestStack.canConnect(port: port) || !nginx.isRunning }
    }

    /// Verifies `phone` as alice's phone on record, then steps up with a code sent to it.
    func stepUpToken(phone: String) throws -> String {
        for purpose in ["verify_phone", "step_up"] {
            let sent = client.postJSON("/api/otp/send", #"{"phone_e164": "\#(phone)", "purpose": "\#(purpose)"}"#, as: .alice)
            guard sent.status == 200 else { throw StackError("\(purpose) send answered \(sent.status): \(sent.body)") }
            guard let code = sms.lastCode(to: phone, purpose: purpose) else { throw StackError("no \(purpose) code") }
            let verified = client.postJSON("/api/otp/verify", #"{"phone_e164": "\#(phone)", "purpose": "\#(purpose)", "code": "\#(code)"}"#, as: .alice)
            guard verified.status == 200 else { throw StackError("\(purpose) verify answered \(verified.status): \(verified.body)") }
            if purpose == "step_up" {
                guard let token = verified.json["step_up_token"] else { throw StackError("no step_up_token: \(verified.body)") }
                return token
            }
        }
        throw StackError("unreachable")
    }

    func protectedAction(token: String) -> HTTPResult {
        client.request("GET", "/protected", as: .alice, headers: ["X-Step-Up-Token: \(token)"])
    }

    func stop() {
        for process in [nginx, spawn] {
            process.stop()
        }
        // spawn-fcgi -n execs otp-fcgi in its place, so terminating it stopped the responder.
        try? FileManager.default.removeItem(atPath: nginxConfig)
        try? FileManager.default.removeItem(at: directory)
    }
}
