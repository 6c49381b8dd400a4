/// A request the rules refused or could not complete. Mapped to HTTP in `HTTP/ErrorResponses.swift`.
public enum OTPError: Error, Sendable, Equatable {
    /// A step-up operation without an authenticated principal.
    case notAuthenticated
    /// Any failed verification: wrong, missing, expired, used or locked-out code.
    case invalidOrExpiredCode
    /// A step-up token that does not admit this request, at a location that asks for `action`.
    case stepUpDenied(action: String?)
    /// A principal that is not a listed delegate named a subject.
    case notADelegate
    /// A step-up action the operator did not list.
    case unknownAction
    /// A step-up for an account without a verified phone.
    case noVerifiedPhone
    /// A step-up request named a phone other than the account's verified one.
    case notThePhoneOnRecord
    /// A verified phone may be replaced only with a `change-phone` step-up of its user.
    case phoneChangeNeedsStepUp
    /// The SMS firewall stopped the send (SPEC, "SMS firewall").
    case smsBlocked(FirewallBlock)
    /// The database did not answer in time or refused the write (the detail went to the log).
    case storageUnavailable(StoreError.Kind)
    /// The SMS provider did not take the message; nothing was recorded.
    case smsUnavailable(retryAfterSeconds: Int)
    /// The provider says the recipient cannot receive SMS.
    case recipientCannotReceiveSMS
}

extension OTPError {
    /// A short label for logs.
    var logReason: String {
        switch self {
        case .notAuthenticated: "not_authenticated"
        case .invalidOrExpiredCode: "invalid_or_expired_code"
        case .stepUpDenied: "step_up_denied"
        case .notADelegate: "not_a_delegate"
        case .unknownAction: "unknown_action"
        case .noVerifiedPhone: "no_verified_phone"
        case .notThePhoneOnRecord: "not_the_phone_on_record"
        case .phoneChangeNeedsStepUp: "phone_change_needs_step_up"
        case .smsBlocked(let block): block.reason.rawValue
        case .storageUnavailable: "storage_unavailable"
        case .smsUnavailable: "sms_unavailable"
        case .recipientCannotReceiveSMS: "recipient_cannot_receive_sms"
        }
    }
}
