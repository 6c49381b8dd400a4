/// Whose step-up a request is, and for what: the user whose phone and token it is (the subject
/// when a delegate acts for someone), the delegate, and the action it approves.
public struct StepUpParty: Sendable, Equatable {
    public var user: String
    /// The principal acting for `user`; nil when the user acts for themselves.
    public var delegate: String?

    public init(user: String, delegate: String? = nil) {
        self.user = user
        self.delegate = delegate
    }
}

/// The step-up binding rules (SPEC, "Step-up: what it proves"): codes go only to the account's
/// verified phone, belong to the user, and approve one of the operator's actions; only listed
/// delegates act for someone else.
public struct StepUpBindingPolicy: Sendable {
    public let configuration: StepUpConfiguration

    public init(configuration: StepUpConfiguration) {
        self.configuration = configuration
    }

    /// The party of a request by `principal`, acting for `subject` when one is given. Only a
    /// listed delegate may name a subject.
    public func party(principal: String, subject: String?) throws(OTPError) -> StepUpParty {
        guard let subject else { return StepUpParty(user: principal) }
        guard configuration.delegates.contains(principal) else { throw .notADelegate }
        return StepUpParty(user: subject, delegate: principal)
    }

    /// Nil or an action the operator listed.
    public func checkAction(_ action: String?) throws(OTPError) {
        guard let action else { return }
        guard configuration.actions.text(for: action) != nil else { throw .unknownAction }
    }

    /// The phone a step-up code goes to: the one on record, which a phone in the request must equal.
    public func phone(onRecord: PhoneNumber?, requested: PhoneNumber?) throws(OTPError) -> PhoneNumber {
        guard let onRecord else { throw .noVerifiedPhone }
        if let requested, requested != onRecord { throw .notThePhoneOnRecord }
        return onRecord
    }
}

extension PhoneNumber {
    /// `…0123`: the last four digits, which the user looking at their own account may see.
    public var hint: String { "…" + String(e164.suffix(4)) }
}
