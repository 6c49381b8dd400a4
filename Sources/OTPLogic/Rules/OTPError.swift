/// A request the rules refused or could not complete. Mapped to HTTP in `HTTP/ErrorResponses.swift`.
public enum OTPError: Error, Sendable, Equatable {
    /// A step-up operation without an authenticated principal.
    case notAuthenticated
    /// Any failed verification: wrong, missing, expired, used or locked-out code.
    case invalidOrExpiredCode
    /// A step-up token that does not admit this request.
    case stepUpDenied
    /// The database did not answer in time or refused the write (the detail went to the log).
    case storageUnavailable(StoreError.Kind)
    /// The SMS provider did not take the message; nothing was recorded.
    case smsUnavailable(retryAfterSeconds: Int)
    /// The provider says the recipient cannot receive SMS.
    case recipientCannotReceiveSMS
}
