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
