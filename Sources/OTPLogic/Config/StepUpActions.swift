/// The operator's step-up actions: a name a protected location asks for, and the text the SMS
/// shows (`{action}`), so the user reads what a code approves. Read from
/// `OTP_STEP_UP_ACTIONS_FILE`, one `name = "text"` a line, and `name[de] = "Text"` for the SMS
/// in a locale; `change-phone` always exists.
public struct StepUpActions: Sendable, Equatable {
    /// The action a change of the verified phone needs (SPEC, "Changing the phone on record").
    public static let changePhone = "change-phone"
    public static let defaultChangePhoneText = "change the phone number of your account"
    /// What `{action}` says for a step-up without an action.
    public static let noActionText = "confirm a sensitive action on your account"
    public static let maximumTextLength = 100

    private var texts: [String: String]
    /// Texts by action and locale (`de`, `de-AT`).
    private var localizedTexts: [String: [String: String]]

    public init(_ texts: [String: String] = [:], localized: [String: [String: String]] = [:]) {
        var texts = texts
        if texts[StepUpActions.changePhone] == nil { texts[StepUpActions.changePhone] = StepUpActions.defaultChangePhoneText }
        self.texts = texts
        self.localizedTexts = localized
    }

    /// Every action name, sorted.
    public var names: [String] { texts.keys.sorted() }

    /// Every text an action may show, in every locale: the longest SMS is judged on them.
    public var allTexts: [String] { [StepUpActions.noActionText] + texts.values.sorted() + localizedTexts.values.flatMap { $0.values }.sorted() }

    /// The SMS text of `action` in `locale` (falling back `de-AT` → `de` → the default text); nil
    /// for an action the operator did not list.
    public func text(for action: String?, locale: String? = nil) -> String? {
        guard let action else { return StepUpActions.noActionText }
        guard let text = texts[action] else { return nil }
        if let locale, let localized = localizedTexts[action] {
            if let exact = localized[locale] { return exact }
            if let dash = locale.firstIndex(of: "-"), let language = localized[String(locale[..<dash])] { return language }
        }
        return text
    }

    /// `[a-z0-9][a-z0-9._-]{0,63}`.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 64, isLowerAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    /// Parses the file's text; a bad line is named by its number. Blank lines and `#` comments
    /// are skipped; a name may appear once.
    public static func parse(_ text: String) throws(StepUpActionsError) -> StepUpActions {
        var texts: [String: String] = [:]
        var localized: [String: [String: String]] = [:]
        var translationLine: [String: Int] = [:]
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            let line = rawLine.trimmingASCIIWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else { throw .init(line: number, "expected name = \"text\"") }
            var name = line[..<equals].trimmingASCIIWhitespace()
            let value = line[line.index(after: equals)...].trimmingASCIIWhitespace()
            var locale: String?
            if name.hasSuffix("]"), let open = name.firstIndex(of: "[") {
                locale = String(name[name.index(after: open)..<name.index(before: name.endIndex)])
                name = String(name[..<open])
                guard let locale, MessageTemplates.isLocale(locale) else { throw .init(line: number, "the locale in [] must be like de or de-AT") }
            }
            guard isValidName(name) else { throw .init(line: number, "the name must match [a-z0-9][a-z0-9._-]{0,63}") }
            let listed = locale.map { localized[name]?[$0] != nil } ?? (texts[name] != nil)
            guard !listed else { throw .init(line: number, "\(name)\(locale.map { "[\($0)]" } ?? "") is listed twice") }
            if locale != nil, translationLine[name] == nil { translationLine[name] = number }
            guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else {
                throw .init(line: number, "the text must be in double quotes")
            }
            let shown = String(value.dropFirst().dropLast())
            guard !shown.isEmpty, shown.count <= maximumTextLength else {
                throw .init(line: number, "the text must have 1 to \(maximumTextLength) characters")
            }
            guard !shown.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == "\"" || $0 == "{" || $0 == "}" }) else {
                throw .init(line: number, "the text may not contain control characters, quotes or braces")
            }
            if let locale { localized[name, default: [:]][locale] = shown } else { texts[name] = shown }
        }
        for (name, line) in translationLine.sorted(by: { $0.value < $1.value }) where texts[name] == nil && name != changePhone {
            throw .init(line: line, "\(name) has a translation but no text of its own (name = \"text\")")
        }
        return StepUpActions(texts, localized: localized)
    }
}

/// A bad line of `OTP_STEP_UP_ACTIONS_FILE`.
public struct StepUpActionsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let reason: String

    public init(line: Int, _ reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { "line \(line): \(reason)" }
}
