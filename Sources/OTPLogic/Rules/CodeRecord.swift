/// The stored state of one (phone, purpose, owner): the live code, its counters and a send in
/// flight. One row of `otp_codes`; it holds hashes only, never the phone or the code.
public struct CodeRecord: Sendable, Equatable {
    public var phoneHash: String
    public var purpose: Purpose
    /// The principal a `step_up` code belongs to (its counters are this user's on this phone);
    /// empty for `verify_phone`, whose codes belong to the phone.
    public var owner: String
    /// The step-up action the live code approves (its SMS said so); nil for none.
    public var action: String?
    /// The phone's region (libphonenumber), for the country's tripwire when the code is verified.
    public var country: String?
    /// Hash of the code the user was last sent; nil before the first delivered send.
    public var codeHash: String?
    public var issuedAt: UnixTime?
    /// The boot-time clock when the code was issued: bounds its life even if the wall clock steps.
    public var issuedBoot: BootClockReading?
    public var expiresAt: UnixTime
    /// Wrong guesses against this (phone, purpose), kept across resends.
    public var attempts: Int
    public var sendCount: Int
    public var sendWindowStart: UnixTime?
    public var lastSentAt: UnixTime?
    /// Set when the current code was used; a used code never verifies again.
    public var verifiedAt: UnixTime?
    /// Hash of a code handed to the SMS provider and not yet confirmed delivered; it never verifies.
    public var pendingCodeHash: String?
    public var pendingSince: UnixTime?
    /// The action of the code in flight.
    public var pendingAction: String?

    public init(
        phoneHash: String, purpose: Purpose, owner: String = "", action: String? = nil, country: String? = nil, codeHash: String? = nil,
        issuedAt: UnixTime? = nil,
        issuedBoot: BootClockReading? = nil, expiresAt: UnixTime = 0, attempts: Int = 0, sendCount: Int = 0, sendWindowStart: UnixTime? = nil,
        lastSentAt: UnixTime? = nil, verifiedAt: UnixTime? = nil, pendingCodeHash: String? = nil,
        pendingSince: UnixTime? = nil, pendingAction: String? = nil
    ) {
        self.phoneHash = phoneHash
        self.purpose = purpose
        self.owner = owner
        self.action = action
        self.country = country
        self.codeHash = codeHash
        self.issuedAt = issuedAt
        self.issuedBoot = issuedBoot
        self.expiresAt = expiresAt
        self.attempts = attempts
        self.sendCount = sendCount
        self.sendWindowStart = sendWindowStart
        self.lastSentAt = lastSentAt
        self.verifiedAt = verifiedAt
        self.pendingCodeHash = pendingCodeHash
        self.pendingSince = pendingSince
        self.pendingAction = pendingAction
    }

    /// The record as the rules see it at `now`: once `expiresAt` has passed with no newer send, the
    /// code is gone and the failed-attempt count (and so any lockout) starts again from zero.
    func current(at now: UnixTime) -> CodeRecord {
        guard now >= expiresAt else { return self }
        var copy = self
        copy.codeHash = nil
        copy.issuedAt = nil
        copy.issuedBoot = nil
        copy.verifiedAt = nil
        copy.action = nil
        copy.attempts = 0
        return copy
    }
}
