/// What a phone number is, by Google's libphonenumber metadata (an adapter; the core has no tables).
public protocol PhoneNumberClassifier: Sendable {
    func facts(about phone: PhoneNumber) -> PhoneNumberFacts
}

/// libphonenumber's `PhoneNumberUtil::PhoneNumberType`, by the names `OTP_SMS_ALLOWED_NUMBER_TYPES` uses.
public enum PhoneNumberType: String, Sendable, CaseIterable {
    case fixedLine = "fixed_line"
    case mobile
    /// Numbering plans (the US, Canada, …) where the number cannot tell.
    case fixedLineOrMobile = "fixed_line_or_mobile"
    case tollFree = "toll_free"
    case premiumRate = "premium_rate"
    case sharedCost = "shared_cost"
    case voip
    case personalNumber = "personal_number"
    case pager
    /// Universal access number.
    case uan
    case voicemail
    case unknown
}

/// The facts the SMS firewall decides on.
public struct PhoneNumberFacts: Sendable, Equatable {
    /// libphonenumber's `IsValidNumber`: the number exists in its region's numbering plan.
    public var isValid: Bool
    public var type: PhoneNumberType
    /// ISO 3166-1 alpha-2 region (`US`, `GB`, …); nil when none (invalid, or a non-geographic entity such as +800).
    public var region: String?

    public init(isValid: Bool, type: PhoneNumberType, region: String?) {
        self.isValid = isValid
        self.type = type
        self.region = region
    }
}
