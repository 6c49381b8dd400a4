import Testing
@testable import OTPLogic
import TestSupport

/// SMS texts per locale, the WebOTP line and what an SMS costs (segments).
@Suite("SMS templates per locale, WebOTP and segments")
struct LocalizedTemplateTests {
    static let directory = "/etc/otp-fcgi/sms"

    static func load(_ files: [String: String], _ environment: [String: String] = [:]) throws(ConfigurationError) -> Configuration {
        var variables = Environment.with(Environment.minimal, ["OTP_SMS_TEMPLATES_DIR": directory])
        variables.merge(environment) { _, new in new }
        let contents = files
        return try Configuration.load(from: variables, files: ConfigurationFiles(
            read: { path in contents[String(path.dropFirst(directory.count + 1))] },
            list: { path in path == directory ? Array(contents.keys) : nil }
        ))
    }

    @Test func localeFallsBackFromRegionToLanguageToTheDefault() throws {
        let templates = try LocalizedTemplateTests.load([
            "verify_phone.de.txt": "Code {code}\n", "verify_phone.de-AT.txt": "Servus {code}", "step_up.es.txt": "{code} para {action}",
        ]).templates
        #expect(templates.render(.verifyPhone, locale: "de-AT", code: "1", minutes: 1) == "Servus 1")
        #expect(templates.render(.verifyPhone, locale: "de-CH", code: "1", minutes: 1) == "Code 1")
        #expect(templates.render(.verifyPhone, locale: "de", code: "1", minutes: 1) == "Code 1")
        #expect(templates.render(.verifyPhone, locale: "fr", code: "1", minutes: 1).hasPrefix("Your verification code is 1."))
        #expect(templates.render(.verifyPhone, locale: "es", code: "1", minutes: 1).hasPrefix("Your verification code is 1."), "es has only step_up")
        #expect(templates.render(.stepUp, locale: "es-MX", code: "1", minutes: 1, action: "x") == "1 para x")
    }

    @Test func everyTemplateFileIsCheckedAtStartNamingTheFile() {
        func problems(_ files: [String: String]) -> [String] {
            do {
                _ = try LocalizedTemplateTests.load(files)
                return []
            } catch {
                return error.problems
            }
        }
        #expect(problems(["step_up.de.txt": "Code {code}"]) == ["OTP_SMS_TEMPLATES_DIR: step_up.de.txt must contain the {action} placeholder"])
        #expect(problems(["verify_phone.de.txt": "Code {code} {action}"]).first?.hasPrefix("OTP_SMS_TEMPLATES_DIR: verify_phone.de.txt has an unknown placeholder {action}") == true)
        #expect(problems(["stepup.de.txt": "x {code}"]).first?.contains("stepup.de.txt: the name must be PURPOSE.LOCALE.txt") == true)
        #expect(problems(["verify_phone.DE.txt": "x {code}"]).count == 1)
        #expect(problems(["verify_phone.de.txt": String(repeating: "x", count: 1600) + "{code}"]).first?.contains("renders to 1606 characters") == true)
        #expect(problems(["README": "not a template"]) == [])
    }

    @Test func webOTPLineIsTheLastLineInTheWICGFormat() throws {
        let templates = try LocalizedTemplateTests.load([:], ["OTP_WEBOTP_DOMAIN": "portal.example"]).templates
        let text = templates.render(.verifyPhone, code: "123456", minutes: 10)
        // The WICG explainer's example: "Your OTP is: 123456.\n\n@www.example.com #123456".
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "@portal.example #123456")
        #expect(lines.dropLast().last == "")
        #expect(text.hasPrefix("Your verification code is 123456."))
        let match = try #require(String(lines.last!).wholeMatch(of: /@([a-z0-9.-]+) #([0-9]+)/))
        #expect(match.1 == "portal.example")
        #expect(match.2 == "123456")
        #expect(templates.render(.stepUp, code: "654321", minutes: 10, action: "x").hasSuffix("\n\n@portal.example #654321"))
    }

    @Test(arguments: ["https://portal.example", "Portal.Example", "portal.example:8443", ".example", "exa mple"])
    func webOTPDomainMustBeAHostName(value: String) {
        #expect(Environment.named(Environment.with(Environment.minimal, ["OTP_WEBOTP_DOMAIN": value])) == ["OTP_WEBOTP_DOMAIN"])
    }

    @Test func theWebOTPLineCountsTowardTheLengthLimit() {
        let template = String(repeating: "x", count: 1_575) + "{code}"
        #expect(Environment.named(Environment.with(Environment.minimal, ["OTP_SMS_TEMPLATE_VERIFY_PHONE": template])) == [])
        #expect(Environment.named(Environment.with(Environment.minimal, [
            "OTP_SMS_TEMPLATE_VERIFY_PHONE": template, "OTP_WEBOTP_DOMAIN": "portal.example",
        ])) == ["OTP_SMS_TEMPLATE_VERIFY_PHONE"])
    }

    @Test func actionTextsFollowTheLocale() throws {
        let actions = try StepUpActions.parse("""
            cancel = "cancel your appointment"
            cancel[de] = "Termin absagen"
            change-phone[de] = "Telefonnummer ändern"
            """)
        #expect(actions.text(for: "cancel", locale: "de-AT") == "Termin absagen")
        #expect(actions.text(for: "cancel", locale: "es") == "cancel your appointment")
        #expect(actions.text(for: "change-phone", locale: "de") == "Telefonnummer ändern")
        #expect(actions.text(for: "change-phone") == StepUpActions.defaultChangePhoneText)
        #expect(throws: StepUpActionsError(line: 1, "orphan has a translation but no text of its own (name = \"text\")")) {
            try StepUpActions.parse("orphan[de] = \"x\"")
        }
        #expect(throws: StepUpActionsError(line: 2, "cancel[de] is listed twice")) {
            try StepUpActions.parse("cancel[de] = \"x\"\ncancel[de] = \"y\"\ncancel = \"z\"")
        }
    }

    @Test func theServiceSendsInTheRequestedLocale() throws {
        var templates = Fixture.templates
        templates.localized = ["de": [.stepUp: try MessageTemplate(parsing: "{code}: {action}", required: [.action])]]
        let stepUp = StepUpConfiguration(actions: StepUpActions(["cancel-appointment": "cancel"], localized: ["cancel-appointment": ["de": "absagen"]]))
        let h = try Harness(templates: templates, stepUp: stepUp)
        try h.givePhone(to: "alice")
        #expect(throws: Never.self) {
            try h.service.send(CodeRequest(purpose: .stepUp, principal: "alice", action: "cancel-appointment", locale: "de-AT"))
        }
        let body = try #require(h.sender.delivered.last?.body)
        #expect(body.hasSuffix(": absagen"))
        #expect(h.post("/api/otp/send", #"{"phone_e164": "+14155550123", "purpose": "verify_phone", "locale": "german"}"#).status == 422)
    }

    @Test func gsm7AndUCS2SegmentsAreCountedLikeTheNetworkBillsThem() {
        #expect(SMSEncoding(of: String(repeating: "a", count: 160)) == SMSEncoding(alphabet: .gsm7, units: 160, segments: 1))
        #expect(SMSEncoding(of: String(repeating: "a", count: 161)).segments == 2)
        #expect(SMSEncoding(of: String(repeating: "a", count: 306)).segments == 2)
        #expect(SMSEncoding(of: String(repeating: "a", count: 307)).segments == 3)
        #expect(SMSEncoding(of: "€").units == 2, "an extension character is an escape and itself")
        #expect(SMSEncoding(of: "Bestätigung gültig ÄÖÜß").alphabet == .gsm7)
        #expect(SMSEncoding(of: "código").alphabet == .ucs2)
        #expect(SMSEncoding(of: String(repeating: "ó", count: 70)).segments == 1)
        #expect(SMSEncoding(of: String(repeating: "ó", count: 71)).segments == 2)
        #expect(SMSEncoding(of: String(repeating: "ó", count: 134)).segments == 2)
        #expect(SMSEncoding(of: "😀").units == 2, "UCS-2 counts UTF-16 units")
    }
}
