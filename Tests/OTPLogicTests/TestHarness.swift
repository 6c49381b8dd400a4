import Foundation
import Testing
import Logging
@testable import OTPLogic
@testable import OTPSMS
@testable import OTPSystem
import OTPSQLite
@testable import OTPPostgres
import TestSupport

/// An `OTPService` on a real store — a SQLite file in its own temporary directory, or its own
/// schema on the test PostgreSQL server (`store: .postgres`) — with a fixed clock, a recording SMS
/// sender and a deterministic random source. The directory (and the schema) go when the harness does.
final class Harness {
    let directory: TemporaryDirectory
    /// Where the store is: what a second worker opens too.
    let location: StoreLocation
    let clock: FixedClock
    let sender: RecordingSMSSender
    let logs = LogRecorder()
    let rules: RulesConfiguration
    let hasher = SecretHasher(pepper: Secret(Fixture.pepper))
    private(set) var store: (any VersionedStore)!
    private(set) var service: OTPService!

    var dbPath: String { directory.file("otp.sqlite3") }

    /// `immediateSender`: the sender says it delivers locally and at once (like the file sink), so
    /// the service sends inside one transaction instead of reserving first.
    init(
        rules: RulesConfiguration = RulesConfiguration(), templates: MessageTemplates = Fixture.templates,
        random: any RandomNumberGenerator = SplitMix64(seed: 1), bootID: String? = nil, immediateSender: Bool = false,
        stepUp: StepUpConfiguration = Fixture.stepUp, firewall: FirewallConfiguration = Fixture.firewall,
        classifier: FixedPhoneNumberClassifier = FixedPhoneNumberClassifier(), metrics: OTPMetrics = OTPMetrics(),
        deliveryCallbacks: DeliveryCallbackConfiguration = DeliveryCallbackConfiguration(), providerName: String = "recording",
        store kind: StoreKind = .sqlite
    ) throws {
        sender = RecordingSMSSender(providerName: providerName)
        directory = try TemporaryDirectory()
        location = try StoreLocation.make(kind, in: directory)
        sender.deliversImmediately = immediateSender
        clock = FixedClock(Fixture.start, bootID: bootID)
        self.rules = rules
        store = try location.open(clock: clock)
        service = OTPService(
            rules: rules, templates: templates, stepUp: stepUp, firewall: firewall, classifier: classifier, hasher: hasher, store: store, sender: sender, clock: clock,
            generator: SecretGenerator(random: random), logger: logs.logger(), metrics: metrics, deliveryCallbacks: deliveryCallbacks
        )
    }

    deinit {
        service = nil
        store = nil
        location.remove()
        directory.remove()
    }

    /// A new handler over the harness's service (handlers hold no state of their own).
    var handler: APIHandler { APIHandler(service: service, logger: logs.logger()) }

    /// Another connection and service on the same file, as a second worker would have.
    static func worker(
        path: String, rules: RulesConfiguration, clock: FixedClock, logs: LogRecorder, seed: UInt64, busyTimeoutMilliseconds: Int = 30_000,
        firewall: FirewallConfiguration = Fixture.firewall, classifier: FixedPhoneNumberClassifier = FixedPhoneNumberClassifier()
    ) throws -> OTPService {
        try worker(
            location: .sqlite(path: path), rules: rules, clock: clock, logs: logs, seed: seed, busyTimeoutMilliseconds: busyTimeoutMilliseconds,
            firewall: firewall, classifier: classifier
        )
    }

    /// Another connection and service on the same store, as a second worker (or another node) would have.
    static func worker(
        location: StoreLocation, rules: RulesConfiguration, clock: FixedClock, logs: LogRecorder, seed: UInt64, busyTimeoutMilliseconds: Int = 30_000,
        firewall: FirewallConfiguration = Fixture.firewall, classifier: FixedPhoneNumberClassifier = FixedPhoneNumberClassifier()
    ) throws -> OTPService {
        let store = try location.open(clock: clock, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        return OTPService(
            rules: rules, templates: Fixture.templates, stepUp: Fixture.stepUp, firewall: firewall, classifier: classifier, hasher: SecretHasher(pepper: Secret(Fixture.pepper)), store: store,
            sender: RecordingSMSSender(), clock: clock, generator: SecretGenerator(random: SplitMix64(seed: seed)), logger: logs.logger()
        )
    }

    @discardableResult
    func send(
        _ phone: PhoneNumber? = Fixture.phone, _ purpose: Purpose = .verifyPhone, user: String? = nil, action: String? = nil,
        subject: String? = nil
    ) throws(OTPError) -> SendOutcome {
        try service.send(CodeRequest(purpose: purpose, phone: phone, principal: user, action: action, subject: subject)).outcome
    }

    @discardableResult
    func verify(
        _ code: String, _ phone: PhoneNumber? = Fixture.phone, _ purpose: Purpose = .verifyPhone, user: String? = nil,
        action: String? = nil, subject: String? = nil, stepUpToken: String? = nil
    ) throws(OTPError) -> VerifyOutcome {
        try service.verify(
            CodeRequest(purpose: purpose, phone: phone, principal: user, action: action, subject: subject), code: code, stepUpToken: stepUpToken
        )
    }

    /// Records `phone` as `user`'s verified phone, straight in the store (as a verify_phone would).
    func givePhone(_ phone: PhoneNumber = Fixture.phone, to user: String) throws {
        try store.writeTransaction { transaction throws(StoreError) in
            try transaction.markPhoneVerified(userID: user, phone: phone, at: clock.now())
        }
    }

    /// Sends a step-up code to the user's phone on record (alice's fixture phone when the user has
    /// none yet) and verifies it; returns the token.
    func stepUpToken(user: String = "alice", action: String? = nil) throws -> String {
        if try store.verifiedPhone(userID: user) == nil { try givePhone(to: user) }
        try send(nil, .stepUp, user: user, action: action)
        let code = try #require(lastCode)
        guard case .stepUpGranted(let token) = try verify(code, nil, .stepUp, user: user, action: action) else {
            throw SQLiteTestError(message: "step-up verification did not grant a token")
        }
        return token
    }

    /// The code in the last message the provider accepted.
    var lastCode: String? { sender.delivered.last.flatMap { code(in: $0.body) } }

    /// The code in an SMS body.
    func code(in body: String) -> String? { SMSCode.extract(from: body, length: rules.codeLength) }

    /// A code of the same length that differs from `code` in every digit.
    func wrongCode(for code: String) -> String {
        String(code.map { Character(String(($0.wholeNumberValue! + 1) % 10)) })
    }

    /// Rows of a query on the SQLite file (SQLite harnesses only).
    func rows(_ sql: String) throws -> [[String?]] { try SQLiteFile.query(dbPath, sql) }

    /// The SQLite store itself, for the tests of what only it does (group commit, the firewall ledger).
    var sqliteStore: SQLiteOTPStore { store as! SQLiteOTPStore }

    /// The stored record of (phone, purpose), whoever owns it, read through the store's port.
    func storedCode(_ phone: PhoneNumber = Fixture.phone, _ purpose: Purpose = .verifyPhone) throws -> StoredCode? {
        var found: CodeRecord?
        let phoneHash = hasher.phoneHash(phone)
        try store.forEachRecord(codes: { record in
            if record.phoneHash == phoneHash && record.purpose == purpose && found == nil { found = record }
        }, tokens: { _ in })
        return found.map { record in
            StoredCode(
                attempts: Int64(record.attempts), sendCount: Int64(record.sendCount), sendWindowStart: record.sendWindowStart,
                lastSentAt: record.lastSentAt, expiresAt: record.expiresAt, issuedAt: record.issuedAt, codeHash: record.codeHash,
                pendingCodeHash: record.pendingCodeHash, verifiedAt: record.verifiedAt
            )
        }
    }
}

/// The columns of one `otp_codes` row the tests look at.
struct StoredCode: Equatable {
    var attempts: Int64?
    var sendCount: Int64?
    var sendWindowStart: Int64?
    var lastSentAt: Int64?
    var expiresAt: Int64?
    var issuedAt: Int64?
    var codeHash: String?
    var pendingCodeHash: String?
    var verifiedAt: Int64?
}

extension RulesConfiguration {
    /// Defaults with the given changes.
    static func with(_ change: (inout RulesConfiguration) -> Void) -> RulesConfiguration {
        var rules = RulesConfiguration()
        change(&rules)
        return rules
    }
}

extension Harness {
    /// A request as nginx would hand it over for `POST path` with a JSON body.
    func post(_ path: String, _ json: String, contentType: String? = "application/json", principal: Principal = .anonymous) -> HTTPResponse {
        handler.respond(to: HTTPRequest(
            method: "POST", documentURI: path, contentType: contentType, body: .complete(Array(json.utf8)), principal: principal
        ))
    }

    /// The step-up check nginx's `auth_request` makes, at a location that names `action`.
    func stepUpCheck(token: String?, principal: Principal, action: String? = nil, subject: String? = nil) -> HTTPResponse {
        handler.respond(to: HTTPRequest(
            method: "GET", documentURI: "/protected/cancel", endpoint: "step-up-check", principal: principal, stepUpToken: token,
            stepUpAction: action, stepUpSubject: subject
        ))
    }
}

/// JSON bodies for the two public endpoints.
enum RequestJSON {
    static func send(_ phone: String = "+14155550123", _ purpose: String = "verify_phone") -> String {
        #"{"phone_e164": "\#(phone)", "purpose": "\#(purpose)"}"#
    }

    static func verify(_ code: String, _ phone: String = "+14155550123", _ purpose: String = "verify_phone") -> String {
        #"{"phone_e164": "\#(phone)", "purpose": "\#(purpose)", "code": "\#(code)"}"#
    }
}
