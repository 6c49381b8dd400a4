/// One stored step-up token (a row of `step_up_tokens`); the token itself is never stored, only
/// its hash, which is the row's key.
public struct StepUpTokenRecord: Sendable, Equatable {
    public var userID: String
    /// The action it admits; nil admits only at locations that name no action.
    public var action: String?
    public var createdAt: UnixTime
    public var expiresAt: UnixTime
    /// The boot-time clock when the token was minted: bounds its life even if the wall clock steps.
    public var createdBoot: BootClockReading?
    /// Set once the token admitted a request (or was spent past its lifetime).
    public var usedAt: UnixTime?

    public init(
        userID: String, action: String? = nil, createdAt: UnixTime, expiresAt: UnixTime, createdBoot: BootClockReading? = nil,
        usedAt: UnixTime? = nil
    ) {
        self.userID = userID
        self.action = action
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.createdBoot = createdBoot
        self.usedAt = usedAt
    }
}
