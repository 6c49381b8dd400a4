/// Every SMS text otp-fcgi sends: a template per purpose, the same per locale where the operator
/// wrote one, and the WebOTP line.
public struct MessageTemplates: Sendable, Equatable {
    public static let defaultVerifyPhone =
        "Your verification code is {code}. It expires in {minutes} minutes. Do not share it with anyone."
    public static let defaultStepUp =
        "{code} is your code to {action}. It expires in {minutes} minutes. Never share it: we will never ask you for it."

    public var verifyPhone: MessageTemplate
    public var stepUp: MessageTemplate
    /// Templates by locale (`de`, `de-AT`) and purpose, from `OTP_SMS_TEMPLATES_DIR`.
    public var localized: [String: [Purpose: MessageTemplate]]
    /// `OTP_WEBOTP_DOMAIN`: every SMS then ends with the line `@domain #code`.
    public var webOTPDomain: String?

    public init(
        verifyPhone: MessageTemplate, stepUp: MessageTemplate, localized: [String: [Purpose: MessageTemplate]] = [:],
        webOTPDomain: String? = nil
    ) {
        self.verifyPhone = verifyPhone
        self.stepUp = stepUp
        self.localized = localized
        self.webOTPDomain = webOTPDomain
    }

    /// The template for `purpose` in `locale`, falling back `de-AT` → `de` → the default.
    public func template(for purpose: Purpose, locale: String? = nil) -> MessageTemplate {
        if let locale {
            if let template = localized[locale]?[purpose] { return template }
            if let dash = locale.firstIndex(of: "-"), let template = localized[String(locale[..<dash])]?[purpose] { return template }
        }
        switch purpose {
        case .verifyPhone: return verifyPhone
        case .stepUp: return stepUp
        }
    }

    /// The message for one code: the template's text, then the WebOTP line (WICG "origin-bound
    /// one-time codes": the last line, `@host #code`, lets a browser offer the code to that site).
    public func render(_ purpose: Purpose, locale: String? = nil, code: String, minutes: Int, action: String = StepUpActions.noActionText) -> String {
        MessageTemplates.withWebOTPLine(template(for: purpose, locale: locale).render(code: code, minutes: minutes, action: action), domain: webOTPDomain, code: code)
    }

    /// `text`, then a blank line and `@domain #code` when there is a domain.
    public static func withWebOTPLine(_ text: String, domain: String?, code: String) -> String {
        guard let domain else { return text }
        return text + "\n\n@" + domain + " #" + code
    }

    /// Every template with its name (`step_up`, `verify_phone.de`), for checks and reports.
    public var all: [(name: String, purpose: Purpose, locale: String?, template: MessageTemplate)] {
        var all: [(String, Purpose, String?, MessageTemplate)] = [("verify_phone", .verifyPhone, nil, verifyPhone), ("step_up", .stepUp, nil, stepUp)]
        for locale in localized.keys.sorted() {
            for purpose in Purpose.allCases {
                if let template = localized[locale]?[purpose] { all.append(("\(purpose.rawValue).\(locale)", purpose, locale, template)) }
            }
        }
        return all
    }

    /// `[a-z]{2}(-[A-Z]{2})?`.
    public static func isLocale(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        let lower = { (byte: UInt8) in byte >= 0x61 && byte <= 0x7a }
        let upper = { (byte: UInt8) in byte >= 0x41 && byte <= 0x5a }
        switch bytes.count {
        case 2: return lower(bytes[0]) && lower(bytes[1])
        case 5: return lower(bytes[0]) && lower(bytes[1]) && bytes[2] == UInt8(ascii: "-") && upper(bytes[3]) && upper(bytes[4])
        default: return false
        }
    }

    /// A host name for `@host #code`: lower-case letters, digits, dots and dashes.
    public static func isWebOTPDomain(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 253 && !text.hasPrefix(".") && !text.hasSuffix(".")
            && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }
}
