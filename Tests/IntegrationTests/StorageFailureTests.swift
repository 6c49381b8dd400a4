import Foundation
import Testing
import TestSupport

extension Integration {
    /// What the database's worst days look like from outside: a full disk, a lock held elsewhere,
    /// a directory that cannot be written.
    @Suite struct StorageFailures {
        @Test func fullDiskAnswers503AndServiceResumesWhenSpaceReturns() throws {
            let mount = try TemporaryMount(sizeKilobytes: 1024)
            defer { mount.remove() }
            let stack = try TestStack(.init(workers: 2, databaseDirectory: mount.path))
            defer { stack.finish() }
            #expect(stack.send("+14155550220", "verify_phone").status == 200)
            let code = try #require(stack.lastCode(to: "+14155550220", purpose: "verify_phone"))

            try mount.fill()
            var answers: [Int] = []
            for index in 0..<30 {
                answers.append(stack.send(String(format: "+141555502%02d", 30 + index), "verify_phone").status)
                if answers.last == 503 { break }
            }
            #expect(answers.allSatisfy { $0 == 200 || $0 == 503 }, "\(answers)")
            #expect(answers.last == 503, "a full disk must surface as 503: \(answers)")
            let full = stack.send("+14155550299", "verify_phone")
            #expect(full.status == 503)
            #expect(full.header("Retry-After") != nil)
            #expect(stack.verify("+14155550220", "verify_phone", code: "000000").status == 503)
            #expect(stack.responderLog.contains("msg=\"database unavailable\""))
            #expect(stack.responderLog.contains("full (sqlite 13)"))

            mount.free()
            #expect(stack.send("+14155550298", "verify_phone").status == 200, "service resumes by itself")
            #expect(stack.verify("+14155550220", "verify_phone", code: code).status == 200, "nothing was lost or half-written")
            #expect(try sqlite(stack.databasePath, "PRAGMA integrity_check") == "ok")
        }

        @Test func writeLockHeldElsewhereGives503WithinTheBusyTimeout() throws {
            let stack = try TestStack(.init(environment: ["OTP_DB_BUSY_TIMEOUT_MS": "500"], workers: 2))
            defer { stack.finish() }
            let holder = try ChildProcess.start(
                "/usr/bin/sqlite3", [stack.databasePath],
                stdin: .bytes(Array("BEGIN IMMEDIATE;\nUPDATE otp_codes SET attempts = attempts;\n.shell sleep 4\nCOMMIT;\n".utf8))
            )
            usleep(300_000)

            let started = Date()
            let answer = stack.send("+14155550230", "verify_phone")
            let waited = Date().timeIntervalSince(started)
            #expect(answer.status == 503)
            #expect(waited < 2.5, "answered after \(waited) s: the busy timeout bounds the wait")
            #expect(stack.statusClient.request("GET", "/health").status == 200, "readers are not blocked by a writer in WAL mode")
            #expect(stack.responderLog.contains("busy (sqlite 5"))
            holder.wait()
            #expect(stack.send("+14155550230", "verify_phone").status == 200)
        }

        @Test func missingOrReadOnlyDatabaseDirectoryStopsTheStart() throws {
            let mount = try TemporaryMount(sizeKilobytes: 256, readOnly: true)
            defer { mount.remove() }
            for directory in ["/nonexistent-otp-dir", mount.path] {
                let attempt = try ChildProcess.run(TestStack.binary, ["serve", "--listen", "127.0.0.1:1"], environment: [
                    "OTP_PEPPER": String(repeating: "p", count: 40), "OTP_DB_PATH": "\(directory)/otp.sqlite3",
                    "OTP_SMS_PROVIDER": "file", "OTP_SMS_FILE": "/dev/null",
                ])
                #expect(attempt.status != 0)
                #expect(attempt.output.contains("OTP_DB_PATH=\(directory)/otp.sqlite3"), "\(attempt.output)")
                #expect(attempt.output.contains("cannot open the database"), "\(attempt.output)")
            }
        }
    }
}
