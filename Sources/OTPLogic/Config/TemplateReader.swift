/// Reads the SMS templates: the two defaults (or `OTP_SMS_TEMPLATE_VERIFY_PHONE` and
/// `OTP_SMS_TEMPLATE_STEP_UP`), the per-locale files of `OTP_SMS_TEMPLATES_DIR`
/// (`step_up.de.txt`, `verify_phone.es.txt`, …) and `OTP_WEBOTP_DOMAIN`. Each is checked: its
/// placeholders (`{action}` required for step-up, refused for verify_phone), and its longest
/// rendering (the longest code, action text and WebOTP line) against the 1,600 characters an SMS
/// body may have.
struct TemplateReader {
    let rules: RulesConfiguration
    let actions: StepUpActions
    let files: ConfigurationFiles

    static func placeholders(_ purpose: Purpose) -> (allowed: [TemplatePlaceholder], required: [TemplatePlaceholder]) {
        switch purpose {
        case .verifyPhone: ([.code, .minutes], [])
        // A step-up SMS says what it approves.
        case .stepUp: ([.code, .minutes, .action], [.action])
        }
    }

    func read(_ reader: inout EnvironmentReader) -> MessageTemplates? {
        var domain: String?
        if let value = reader.value("OTP_WEBOTP_DOMAIN") {
            if MessageTemplates.isWebOTPDomain(value) { domain = value } else {
                reader.problem("OTP_WEBOTP_DOMAIN", "must be the site's host name, like portal.example (no scheme, no port)")
            }
        }
        let verifyPhone = parse(reader.value("OTP_SMS_TEMPLATE_VERIFY_PHONE") ?? MessageTemplates.defaultVerifyPhone, .verifyPhone, domain: domain) {
            reader.problem("OTP_SMS_TEMPLATE_VERIFY_PHONE", $0)
        }
        let stepUp = parse(reader.value("OTP_SMS_TEMPLATE_STEP_UP") ?? MessageTemplates.defaultStepUp, .stepUp, domain: domain) {
            reader.problem("OTP_SMS_TEMPLATE_STEP_UP", $0)
        }
        var localized: [String: [Purpose: MessageTemplate]] = [:]
        if let directory = reader.value("OTP_SMS_TEMPLATES_DIR") {
            if let names = files.list(directory) {
                for name in names.sorted() where name.hasSuffix(".txt") {
                    let parts = name.dropLast(4).split(separator: ".", maxSplits: 1).map(String.init)
                    guard parts.count == 2, let purpose = Purpose(rawValue: parts[0]), MessageTemplates.isLocale(parts[1]) else {
                        reader.problem("OTP_SMS_TEMPLATES_DIR", "\(name): the name must be PURPOSE.LOCALE.txt, like step_up.de.txt or verify_phone.de-AT.txt")
                        continue
                    }
                    guard let text = files.read(directory + "/" + name) else {
                        reader.problem("OTP_SMS_TEMPLATES_DIR", "\(name): cannot read it")
                        continue
                    }
                    var source = text
                    while source.hasSuffix("\n") { source.removeLast() }
                    if let template = parse(source, purpose, domain: domain, report: { reader.problem("OTP_SMS_TEMPLATES_DIR", "\(name) \($0)") }) {
                        localized[parts[1], default: [:]][purpose] = template
                    }
                }
            } else {
                reader.problem("OTP_SMS_TEMPLATES_DIR", "cannot list \(directory)")
            }
        }
        guard let verifyPhone, let stepUp else { return nil }
        return MessageTemplates(verifyPhone: verifyPhone, stepUp: stepUp, localized: localized, webOTPDomain: domain)
    }

    /// The longest text `template` renders to, with the WebOTP line.
    func longestRendering(_ template: MessageTemplate, domain: String?) -> String {
        let code = String(repeating: "0", count: rules.codeLength)
        let texts = actions.allTexts
        let longest = texts.map { template.render(code: code, minutes: rules.codeTTLMinutes, action: $0) }.max { $0.count < $1.count } ?? ""
        return MessageTemplates.withWebOTPLine(longest, domain: domain, code: code)
    }

    private func parse(_ source: String, _ purpose: Purpose, domain: String?, report: (String) -> Void) -> MessageTemplate? {
        let (allowed, required) = TemplateReader.placeholders(purpose)
        do {
            let template = try MessageTemplate(parsing: source, allowed: allowed, required: required)
            let length = longestRendering(template, domain: domain).count
            guard length <= MessageTemplate.maximumLength else {
                report("renders to \(length) characters; an SMS body may have at most \(MessageTemplate.maximumLength)")
                return nil
            }
            return template
        } catch {
            report(error.description)
            return nil
        }
    }
}

extension Configuration {
    /// The longest text `template` sends with these settings (the longest code, action text and
    /// WebOTP line): what its SMS length and encoding are judged on.
    public func longestText(of template: MessageTemplate) -> String {
        TemplateReader(rules: rules, actions: stepUp.actions, files: .none).longestRendering(template, domain: templates.webOTPDomain)
    }
}
