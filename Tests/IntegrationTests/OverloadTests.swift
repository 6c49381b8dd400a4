import Foundation
import Testing

extension Integration {
    /// 1,000 concurrent connections through nginx on the step-up check: every request gets an answer (counted by
    /// status), the responder stays up with bounded memory, and latency is normal again after.
    /// `make test` runs it for OTP_OVERLOAD_SECONDS (default 5); `make soak` for 30.
    @Suite struct Overload {
        static var seconds: Int { Int(ProcessInfo.processInfo.environment["OTP_OVERLOAD_SECONDS"] ?? "") ?? 5 }

        @Test func thousandConnectionsAreAllAnsweredAndMemoryStaysBounded() throws {
            let stack = try TestStack(.init(workers: 8))
            defer { stack.finish() }
            let before = try normalLatency(stack, phonePrefix: "+1415556600")
            let script = stack.state.appendingPathComponent("overload.lua")
            try Overload.lua.write(to: script, atomically: true, encoding: .utf8)

            let wrk = try ChildProcess.start(
                "/bin/bash",
                ["-c", "ulimit -n 8192 && exec wrk -t2 -c1000 -d\(Overload.seconds)s --timeout 30s -s \(script.path) \(stack.client.baseURL)/account/cancel-appointment"],
                stdout: .capture, stderr: .stdout
            )
            var peakRSS = 0
            while wrk.isRunning {
                if let pid = stack.responder?.pid { peakRSS = max(peakRSS, (try? residentKilobytes(pid, "VmHWM")) ?? 0) }
                usleep(200_000)
            }
            let status = wrk.wait()
            let report = wrk.output
            #expect(status == 0, "\(report)")
            #expect(stack.responder?.isRunning == true)

            let counts = Overload.statusCounts(report)
            let total = counts.values.reduce(0, +)
            print("MEASURED overload \(Overload.seconds) s at 1000 connections: \(total) answers, by status \(counts.sorted { $0.key < $1.key }), responder peak RSS \(peakRSS / 1024) MB")
            #expect(total > 0)
            #expect(Set(counts.keys).isSubset(of: [401, 500, 502, 503, 504]), "\(counts)")
            #expect((counts[401] ?? 0) > 0, "the step-up check answered under load")
            #expect(!report.contains("Socket errors"), "every request got an answer: \(report)")
            #expect(peakRSS < 100 * 1024, "responder peak RSS \(peakRSS) kB")

            let after = try normalLatency(stack, phonePrefix: "+1415556700")
            print("MEASURED send latency p50 before \(ms(before)), after \(ms(after))")
            #expect(after < max(0.5, before * 10), "latency back to normal after the load")
        }

        /// Median of ten sequential sends to fresh phones.
        private func normalLatency(_ stack: TestStack, phonePrefix: String) throws -> TimeInterval {
            var times: [TimeInterval] = []
            for index in 0..<10 {
                let started = Date()
                #expect(stack.send("\(phonePrefix)\(index)", "verify_phone").status == 200)
                times.append(Date().timeIntervalSince(started))
            }
            return percentile(times, 0.5)
        }

        /// The protected action with a well-formed token nobody issued: every request runs the real
        /// step-up check in otp-fcgi (a conditional UPDATE that matches nothing). Answers are
        /// counted by status on every thread.
        static let lua = #"""
            wrk.method = "POST"
            wrk.headers["Authorization"] = "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ="
            wrk.headers["X-Step-Up-Token"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            local threads = {}
            function setup(thread) table.insert(threads, thread) end
            function init(args) counts = {} end
            function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
            function done(summary, latency, requests)
              local total = {}
              for _, thread in ipairs(threads) do
                local c = thread:get("counts")
                for status, n in pairs(c) do total[status] = (total[status] or 0) + n end
              end
              for status, n in pairs(total) do io.write(string.format("STATUS %d %d\n", status, n)) end
            end
            """#

        static func statusCounts(_ report: String) -> [Int: Int] {
            var counts: [Int: Int] = [:]
            for line in report.split(separator: "\n") where line.hasPrefix("STATUS ") {
                let parts = line.split(separator: " ")
                if parts.count == 3, let status = Int(parts[1]), let count = Int(parts[2]) { counts[status] = count }
            }
            return counts
        }
    }
}

/// A memory figure of a process from /proc, in kB ("VmRSS", "VmHWM").
func residentKilobytes(_ pid: Int32, _ field: String) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
          let value = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else {
        throw StackError("no \(field) for \(pid)")
    }
    return value
}
