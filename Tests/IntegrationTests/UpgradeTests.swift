import Foundation
import Testing

extension Integration {
    /// A database written by an older otp-fcgi is migrated in place at start and keeps its data;
    /// one written by a newer otp-fcgi is refused untouched.
    @Suite struct Upgrade {
        static func fixture(version: Int) -> URL {
            TestStack.repositoryRoot.appendingPathComponent("Tests/Fixtures/schema-v\(version).sql")
        }

        /// Loads the v1 fixture and moves its times to the present (the codes in it were issued
        /// when it was made).
        static func loadFixture(into database: String) throws {
            try loadFixture(version: 1, into: database)
        }

        static func loadFixture(version: Int, into database: String) throws {
            try sqliteExec(database, try String(contentsOf: fixture(version: version), encoding: .utf8))
            if version >= 2 {
                // Its boot-clock readings are of the machine and boot that made it: as if from another boot.
                try sqliteExec(database, """
                    UPDATE step_up_tokens SET created_boot_id = 'fixture-boot' WHERE created_boot_id IS NOT NULL;
                    UPDATE otp_codes SET issued_boot_id = 'fixture-boot' WHERE issued_boot_id IS NOT NULL;
                    """)
            }
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
            #expect(try sqlite(stack.databasePath, "PRAGMA user_version") == "7")
            #expect(try sqlite(stack.databasePath, "SELECT count(*) FROM pragma_table_info('otp_codes') WHERE name = 'issued_boot_id'") == "1")
            #expect(try sqlite(stack.databasePath, "PRAGMA integrity_check") == "ok")

            // The code and the token issued before the upgrade still work, once (the token, minted
            // without an action, where a location names none).
            let token = "YKZq4zYiGHlyeYp8kAZDoFNAWdjJjKQXchi9YbRLBKw"
            stack.record(secret: token)
            #expect(stack.protectedAction(token: token, as: .bob, path: "/account/confirm").status == 401)
            #expect(stack.protectedAction(token: token, as: .alice, path: "/account/confirm").status == 200)
            #expect(stack.protectedAction(token: token, as: .alice, path: "/account/confirm").status == 401)
            #expect(stack.verify("+14155550190", "verify_phone", code: "558498").status == 200)
            #expect(stack.verify("+14155550190", "verify_phone", code: "558498").status == 400)
        }

        /// Version 2 step-up codes had no owner: a version 3 verify never finds them (refused
        /// safely: the user asks for a new code). Its tokens had no action: they keep working where
        /// a location names none, until they expire, and are refused where one is named.
        @Test func versionTwoDatabaseIsMigratedRefusingItsStepUpCodesSafely() throws {
            let stack = try TestStack(.init(pepper: "fixture-pepper-0123456789abcdef0123456789", prepareDatabase: { database in
                try Upgrade.loadFixture(version: 2, into: database)
                // alice's phone on record is the one the old step-up code went to.
                try sqliteExec(database, "INSERT INTO users (user_id, phone_e164, phone_verified) VALUES ('alice', '+14155550192', 1)")
            }))
            defer { stack.finish() }
            #expect(try sqlite(stack.databasePath, "PRAGMA user_version") == "7")
            #expect(try sqlite(stack.databasePath, "PRAGMA integrity_check") == "ok")
            #expect(try sqlite(stack.databasePath, "SELECT count(*) FROM otp_codes WHERE purpose = 'step_up' AND owner = ''") == "2")

            #expect(stack.verify("+14155550192", "step_up", code: "408054").status == 400, "a version 2 step-up code is refused")
            let token = "0DepR3arhqoHpy9yEQMpZ5emn8iOm8fO6q8tmTOQA8o"
            stack.record(secret: token)
            #expect(stack.protectedAction(token: token, as: .alice).status == 401, "no action: refused where one is needed, not spent")
            #expect(stack.protectedAction(token: token, as: .alice, path: "/account/confirm").status == 200)
            #expect(stack.protectedAction(token: token, as: .alice, path: "/account/confirm").status == 401)
            #expect(stack.verify("+14155550190", "verify_phone", code: "457982", as: .bob).status == 200)
            // A new step-up goes to alice's phone on record and works.
            #expect(try stack.stepUpToken(phone: "+14155550192").count == 43)
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
