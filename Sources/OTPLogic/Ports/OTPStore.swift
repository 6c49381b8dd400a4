/// What the rules need from storage: fetch and write, no rule of its own. Every read-modify-write
/// runs inside `writeTransaction`, so counters and one-time use stay exact across threads and
/// processes sharing the database.
public protocol OTPStore: AnyObject {
    /// Runs `body` in one write transaction; rolls it back if `body` throws. A `body` that wants
    /// to abort without an error returns before writing anything.
    func writeTransaction<T>(_ body: (any OTPStoreTransaction) throws(StoreError) -> T) throws(StoreError) -> T

    /// Marks the token used if it is issued to `userID` for exactly `action` (nil: none), not used
    /// yet and within `bounds` (`StepUpTokenPolicy.admissionBounds`), in one conditional write:
    /// of N concurrent callers exactly one gets true. Any other token is left untouched.
    func consumeStepUpToken(hash: String, userID: String, action: String?, within bounds: StepUpTokenBounds) throws(StoreError) -> Bool

    /// The stored token, for the reason a refusal is logged with.
    func stepUpToken(hash: String) throws(StoreError) -> StepUpTokenRecord?

    /// The user's verified phone (`users.phone_verified = 1`), if any.
    func verifiedPhone(userID: String) throws(StoreError) -> PhoneNumber?

    /// Forgets the user's verified phone (support desk: a lost phone). True when there was one.
    func resetPhone(userID: String) throws(StoreError) -> Bool

    /// Succeeds when the database answers a read.
    func ping() throws(StoreError)

    /// Deletes the rows `RetentionPolicy` says carry no state any more.
    func purge(_ cutoffs: PurgeCutoffs) throws(StoreError) -> PurgeCounts

    /// Calls `visit` with every stored code record and every stored step-up token (for counts).
    func forEachRecord(codes: (CodeRecord) -> Void, tokens: (StepUpTokenRecord) -> Void) throws(StoreError)

    /// Every SMS firewall record (for `otp-fcgi firewall status`).
    func firewallRecords() throws(StoreError) -> [FirewallRecord]

    // Delivery status (v2): the messages providers accepted, and what their callbacks said.

    /// Every stored message accepted at or after `since`, for the delivery rate in `otp-fcgi stats`.
    func smsDeliveries(sentSince since: UnixTime) throws(StoreError) -> [SMSDeliveryRecord]

}

/// The operations available inside one write transaction.
public protocol OTPStoreTransaction {
    func codeRecord(phoneHash: String, purpose: Purpose, owner: String) throws(StoreError) -> CodeRecord?
    func save(_ record: CodeRecord) throws(StoreError)
    /// Stores only `attempts` and `verifiedAt` of a record that exists: what a verification
    /// changes. Touches one page instead of the row and its index entries.
    func saveVerificationState(_ record: CodeRecord) throws(StoreError)
    func insertStepUpToken(hash: String, _ token: StepUpTokenRecord) throws(StoreError)
    /// Records a verified phone: the user's `users` row (when there is a user) and every
    /// `notification_preferences` row with that number.
    func markPhoneVerified(userID: String?, phone: PhoneNumber, at now: UnixTime) throws(StoreError)
    /// `OTPStore.verifiedPhone`, inside the transaction.
    func verifiedPhone(userID: String) throws(StoreError) -> PhoneNumber?
    /// `OTPStore.stepUpToken`, inside the transaction.
    func stepUpToken(hash: String) throws(StoreError) -> StepUpTokenRecord?
    /// The firewall records of `keys` that exist (no record: nothing counted yet). Callers read
    /// the code record (if any) before the firewall's, so stores that lock rows lock them in one order.
    func firewallRecords(_ keys: [BudgetKey]) throws(StoreError) -> [FirewallRecord]
    /// Writes what the rules changed: the changed records, or (a store that shares them between
    /// processes as a log) the changes in their order.
    func saveFirewallRecords(_ records: FirewallRecords) throws(StoreError)
    /// `OTPStore.consumeStepUpToken`, inside the transaction.
    func consumeStepUpToken(hash: String, userID: String, action: String?, within bounds: StepUpTokenBounds) throws(StoreError) -> Bool

    // Delivery status (v2).

    /// Records a message a provider accepted. A second record with the same key replaces the
    /// first: the same reference, or (a record without one) the same provider and message id.
    func insertSMSDelivery(_ record: SMSDeliveryRecord) throws(StoreError)
    /// The stored message sent with `reference`, if any.
    func smsDelivery(reference: DeliveryReference) throws(StoreError) -> SMSDeliveryRecord?
    /// The stored message `messageID` of `provider` that has no reference (stored before there
    /// were references), if any. Only those have an index by message id.
    func smsDelivery(provider: String, messageID: String) throws(StoreError) -> SMSDeliveryRecord?
    /// Stores `status`, `statusAt` and `errorCode` of a message that is stored, found by its key.
    func saveSMSDeliveryStatus(_ record: SMSDeliveryRecord) throws(StoreError)
}

/// How many rows a purge removed.
public struct PurgeCounts: Sendable, Equatable {
    public var codes: Int
    public var tokens: Int
    public var deliveries: Int

    public init(codes: Int, tokens: Int, deliveries: Int = 0) {
        self.codes = codes
        self.tokens = tokens
        self.deliveries = deliveries
    }
}

/// A storage failure, classified by what the caller can do about it. The store's own detail (its
/// result code, message and statement) is for the log only and never carries a bound value.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// Another connection held the write lock longer than the busy timeout.
        case busy
        /// The disk or the database is full.
        case full
        /// The file cannot be written (read-only file or directory, permissions).
        case readOnly = "read_only"
        /// The database cannot be opened or reached.
        case cannotOpen = "cannot_open"
        /// The database server was reachable and is not now (connection lost, server shutting
        /// down or starting): the store reconnects with back-off, requests meanwhile answer 503.
        case unreachable
        case corrupt
        /// The schema is newer than this binary knows.
        case schemaTooNew = "schema_too_new"
        case other
    }

    public let kind: Kind
    /// Where it came from and what the store said, e.g. `(sqlite 13): database or disk is full in: …`.
    public let detail: String

    public init(kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue) \(detail)" }
}
