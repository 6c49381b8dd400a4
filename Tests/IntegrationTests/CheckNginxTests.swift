import Foundation
import Testing

extension Integration {
    /// `otp-fcgi check-nginx` on the real `nginx -T` of a rendered test stack: the shipped files
    /// pass, a bad extra site is named with its file and line.
    @Suite struct CheckNginx {
        static func check(_ stack: TestStack, _ arguments: [String]? = nil) throws -> ChildProcess.Completion {
            let nginx = stack.state.appendingPathComponent("nginx").path
            return try ChildProcess.run(
                TestStack.binary, ["check-nginx"] + (arguments ?? ["--nginx-prefix", nginx, "--nginx-conf", "\(nginx)/nginx.conf"]),
                environment: ["PATH": "/usr/sbin:/usr/bin:/bin"], stdin: .empty, stderr: .capture
            )
        }

        @Test func theShippedFilesAsRenderedHaveNoProblem() throws {
            let stack = try TestStack(.init(responders: 0))
            defer { stack.finish() }
            let check = try CheckNginx.check(stack)
            #expect(check.status == 0, "\(check.output)\(check.errors)")
            // The example site and the tests' anonymous server each include the snippet's four, and
            // the status server has health and metrics.
            #expect(check.output == "nginx configuration: no problems found in 10 otp-fcgi locations\n")
            #expect(check.errors == "")

            // The same nginx -T output, captured to a file.
            let nginx = stack.state.appendingPathComponent("nginx").path
            let dump = try ChildProcess.run("/usr/sbin/nginx", ["-T", "-p", nginx, "-c", "\(nginx)/nginx.conf"], stdin: .empty, stderr: .discard)
            try dump.requireSuccess()
            let file = stack.state.appendingPathComponent("nginx-T.txt").path
            try dump.output.write(toFile: file, atomically: true, encoding: .utf8)
            let fromFile = try CheckNginx.check(stack, ["--file", file])
            #expect(fromFile.status == 0)
            #expect(fromFile.output == check.output)
        }

        @Test func aBadExtraSiteIsNamedWithItsFileAndLine() throws {
            let port = try TestStack.freePort()
            let site = """
                server {
                    listen 127.0.0.1:\(port);
                    location = /legacy/otp/send {
                        include /etc/nginx/fastcgi_params;
                        fastcgi_param REMOTE_USER $otp_fcgi_user;
                        fastcgi_pass otp_fcgi;
                    }
                }
                """
            let stack = try TestStack(.init(extraSites: ["legacy.conf": site], responders: 0))
            defer { stack.finish() }
            let check = try CheckNginx.check(stack)
            #expect(check.status == 1, "\(check.output)\(check.errors)")
            let lines = check.output.split(separator: "\n").map(String.init)
            let file = stack.state.appendingPathComponent("nginx/sites-enabled/legacy.conf").path
            #expect(lines.count == 2, "\(check.output)")
            #expect(lines.first?.hasPrefix(
                "\(file):4: problem: location = /legacy/otp/send passes to otp-fcgi with Debian's /etc/nginx/fastcgi_params, which sends REMOTE_USER $remote_user"
            ) == true, "\(check.output)")
            #expect(lines.last == "nginx configuration: 1 problem in 11 otp-fcgi locations")
        }
    }
}
