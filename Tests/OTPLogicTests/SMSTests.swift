import Foundation
import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

@Suite("Message templates")
struct MessageTemplateTests {
    @Test func rendersEveryPlaceholderWhereverItStands() throws {
        let template = try MessageTemplate(parsing: "{code}: valid {minutes} min. Again: {code}")
        #expect(template.render(code: "042917", minutes: 10) == "042917: valid 10 min. Again: 042917")
    }

    @Test func keepsTextWithoutPlaceholdersVerbatim() throws {
        let template = try MessageTemplate(parsing: "Ünïcode 😀 and symbols %s $1 \\n {code}")
        #expect(template.render(code: "1234", minutes: 1) == "Ünïcode 😀 and symbols %s $1 \\n 1234")
    }

    @Test(arguments: ["", "no placeholder", "{minutes} only"])
    func templateWithoutCodeIsRefused(source: String) {
        #expect(throws: TemplateError.missing(.code)) { try MessageTemplate(parsing: source) }
    }

    @Test(arguments: [("{code} {user}", "user"), ("{Code}", "Code"), ("{code} {}", ""), ("{ code }", " code ")])
    func unknownPlaceholderIsRefusedAndNamed(source: String, name: String) {
        #expect(throws: TemplateError.unknownPlaceholder(name, allowed: [.code, .minutes, .action])) { try MessageTemplate(parsing: source) }
    }

    @Test func placeholderOutsideTheAllowedOnesIsRefused() {
        #expect(throws: TemplateError.unknownPlaceholder("action", allowed: [.code, .minutes])) {
            try MessageTemplate(parsing: "{code} to {action}", allowed: [.code, .minutes])
        }
    }

    @Test func requiredPlaceholderMustBeThere() {
        #expect(throws: TemplateError.missing(.action)) { try MessageTemplate(parsing: "{code}", required: [.action]) }
    }

    @Test func actionTextFillsTheActionPlaceholder() throws {
        let template = try MessageTemplate(parsing: "{code} is your code to {action}.")
        #expect(template.render(code: "042917", minutes: 10, action: "cancel your appointment") == "042917 is your code to cancel your appointment.")
        #expect(template.render(code: "042917", minutes: 10) == "042917 is your code to confirm a sensitive action on your account.")
    }

    @Test(arguments: ["{code", "{code} }", "} {code}", "{code}}", "{code} {"])
    func unbalancedBraceIsRefused(source: String) {
        #expect(throws: TemplateError.unbalancedBrace) { try MessageTemplate(parsing: source) }
    }

    @Test func longestRenderingCountsTheFullCodeAndMinutes() throws {
        let template = try MessageTemplate(parsing: "ab {code} cd {minutes}")
        #expect(template.longestRendering(codeLength: 10, minutes: 1440) == 21)
    }

    @Test(arguments: [(30, 1), (60, 1), (61, 2), (90, 2), (600, 10), (86_400, 1440)] as [(Int64, Int)])
    func lifetimeIsShownInMinutesRoundedUp(seconds: Int64, minutes: Int) {
        var rules = RulesConfiguration()
        rules.codeTTLSeconds = seconds
        #expect(rules.codeTTLMinutes == minutes)
    }

    @Test func defaultTemplatesForTheTwoPurposesDiffer() {
        let templates = Fixture.templates
        #expect(templates.template(for: .verifyPhone) == templates.verifyPhone)
        #expect(templates.template(for: .stepUp) == templates.stepUp)
        #expect(templates.verifyPhone.render(code: "1", minutes: 1) != templates.stepUp.render(code: "1", minutes: 1))
    }
}

@Suite("SMS values")
struct SMSValueTests {
    @Test func messageDescriptionRevealsNeitherBodyNorNumber() {
        let message = SMSMessage(to: Fixture.phone, purpose: .stepUp, body: "042917 is your code")
        for text in ["\(message)", String(reflecting: message), "\([message])"] {
            #expect(!text.contains("042917"))
            #expect(!text.contains(Fixture.phoneDigits))
        }
        #expect("\(message)".contains("step_up"))
    }

    @Test func phoneNumberDescriptionRevealsNoDigits() {
        for text in ["\(Fixture.phone)", String(reflecting: Fixture.phone), "\([Fixture.phone])", "\(Optional(Fixture.phone) as Any)"] {
            #expect(!text.contains(Fixture.phoneDigits))
            #expect(!text.contains("415"))
        }
        #expect(Fixture.phone.e164 == "+14155550123")
    }

    @Test func secretDescriptionIsRedacted() {
        let secret = Secret(Fixture.pepper)
        for text in ["\(secret)", String(reflecting: secret), "\([secret])"] { #expect(!text.contains("pepper")) }
    }
}

@Suite("File SMS sink")
struct FileSMSSenderTests {
    @Test func appendsOneJSONLinePerMessage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("sms.jsonl")
        let sender = FileSMSSender(path: path)
        let first = try sender.send(SMSMessage(to: Fixture.phone, purpose: .verifyPhone, body: "Code \"042917\"\nbye"))
        let second = try sender.send(SMSMessage(to: Fixture.otherPhone, purpose: .stepUp, body: "917042"))
        #expect(first.provider == "file" && second.provider == "file")
        #expect(first.messageID.hasPrefix("file-") && first.messageID.count == 37 && first.messageID != second.messageID)
        let data = try #require(FileManager.default.contents(atPath: path))
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3 && lines[2].isEmpty)
        let firstLine = try JSONObjectParser.parse(Array(lines[0].utf8))
        #expect(firstLine == [
            .init(name: "to", value: .string("+14155550123")), .init(name: "purpose", value: .string("verify_phone")),
            .init(name: "body", value: .string("Code \"042917\"\nbye")),
        ])
        let secondLine = try JSONObjectParser.parse(Array(lines[1].utf8))
        #expect(secondLine.map(\.value) == [.string("+447700900123"), .string("step_up"), .string("917042")])
    }

    @Test func unwritableFileMakesTheProviderUnavailable() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sender = FileSMSSender(path: directory.file("missing/sms.jsonl"))
        #expect {
            _ = try sender.send(SMSMessage(to: Fixture.phone, purpose: .verifyPhone, body: "x"))
        } throws: { error in
            if case .unavailable = error as? SMSError { return true }
            return false
        }
    }
}
