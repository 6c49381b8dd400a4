/// The operator's step-up actions: a name a protected location asks for, and the text the SMS
/// shows (`{action}`), so the user reads what a code approves. Read from
/// `OTP_STEP_UP_ACTIONS_FILE`, one `name = "text"` a line; `change-phone` always exists.
public struct StepUpActions: Sendable, Equatable {
    /// The action a change of the verified phone needs (SPEC, "Changing the phone on record").
    public static let changePhone = "change-phone"
    public static let defaultChangePhoneText = "change the phone number of your account"
    /// What `{action}` says for a step-up without an action.
    public static let noActionText = "confirm a sensitive action on your account"
    public static let maximumTextLength = 100

    private var texts: [String: String]

    public init(_ texts: [String: String] = [:]) {
        var texts = texts
        if texts[StepUpActions.changePhone] == nil { texts[StepUpActions.changePhone] = StepUpActions.defaultChangePhoneText }
        self.texts = texts
    }

    /// Every action name, sorted.
    public var names: [String] { texts.keys.sorted() }

    /// The SMS text of `action`; nil for an action the operator did not list.
    public func text(for action: String?) -> String? {
        guard let action else { return StepUpActions.noActionText }
        return texts[action]
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
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            let line = rawLine.trimmingASCIIWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else { throw .init(line: number, "expected name = \"text\"") }
            let name = line[..<equals].trimmingASCIIWhitespace()
            let value = line[line.index(after: equals)...].trimmingASCIIWhitespace()
            guard isValidName(name) else { throw .init(line: number, "the name must match [a-z0-9][a-z0-9._-]{0,63}") }
            guard texts[name] == nil else { throw .init(line: number, "\(name) is listed twice") }
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
            texts[name] = shown
        }
        return StepUpActions(texts)
    }
}

/// A bad line of `OTP_STEP_UP_ACTIONS_FILE`.
public struct StepUpActionsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let reason: String

    init(line: Int, _ reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { "line \(line): \(reason)" }
}
