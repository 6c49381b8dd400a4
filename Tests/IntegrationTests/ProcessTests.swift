import Foundation
import Testing

extension Integration {
    @Suite struct Process_ {
        @Test func sigtermFinishesTheRequestInFlightThenExitsZero() throws {
            let stack = try TestStack(.init(workers: 2))
            defer { stack.finish() }
            let body = Array(#"{"phone_e164": "+14155550160", "purpose": "verify_phone"}"#.utf8)
            let client = try FastCGIClient(unixSocket: stack.socketPath)
            client.begin()
            client.params([
                ("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/api/otp/send"),
                ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "\(body.count)"),
            ])
            client.stdin(Array(body.prefix(10)))
            usleep(200_000)
            stack.responder?.terminate()
            usleep(200_000)
            #expect(stack.responder?.isRunning == true, "otp-fcgi must wait for the request in flight")
            client.stdin(Array(body.dropFirst(10)))
            client.stdin([])
            let response = try client.readResponse()
            #expect(response.hasPrefix("Status: 200 OK"))
            #expect(response.hasSuffix(#"{"status": "sent"}"#))
            #expect(stack.stopResponder() == 0)
            #expect(!FileManager.default.fileExists(atPath: stack.socketPath))
            #expect(stack.sms.messages().count == 1)
        }

        /// Files otp-fcgi creates are its own (the database holds raw phones in `users`), also
        /// when started outside systemd, and it never dumps core (a core holds the pepper).
        @Test func theDatabaseIsPrivateAndNoCoreIsDumped() throws {
            let stack = try TestStack(.init(workers: 1))
            defer { stack.finish() }
            #expect(stack.send("+14155550161", "verify_phone").status == 200)
            for file in [stack.databasePath, stack.databasePath + "-wal"] {
                let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
                #expect(mode & 0o077 == 0, "\(file) is \(String(mode, radix: 8))")
            }
            let pid = try #require(stack.responder?.pid)
            let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
            let core = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") })
            #expect(core.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2) == ["0", "0"], "\(core)")
        }

        /// Every allocation of the serving process goes to jemalloc, linked ahead of libc: asked
        /// through its own environment variable, jemalloc prints its statistics at exit, which it
        /// can only do if it served the process's `malloc` (it starts on the first call).
        @Test func theServingProcessAllocatesWithJemalloc() throws {
            let stack = try TestStack(.init(environment: ["MALLOC_CONF": "stats_print:true"], workers: 2))
            defer { stack.finish() }
            #expect(stack.send("+14155550162", "verify_phone").status == 200)
            #expect(stack.stopResponder() == 0)
            let log = stack.responderLog
            #expect(log.contains("___ Begin jemalloc statistics ___"), "\(log.suffix(2000))")
            #expect(log.contains("--- End jemalloc statistics ---"))
        }

        /// `--env-file` reads the 0600 file itself (run with sudo): no secret on any command line.
        @Test func checkConfigReadsAnEnvironmentFile() throws {
            let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("otp-envfile-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let pepper = "env-file-pepper-" + UUID().uuidString
            let file = directory.appendingPathComponent("otp-fcgi.env").path
            try """
                # as the .deb ships it
                OTP_PEPPER=\(pepper)
                OTP_DB_PATH=\(directory.appendingPathComponent("otp.sqlite3").path)
                OTP_SMS_PROVIDER="file"
                OTP_SMS_FILE=\(directory.appendingPathComponent("sms.jsonl").path)

                """.write(toFile: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            let checked = try ChildProcess.run(TestStack.binary, ["check-config", "--env-file", file], environment: ["PATH": "/usr/bin:/bin"])
            #expect(checked.status == 0, "\(checked.output)")
            #expect(checked.output.contains("configuration is valid"))
            #expect(checked.output.contains("warning: OTP_SMS_ALLOWED_COUNTRIES is unset"))
            #expect(!checked.output.contains(pepper))
            let missing = try ChildProcess.run(TestStack.binary, ["check-config", "--env-file", file + ".nope"], environment: [:])
            #expect(missing.status == 78)
            #expect(missing.output.contains("--env-file"))
        }

        @Test func badConfigurationStopsTheStartNamingEveryVariable() throws {
            let attempt = try ChildProcess.run(TestStack.binary, ["serve", "--listen", "127.0.0.1:1"], environment: [
                "OTP_PEPPER": "too-short", "OTP_CODE_LENGTH": "12", "OTP_SMS_PROVIDER": "twilio",
                "TWILIO_MESSAGING_SERVICE_SID": "not-a-sid",
            ])
            #expect(attempt.status != 0)
            for name in ["OTP_PEPPER", "OTP_CODE_LENGTH", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_MESSAGING_SERVICE_SID"] {
                #expect(attempt.output.contains(name), "\(name) not named in: \(attempt.output)")
            }
            #expect(!attempt.output.contains("too-short"), "the pepper must not be echoed")
        }

        @Test func servesTheSocketInheritedOnFdZero() throws {
            let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("otp-fd0-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("otp.sock").path
            let listener = try listeningUnixSocket(path)
            defer { close(listener) }

            let process = try ChildProcess.start(TestStack.binary, ["serve", "--workers", "2"], environment: [
                "OTP_PEPPER": String(repeating: "p", count: 40), "OTP_DB_PATH": directory.appendingPathComponent("otp.sqlite3").path,
                "OTP_SMS_PROVIDER": "file", "OTP_SMS_FILE": directory.appendingPathComponent("sms.jsonl").path,
            ], stdin: .descriptor(listener), stderr: .discard)
            defer { if process.isRunning { process.terminate() } }

            let client = try FastCGIClient(unixSocket: path)
            client.begin()
            client.params([("REQUEST_METHOD", "GET"), ("OTP_ENDPOINT", "health")])
            client.stdin([])
            let response = try client.readResponse()
            #expect(response.hasPrefix("Status: 200 OK"))
            #expect(process.stop() == 0)
            #expect(FileManager.default.fileExists(atPath: path), "an inherited socket belongs to whoever passed it")
        }
    }
}
