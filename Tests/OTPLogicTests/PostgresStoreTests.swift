import Foundation
import MetricsTestKit
import Testing
@testable import OTPLogic
@testable import OTPPostgres
import OTPSystem
import TestSupport

/// What only the PostgreSQL store has: the URL's secrets, SQLSTATE classes, a lost connection
/// and its back-off. (Everything the rules see is in the store contract.)
@Suite("PostgreSQL store")
struct PostgresStoreTests {
    @Test func theURLIsShownWithoutItsPassword() {
        #expect(PostgresConfiguration.redact("postgresql://otp:s3cret@db1.example:5432/otp?sslmode=require") == "postgresql://otp:***@db1.example:5432/otp?sslmode=require")
        #expect(PostgresConfiguration.redact("postgres://db1/otp?user=otp&password=s3cret&sslmode=verify-full") == "postgres://db1/otp?user=otp&password=***&sslmode=verify-full")
        #expect(PostgresConfiguration.redact("postgresql://otp@db1/otp") == "postgresql://otp@db1/otp")
        #expect(PostgresConfiguration.redact("postgresql:///otp?host=/run/postgresql") == "postgresql:///otp?host=/run/postgresql")
        #expect(PostgresConfiguration.redact("host=db1 password=s3cret") == "(not a URL)")
        let configuration = PostgresConfiguration(url: Secret("postgresql://otp:s3cret@db1/otp"))
        #expect(configuration.scrub("FATAL: password authentication failed near s3cret") == "FATAL: password authentication failed near ***")
        #expect(!"\(configuration)".contains("s3cret"))
        #expect(DatabaseConfiguration.postgres(configuration).displayName == "OTP_DB_URL=postgresql://otp:***@db1/otp")
    }

    @Test func otpDBURLSelectsPostgreSQLAndABadOneIsNamedWithoutItsPassword() throws {
        let url = "postgresql://otp:s3cret@db1.example/otp?sslmode=verify-full"
        let configuration = try Configuration.load(from: Environment.with(Environment.minimal, [
            "OTP_DB_URL": url, "OTP_DB_CONNECT_TIMEOUT_SECONDS": "3", "OTP_DB_STATEMENT_TIMEOUT_MS": "2500",
        ]))
        #expect(configuration.database == .postgres(PostgresConfiguration(url: Secret(url), connectTimeoutSeconds: 3, statementTimeoutMilliseconds: 2500)))
        #expect(try Configuration.load(from: Environment.minimal).database == DatabaseConfiguration(path: Configuration.defaultDatabasePath))

        let both = try #require(Environment.error(Environment.with(Environment.minimal, ["OTP_DB_URL": url, "OTP_DB_PATH": "/tmp/x.sqlite3"])))
        #expect(both.problems.count == 1 && both.problems[0].hasPrefix("OTP_DB_URL: and OTP_DB_PATH are both set"))
        let wrong = try #require(Environment.error(Environment.with(Environment.minimal, ["OTP_DB_URL": "mysql://otp:s3cret@db1/otp"])))
        #expect(wrong.problems == ["OTP_DB_URL: must be a postgresql:// URL (e.g. postgresql://otp@db1.example/otp), not mysql://otp:***@db1/otp"])
        let notAURL = try #require(Environment.error(Environment.with(Environment.minimal, ["OTP_DB_URL": "host=db1 password=s3cret"])))
        #expect(!notAURL.description.contains("s3cret"))
    }

    @Test(.enabled(if: StoreKind.testServerURL != nil)) func itCountsNoBatchesOfItsOwn() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let location = try StoreLocation.make(.postgres, in: directory)
        defer { location.remove() }
        // Each request commits on its own connection: /metrics shows no group-commit counters for it.
        #expect(try location.open(clock: SystemClock()).writeBatches == nil)
    }

    @Test func sqlStateClassesAreThePortsKinds() {
        let kinds: [String?: StoreError.Kind] = [
            "08006": .unreachable, "08001": .unreachable, "57P01": .unreachable, "57P03": .unreachable, nil: .unreachable,
            "40001": .busy, "40P01": .busy, "55P03": .busy, "57014": .busy, "53300": .busy,
            "53100": .full, "25006": .readOnly, "28P01": .cannotOpen, "3D000": .cannotOpen, "XX001": .corrupt,
            "23505": .other, "42P01": .other,
        ]
        for (state, kind) in kinds {
            #expect(PostgresConnection.kind(ofSQLState: state) == kind, "\(state ?? "no SQLSTATE")")
        }
    }

    @Test func aServerThatCannotBeReachedAtStartIsCannotOpenAndNamesNoPassword() {
        let configuration = PostgresConfiguration(url: Secret("postgresql://otp:s3cret@/otp?host=/nonexistent-otp-socket-dir"), connectTimeoutSeconds: 1)
        #expect {
            _ = try PostgresOTPStore(configuration: configuration, clock: FixedClock())
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.kind == .cannotOpen && !error.detail.contains("s3cret") && error.detail.contains("postgresql://otp:***@")
        }
    }

    @Test func reconnectionBacksOffFromFiftyMillisecondsToFiveSeconds() {
        var backoff = ReconnectBackoff()
        #expect(backoff.allowsAttempt(at: 0))
        var delays: [UInt64] = []
        var now: UInt64 = 1_000_000_000
        for _ in 0..<10 {
            backoff.failed(at: now)
            #expect(!backoff.allowsAttempt(at: now))
            delays.append(backoff.millisecondsToWait(at: now))
            now = backoff.notBefore
            #expect(backoff.allowsAttempt(at: now))
        }
        #expect(delays == [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000])
        backoff.succeeded()
        #expect(backoff.allowsAttempt(at: 0) && backoff.failures == 0)
    }

    @Test(.enabled(if: StoreKind.testServerURL != nil, "needs OTP_TEST_PG_URL"))
    func aLostConnectionIsReplacedOnTheNextUseAndARefusingServerIsRetriedOnlyAfterTheBackOff() throws {
        let database = "otp_reconnect_" + UUID().uuidString.prefix(8).lowercased()
        try PostgresTestServer.execute("CREATE DATABASE \(database)")
        defer { _ = try? PostgresTestServer.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
        let base = try #require(StoreKind.testServerURL)
        let url = base.replacingOccurrences(of: "/otp_test", with: "/\(database)")
        let clock = FixedClock()
        let logs = LogRecorder()
        let metrics = TestMetrics()
        let store = try PostgresOTPStore(configuration: PostgresConfiguration(url: Secret(url)), clock: clock)
        let service = OTPService(
            rules: RulesConfiguration(), templates: Fixture.templates, stepUp: Fixture.stepUp, firewall: Fixture.firewall,
            classifier: FixedPhoneNumberClassifier(), hasher: SecretHasher(pepper: Secret(Fixture.pepper)), store: store,
            sender: RecordingSMSSender(), clock: clock, generator: SecretGenerator(random: SplitMix64(seed: 1)), logger: logs.logger(),
            metrics: OTPMetrics(factory: metrics)
        )
        func terminateOurSessions() throws {
            try PostgresTestServer.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database)' AND pid <> pg_backend_pid()")
        }

        // The server ended the session (a restart, a failover): the next use reconnects at once.
        try terminateOurSessions()
        #expect(service.isHealthy())

        // The server refuses new sessions: unhealthy, and until the back-off allows no new attempt is made.
        try PostgresTestServer.execute("ALTER DATABASE \(database) ALLOW_CONNECTIONS false")
        try terminateOurSessions()
        #expect(!service.isHealthy())
        let failed = try #require(#require(throws: StoreError.self) { try store.ping() })
        #expect(failed.kind == .unreachable)
        #expect(failed.detail.contains("next attempt in"), "no connection attempt before the back-off: \(failed.detail)")
        #expect(try metrics.expectCounter("otp_db_errors_total", [("kind", "unreachable")]).totalValue >= 1)
        #expect(failure { _ = try service.send(CodeRequest(purpose: .verifyPhone, phone: Fixture.phone)) } == .storageUnavailable(.unreachable))

        // The server takes sessions again; once the back-off has passed on the store's clock, it serves.
        try PostgresTestServer.execute("ALTER DATABASE \(database) ALLOW_CONNECTIONS true")
        #expect(throws: StoreError.self) { try store.ping() }
        clock.sleep(milliseconds: 5000)
        #expect(service.isHealthy())
        #expect(try service.send(CodeRequest(purpose: .verifyPhone, phone: Fixture.phone)).outcome == .sent)
    }

    /// Migration 2 keys deliveries by our reference: the rows of a version 1 database keep every
    /// value and are still found by (and unique by) their message id; new rows go by reference.
    @Test(.enabled(if: StoreKind.testServerURL != nil, "needs OTP_TEST_PG_URL"))
    func versionOneDeliveriesStayFindableByMessageIDAndNewOnesGoByReference() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let location = try StoreLocation.make(.postgres, in: directory)
        defer { location.remove() }
        guard case .postgres(let url, let schema) = location else { return }
        let columns = "provider, message_id, purpose, sent_at, status, status_at, error_code"
        try PostgresTestServer.execute(PostgresSchema.m0001Initial.sql + """
            ;CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
            INSERT INTO schema_version (version) VALUES (1);
            INSERT INTO sms_deliveries (\(columns)) VALUES
                ('twilio', 'SM1', 'verify_phone', 110, 'failed', 115, '30003'), ('vonage', 'V2', 'step_up', 120, 'sent', NULL, NULL);
            """, schema: schema)
        let before = try PostgresTestServer.execute("SELECT \(columns) FROM sms_deliveries ORDER BY message_id", schema: schema)

        let store = try PostgresOTPStore(configuration: PostgresConfiguration(url: Secret(url)), clock: FixedClock())
        #expect(store.migration.from == 1 && store.migration.to == PostgresOTPStore.currentSchemaVersion)
        #expect(try PostgresTestServer.execute("SELECT \(columns) FROM sms_deliveries ORDER BY message_id", schema: schema) == before)
        let reference = try #require(DeliveryReference("019ab697e87b0123456789abcdef"))
        let fresh = SMSDeliveryRecord(provider: "twilio", messageID: "SM3", purpose: .stepUp, sentAt: 130, reference: reference)
        let found = try store.writeTransaction { transaction throws(StoreError) in
            try transaction.insertSMSDelivery(fresh)
            return (try transaction.smsDelivery(provider: "twilio", messageID: "SM1"), try transaction.smsDelivery(reference: reference))
        }
        #expect(found.0 == SMSDeliveryRecord(provider: "twilio", messageID: "SM1", purpose: .verifyPhone, sentAt: 110, status: .failed, statusAt: 115, errorCode: "30003"))
        #expect(found.1 == fresh)
        #expect(throws: (any Error).self) {
            try PostgresTestServer.execute("INSERT INTO sms_deliveries (\(columns)) VALUES ('twilio', 'SM1', 'step_up', 1, 'sent', NULL, NULL)", schema: schema)
        }
    }

    @Test(.enabled(if: StoreKind.testServerURL != nil, "needs OTP_TEST_PG_URL"))
    func checkConfigInspectsReadOnlyAndRefusesANewerSchema() throws {
        let h = try Harness(store: .postgres)
        guard case .postgres(let url, _) = h.location else { return }
        let configuration = PostgresConfiguration(url: Secret(url))
        #expect(PostgresInspection.inspect(configuration, clock: FixedClock()) == [.note("database \(configuration.redactedURL) is reachable, schema version \(PostgresOTPStore.currentSchemaVersion)")])
        try h.execute("INSERT INTO schema_version (version) VALUES (\(PostgresOTPStore.currentSchemaVersion + 1))")
        let findings = PostgresInspection.inspect(configuration, clock: FixedClock())
        #expect(findings.count == 1)
        if case .problem(let text) = findings.first { #expect(text.contains("newer than this otp-fcgi knows")) } else { Issue.record("\(findings)") }

        let empty = try Harness(store: .postgres)
        guard case .postgres(let emptyURL, let schema) = empty.location else { return }
        try PostgresTestServer.execute("DROP SCHEMA \(schema) CASCADE; CREATE SCHEMA \(schema)")
        let fresh = PostgresInspection.inspect(PostgresConfiguration(url: Secret(emptyURL)), clock: FixedClock())
        #expect(fresh.count == 1 && "\(fresh)".contains("has no otp-fcgi schema yet"))
        #expect(try empty.query("SELECT count(*) FROM pg_tables WHERE schemaname = '\(schema)'") == [["0"]], "nothing was created")
    }
}
