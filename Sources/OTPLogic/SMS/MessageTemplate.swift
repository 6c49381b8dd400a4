/// An SMS text with `{code}` and `{minutes}` placeholders, checked once at start.
public struct MessageTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case text(String)
        case code
        case minutes
    }

    /// Twilio refuses a `Body` longer than this (error 21617).
    public static let maximumLength = 1600

    let parts: [Part]

    /// Parses a template; refuses unknown placeholders, unbalanced braces and a template without `{code}`.
    public init(parsing source: String) throws(TemplateError) {
        var parts: [Part] = []
        var literal = ""
        var index = source.startIndex
        while index < source.endIndex {
            let character = source[index]
            if character == "{" {
                guard let close = source[index...].firstIndex(of: "}") else { throw .unbalancedBrace }
                let name = source[source.index(after: index)..<close]
                if !literal.isEmpty { parts.append(.text(literal)); literal = "" }
                switch name {
                case "code": parts.append(.code)
                case "minutes": parts.append(.minutes)
                default: throw .unknownPlaceholder(String(name.prefix(32)))
                }
                index = source.index(after: close)
            } else if character == "}" {
                throw .unbalancedBrace
            } else {
                literal.append(character)
                index = source.index(after: index)
            }
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        guard parts.contains(.code) else { throw .missingCode }
        self.parts = parts
    }

    /// The message text for one code.
    public func render(code: String, minutes: Int) -> String {
        var result = ""
        for part in parts {
            switch part {
            case .text(let text): result += text
            case .code: result += code
            case .minutes: result += String(minutes)
            }
        }
        return result
    }

    /// The longest text this template can produce for codes of the given length.
    public func longestRendering(codeLength: Int, minutes: Int) -> Int {
        render(code: String(repeating: "0", count: codeLength), minutes: minutes).count
    }
}

/// Why a template was refused.
public enum TemplateError: Error, Equatable, CustomStringConvertible {
    case missingCode
    case unknownPlaceholder(String)
    case unbalancedBrace

    public var description: String {
        switch self {
        case .missingCode: "must contain the {code} placeholder"
        case .unknownPlaceholder(let name): "has an unknown placeholder {\(name)} (allowed: {code}, {minutes})"
        case .unbalancedBrace: "has a { or } that is not part of a {code} or {minutes} placeholder"
        }
    }
}

/// The two message templates, one per purpose.
public struct MessageTemplates: Sendable, Equatable {
    public static let defaultVerifyPhone =
        "Your verification code is {code}. It expires in {minutes} minutes. Do not share it with anyone."
    public static let defaultStepUp =
        "{code} is your code to confirm a sensitive action on your account. It expires in {minutes} minutes. Never share it: we will never ask you for it."

    public var verifyPhone: MessageTemplate
    public var stepUp: MessageTemplate

    public init(verifyPhone: MessageTemplate, stepUp: MessageTemplate) {
        self.verifyPhone = verifyPhone
        self.stepUp = stepUp
    }

    public func template(for purpose: Purpose) -> MessageTemplate {
        switch purpose {
        case .verifyPhone: verifyPhone
        case .stepUp: stepUp
        }
    }
}
