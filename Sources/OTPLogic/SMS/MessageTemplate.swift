/// A placeholder an SMS template may hold.
public enum TemplatePlaceholder: String, Sendable, CaseIterable {
    case code, minutes
    /// What a step-up approves: the operator's text for the action.
    case action

    var braced: String { "{\(rawValue)}" }
}

/// An SMS text with placeholders, checked once at start.
public struct MessageTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case text(String)
        case placeholder(TemplatePlaceholder)
    }

    /// Twilio refuses a `Body` longer than this (error 21617).
    public static let maximumLength = 1600

    let parts: [Part]

    /// Parses a template; refuses placeholders outside `allowed`, unbalanced braces, and a
    /// template without each of `required` (`{code}` always).
    public init(
        parsing source: String, allowed: [TemplatePlaceholder] = [.code, .minutes, .action], required: [TemplatePlaceholder] = [.code]
    ) throws(TemplateError) {
        var parts: [Part] = []
        var literal = ""
        var index = source.startIndex
        while index < source.endIndex {
            let character = source[index]
            if character == "{" {
                guard let close = source[index...].firstIndex(of: "}") else { throw .unbalancedBrace }
                let name = source[source.index(after: index)..<close]
                if !literal.isEmpty { parts.append(.text(literal)); literal = "" }
                guard let placeholder = TemplatePlaceholder(rawValue: String(name)), allowed.contains(placeholder) else {
                    throw .unknownPlaceholder(String(name.prefix(32)), allowed: allowed)
                }
                parts.append(.placeholder(placeholder))
                index = source.index(after: close)
            } else if character == "}" {
                throw .unbalancedBrace
            } else {
                literal.append(character)
                index = source.index(after: index)
            }
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        for placeholder in [.code] + required where !parts.contains(.placeholder(placeholder)) {
            throw .missing(placeholder)
        }
        self.parts = parts
    }

    /// The message text for one code.
    public func render(code: String, minutes: Int, action: String = StepUpActions.noActionText) -> String {
        var result = ""
        for part in parts {
            switch part {
            case .text(let text): result += text
            case .placeholder(.code): result += code
            case .placeholder(.minutes): result += String(minutes)
            case .placeholder(.action): result += action
            }
        }
        return result
    }

    /// The longest text this template can produce for codes of the given length and these action texts.
    public func longestRendering(codeLength: Int, minutes: Int, actionTexts: [String] = [StepUpActions.noActionText]) -> Int {
        actionTexts.map { render(code: String(repeating: "0", count: codeLength), minutes: minutes, action: $0).count }.max() ?? 0
    }
}

/// Why a template was refused.
public enum TemplateError: Error, Equatable, CustomStringConvertible {
    case missing(TemplatePlaceholder)
    case unknownPlaceholder(String, allowed: [TemplatePlaceholder])
    case unbalancedBrace

    public var description: String {
        switch self {
        case .missing(let placeholder): "must contain the \(placeholder.braced) placeholder"
        case .unknownPlaceholder(let name, let allowed):
            "has an unknown placeholder {\(name)} (allowed: \(allowed.map(\.braced).joined(separator: ", ")))"
        case .unbalancedBrace: "has a { or } that is not part of a placeholder"
        }
    }
}
