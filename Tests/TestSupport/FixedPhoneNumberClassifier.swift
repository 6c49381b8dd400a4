import OTPLogic

/// libphonenumber as a test decides: every number has the `default` facts unless `facts` names it.
public struct FixedPhoneNumberClassifier: PhoneNumberClassifier {
    public var `default`: PhoneNumberFacts
    public var facts: [String: PhoneNumberFacts]

    /// Every number a valid mobile in `region`, unless listed.
    public init(region: String = "US", facts: [String: PhoneNumberFacts] = [:]) {
        self.default = PhoneNumberFacts(isValid: true, type: .mobile, region: region)
        self.facts = facts
    }

    public func facts(about phone: PhoneNumber) -> PhoneNumberFacts {
        facts[phone.e164] ?? self.default
    }
}
