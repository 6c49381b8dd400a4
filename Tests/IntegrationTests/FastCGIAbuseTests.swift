import Foundation
import Testing

extension Integration {
    /// A client writing straight to the responder's socket, breaking the protocol every way it
    /// can: the process stays up, keeps every worker, and answers the next normal request promptly.
    @Suite struct FastCGIAbuse {
        static let health = [("REQUEST_METHOD", "GET"), ("OTP_ENDPOINT", "health")]

        typealias Abuse = (String, @Sendable (FastCGIClient) -> Void)

        static let abuses: [Abuse] = [
            ("truncated record header", { $0.raw([1, 1, 0]) }),
            ("wrong protocol version", { $0.record(rawType: 1, version: 2, [0, 1, 0, 0, 0, 0, 0, 0]) }),
            ("unknown role", { $0.begin(role: 7); $0.params(FastCGIAbuse.health); $0.stdin([]) }),
            ("unknown management record type", { $0.record(rawType: 42, requestID: 0, [1, 2, 3]) }),
            ("unknown record type inside a request", { $0.begin(); $0.record(rawType: 42, [1, 2, 3]); $0.params(FastCGIAbuse.health); $0.stdin([]) }),
            ("name length near 2^31", { client in
                client.begin()
                client.record(.params, [0xff, 0xff, 0xff, 0xf0, 0x01] + Array("ABC".utf8))
                client.record(.params, [])
                client.stdin([])
            }),
            ("name-value lengths past the record", { client in
                client.begin()
                client.record(.params, [100, 100] + Array("SHORT".utf8))
                client.record(.params, [])
                client.stdin([])
            }),
            ("thousands of parameters", { client in
                client.begin()
                for chunk in 0..<40 {
                    client.params((0..<100).map { ("HTTP_X_\(chunk)_\($0)", String(repeating: "v", count: 100)) })
                }
                client.stdin([])
            }),
            ("body longer than CONTENT_LENGTH", { client in
                client.begin()
                client.params([("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/api/otp/send"), ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "10")])
                client.stdin(Array(repeating: UInt8(ascii: "{"), count: 5000))
                client.stdin([])
            }),
            ("body shorter than CONTENT_LENGTH", { client in
                client.begin()
                client.params([("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/api/otp/send"), ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "100")])
                client.stdin(Array("{}".utf8))
                client.stdin([])
            }),
            ("CONTENT_LENGTH that is not a number", { client in
                client.begin()
                client.params([("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/api/otp/send"), ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "-1")])
                client.stdin([])
            }),
            ("disconnect halfway through the parameters", { client in
                client.begin()
                client.record(.params, FastCGIClient.length(14) + FastCGIClient.length(4) + Array("REQUEST_METHOD".utf8))
                client.reset()
            }),
            ("disconnect halfway through the body", { client in
                client.begin()
                client.params([("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/api/otp/send"), ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "60")])
                client.stdin(Array(#"{"phone_e164": "+1415"#.utf8))
                client.reset()
            }),
            ("connect and send nothing", { _ in usleep(300_000) }),
        ]

        @Test func malformedTrafficNeverTakesDownTheResponderOrAWorker() throws {
            let stack = try TestStack(.init(workers: 4))
            defer { stack.finish() }
            let pid = try #require(stack.responder?.pid)
            let threadsBefore = try threadCount(pid)

            for (label, abuse) in FastCGIAbuse.abuses {
                do {
                    let client = try FastCGIClient(unixSocket: stack.socketPath)
                    abuse(client)
                    _ = try? client.readResponse(timeoutSeconds: 3)
                }
                #expect(stack.responder?.isRunning == true, "otp-fcgi died after: \(label)")
                let started = Date()
                let answer = try FastCGIClient(unixSocket: stack.socketPath).exchange(FastCGIAbuse.health)
                #expect(answer.hasPrefix("Status: 200"), "\(label): \(answer)")
                #expect(Date().timeIntervalSince(started) < 1.0, "\(label): the next request waited \(Date().timeIntervalSince(started)) s")
            }

            // Every worker is still there and serving: as many requests at once as there are workers.
            #expect(try threadCount(pid) == threadsBefore)
            let answers = inParallel(4) { _ in (try? FastCGIClient(unixSocket: stack.socketPath).exchange(FastCGIAbuse.health)) ?? "" }
            #expect(answers.allSatisfy { $0.hasPrefix("Status: 200") })
            // And the public API through nginx still works end to end.
            #expect(stack.send("+14155550200", "verify_phone").status == 200)
        }

        /// A body that trickles in (as a web server forwards it while the client sends it) holds a
        /// worker at most --body-timeout, then gets 408; the other workers answer the step-up check
        /// all along.
        @Test func aTricklingBodyGets408AtTheDeadlineAndHoldsNoWorkerLonger() throws {
            let stack = try TestStack(.init(workers: 3, serveArguments: ["--body-timeout", "2"]))
            defer { stack.finish() }
            let started = Date()
            let tricklers = try (0..<2).map { _ in
                let client = try FastCGIClient(unixSocket: stack.socketPath)
                client.begin()
                client.params([("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/api/otp/send"), ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "4000")])
                client.stdin(Array("{".utf8))
                return client
            }
            // Keep trickling a byte every 300 ms: each read is quick, the whole body never comes.
            let trickling = Thread {
                for _ in 0..<20 {
                    usleep(300_000)
                    for client in tricklers { client.stdin(Array(" ".utf8)) }
                }
            }
            trickling.start()
            var checkTimes: [TimeInterval] = []
            while Date().timeIntervalSince(started) < 1.5 {
                let before = Date()
                let answer = try FastCGIClient(unixSocket: stack.socketPath).exchange(FastCGIAbuse.health)
                #expect(answer.hasPrefix("Status: 200"))
                checkTimes.append(Date().timeIntervalSince(before))
            }
            for client in tricklers {
                let answer = try client.readResponse(timeoutSeconds: 10)
                #expect(answer.hasPrefix("Status: 408"), "\(answer)")
                #expect(answer.contains("Request body not received in time"))
            }
            let elapsed = Date().timeIntervalSince(started)
            #expect(elapsed >= 2 && elapsed < 4, "408 at the 2 s deadline, not at the end of the trickle: \(elapsed) s")
            #expect(checkTimes.allSatisfy { $0 < 1 }, "\(checkTimes)")
            #expect(stack.sms.messages().isEmpty)
        }

        @Test func anInstanceForTheCheckOnlyAnswersNothingElse() throws {
            let stack = try TestStack(.init(workers: 2, serveArguments: ["--step-up-check-only"]))
            defer { stack.finish() }
            #expect(stack.send("+14155550202", "verify_phone").status == 404)
            let direct = try FastCGIClient(unixSocket: stack.socketPath).exchange(FastCGIAbuse.health)
            #expect(direct.hasPrefix("Status: 404"))
            let check = try FastCGIClient(unixSocket: stack.socketPath).exchange([("REQUEST_METHOD", "GET"), ("OTP_ENDPOINT", "step-up-check"), ("REMOTE_USER", "alice")])
            #expect(check.hasPrefix("Status: 401"), "the check itself answers")
        }

        @Test func shortBodyIsRefusedAndLongBodyIsCutAtContentLength() throws {
            let stack = try TestStack(.init(workers: 2))
            defer { stack.finish() }
            let short = try FastCGIClient(unixSocket: stack.socketPath).exchange(
                [("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/api/otp/send"), ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "100")],
                body: Array("{}".utf8)
            )
            #expect(short.hasPrefix("Status: 400"))
            let json = Array(#"{"phone_e164": "+14155550201", "purpose": "verify_phone"}"#.utf8)
            let long = try FastCGIClient(unixSocket: stack.socketPath).exchange(
                [("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/api/otp/send"), ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "\(json.count)")],
                body: json + Array("trailing garbage".utf8)
            )
            #expect(long.hasPrefix("Status: 200"), "the body is exactly CONTENT_LENGTH bytes; what follows is not part of it")
            #expect(stack.sms.messages().count == 1)
        }
    }
}

/// Threads of a process, from /proc.
func threadCount(_ pid: Int32) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Threads:") }),
          let count = Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) else {
        throw StackError("no thread count for \(pid)")
    }
    return count
}
