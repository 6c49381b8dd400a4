/// What the rules need from storage. Every read-modify-write runs inside `writeTransaction`,
/// so counters and one-time use stay exact across threads and processes sharing the database.
public protocol OTPStore: AnyObject {
    /// Runs `body` in one write transaction (SQLite `BEGIN IMMEDIATE` … `COMMIT`); rolls back if it throws.
    func writeTransaction<T>(_ body: (any OTPStoreTransaction) throws -> T) throws -> T

    /// Marks the token used if it is unused, unexpired and issued to `userID`, in one conditional
    /// update. True when this call consumed it: of N concurrent callers exactly one gets true.
    /// With `boot`, a token older than `lifetimeSeconds` on the boot-time clock is expired too.
    func consumeStepUpToken(
        hash: String, userID: String, at now: UnixTime, boot: BootClockReading?, lifetimeSeconds: Int64
    ) throws(StoreError) -> Bool

    /// Why a token was refused, for the log only. Read after the fact, so only indicative.
    func stepUpTokenRefusal(hash: String, userID: String, at now: UnixTime) throws(StoreError) -> StepUpRefusal

    /// Succeeds when the database answers a read.
    func ping() throws(StoreError)

    /// Deletes rows that no longer carry any state: expired tokens, and code rows whose code,
    /// cooldown, hourly window and in-flight send are all over.
    func purgeExpired(at now: UnixTime, rules: RulesConfiguration) throws(StoreError) -> PurgeCounts
}

/// The operations available inside one write transaction.
public protocol OTPStoreTransaction {
    func codeRecord(phoneHash: String, purpose: Purpose) throws(StoreError) -> CodeRecord?
    func save(_ record: CodeRecord) throws(StoreError)
    /// Stores only `attempts` and `verifiedAt` of a record that exists: what a verification
    /// changes. Touches one page instead of the row and its index entries.
    func saveVerificationState(_ record: CodeRecord) throws(StoreError)
    func insertStepUpToken(
        hash: String, userID: String, createdAt: UnixTime, expiresAt: UnixTime, createdBoot: BootClockReading?
    ) throws(StoreError)
    /// Records a verified phone: the user's `users` row (when there is a user) and every
    /// `notification_preferences` row with that number.
    func markPhoneVerified(userID: String?, phone: PhoneNumber, at now: UnixTime) throws(StoreError)
}

/// Why a step-up token was refused (log only; the client sees one answer).
public enum StepUpRefusal: String, Sendable {
    case unknown
    case expired
    case alreadyUsed = "already_used"
    case otherUser = "other_user"
    /// Consumed by a concurrent request between the update and this read, or past its lifetime on
    /// the boot-time clock though not on the wall clock.
    case raced
}

/// How many rows a purge removed.
public struct PurgeCounts: Sendable, Equatable {
    public var codes: Int
    public var tokens: Int

    public init(codes: Int, tokens: Int) {
        self.codes = codes
        self.tokens = tokens
    }
}

/// A storage failure, classified by what the caller can do about it.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Another connection held the write lock longer than the busy timeout.
        case busy
        /// The disk or the database is full.
        case full
        /// The file cannot be written (read-only file or directory, permissions).
        case readOnly = "read_only"
        /// The file cannot be opened.
        case cannotOpen = "cannot_open"
        case corrupt
        /// The schema is newer than this binary knows.
        case schemaTooNew = "schema_too_new"
        case other
    }

    public let kind: Kind
    /// SQLite's extended result code, when the failure came from SQLite.
    public let code: Int32
    /// SQLite's message and the SQL text; never a bound value.
    public let message: String

    public init(kind: Kind, code: Int32, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { "\(kind.rawValue) (sqlite \(code)): \(message)" }
}
