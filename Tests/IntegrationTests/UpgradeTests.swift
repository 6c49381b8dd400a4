import Foundation
import Testing

extension Integration {
    /// A database written by an older otp-fcgi is migrated in place at start and keeps its data;
    /// one written by a newer otp-fcgi is refused untouched.
    @Suite struct Upgrade {
        static let fixture = TestStack.repositoryRoot.appendingPathComponent("Tests/Fixtures/schema-v1.sql")

        /// Loads the v1 fixture and moves its times to the present (the codes in it were issued
        /// when it was made).
        static func loadFixture(into database: String) throws {
            try sqliteExec(database, try String(contentsOf: fixture, encoding: .utf8))
            let shift = "strftime('%s','now') - issued_at"
            try sqliteExec(database, """
                UPDATE step_up_tokens SET expires_at = expires_at + (strftime('%s','now') - created_at), created_at = strftime('%s','now');
                UPDATE otp_codes SET expires_at = expires_at + (\(shift)), send_window_start = send_window_start + (\(shift)),
                    last_sent_at = last_sent_at + (\(shift)), verified_at = verified_at + (\(shift)), issued_at = strftime('%s','now');
                """)
        }

        @Test func versionOneDatabaseIsMigratedInPlaceKeepingItsCodesAndTokens() throws {
            let stack = try TestStack(.init(pepper: "fixture-pepper-0123456789abcdef0123456789", prepareDatabase: Upgrade.loadFixture))
            defer { stack.finish() }
            #expect(try sqlite(stack.databasePath, "PRAGMA user_version") == "2")
            #expect(try sqlite(stack.databasePath, "SELECT count(*) FROM pragma_table_info('otp_codes') WHERE name = 'issued_boot_id'") == "1")
            #expect(try sqlite(stack.databasePath, "PRAGMA integrity_check") == "ok")

            // The code and the token issued before the upgrade still work, once.
            let token = "YKZq4zYiGHlyeYp8kAZDoFNAWdjJjKQXchi9YbRLBKw"
            stack.record(secret: token)
            #expect(stack.protectedAction(token: token, as: .bob).status == 401)
            #expect(stack.protectedAction(token: token, as: .alice).status == 200)
            #expect(stack.protectedAction(token: token, as: .alice).status == 401)
            #expect(stack.verify("+14155550190", "verify_phone", code: "558498").status == 200)
            #expect(stack.verify("+14155550190", "verify_phone", code: "558498").status == 400)
        }

        @Test func newerSchemaIsRefusedAndLeftUntouched() throws {
            let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("otp-downgrade-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = directory.appendingPathComponent("otp.sqlite3").path
            try Upgrade.loadFixture(into: database)
            try sqliteExec(database, "PRAGMA journal_mode=DELETE; PRAGMA user_version=99;")
            let before = try Data(contentsOf: URL(fileURLWithPath: database))

            let attempt = try ChildProcess.run(TestStack.binary, ["serve", "--listen", "unix:\(directory.path)/otp.sock"], environment: [
                "OTP_PEPPER": String(repeating: "p", count: 40), "OTP_DB_PATH": database,
                "OTP_SMS_PROVIDER": "file", "OTP_SMS_FILE": directory.appendingPathComponent("sms.jsonl").path,
            ])

            #expect(attempt.status != 0)
            #expect(attempt.output.contains("OTP_DB_PATH"))
            #expect(attempt.output.contains("newer than this otp-fcgi knows"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: database)) == before, "the database must not be touched")
            #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/otp.sock"))
        }
    }
}
