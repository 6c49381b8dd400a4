import Foundation
import Testing

extension Integration {
    /// Counters and one-time use stay exact with many requests at once on many workers.
    @Suite struct Concurrency {
        @Test(arguments: StackDatabase.all) func fiftyParallelWrongGuessesNeverExceedMaxAttempts(database: StackDatabase) throws {
            let stack = try TestStack(.init(workers: 16, database: database))
            defer { stack.finish() }
            let phone = "+14155550140"
            #expect(stack.send(phone, "verify_phone").status == 200)
            let code = try #require(stack.lastCode(to: phone, purpose: "verify_phone"))
            let wrong = (0..<50).map { String(format: "%06d", (Int(code)! + 1 + $0) % 1_000_000) }

            let statuses = inParallel(50) { index in stack.verify(phone, "verify_phone", code: wrong[index]).status }
            #expect(statuses.allSatisfy { $0 == 400 })
            #expect(try stack.query("SELECT attempts FROM otp_codes") == "3")
            // Exactly three guesses reached the comparison; the other 47 were refused unread.
            let log = stack.responderLog
            #expect(log.components(separatedBy: "reason=wrong_code").count - 1 == 3)
            #expect(log.components(separatedBy: "reason=locked_out").count - 1 == 47)
            // Locked out: even the right code fails now.
            #expect(stack.verify(phone, "verify_phone", code: code).status == 400)
        }

        @Test(arguments: StackDatabase.all) func oneTokenPresentedFiftyTimesAtOnceAdmitsExactlyOnce(database: StackDatabase) throws {
            let stack = try TestStack(.init(workers: 16, database: database))
            defer { stack.finish() }
            let token = try stack.stepUpToken(phone: "+14155550141")
            let statuses = inParallel(50) { _ in stack.protectedAction(token: token).status }
            #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 401 }.count == 49, "\(statuses)")
            #expect(try stack.query("SELECT count(*) FROM step_up_tokens WHERE used_at IS NOT NULL") == "1")
        }
    }
}
