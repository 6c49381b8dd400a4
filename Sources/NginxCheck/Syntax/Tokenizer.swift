/// A piece of configuration text as nginx's `ngx_conf_read_token` sees it.
enum Token: Equatable {
    case word(String, line: Int)
    case semicolon(line: Int)
    case blockStart(line: Int)
    case blockEnd(line: Int)
}

/// Splits configuration text into words, `;`, `{` and `}`, with the line each starts on.
///
/// nginx's rules: whitespace separates words; `#` at the start of a word comments out the rest of
/// the line (inside a word it is a character); a word that starts with `"` or `'` runs to the
/// matching quote and may span lines; `;` and `{` end a bare word but `}` only counts at the start
/// of one, and `{` right after `$` is part of a variable (`${name}`); a backslash keeps the next
/// character literal, and `\"`, `\'`, `\\`, `\t`, `\r`, `\n` are unescaped in every word.
enum Tokenizer {
    static func tokens(of text: String, file: String) throws(ParseError) -> [Token] {
        let bytes = Array(text.utf8)
        var tokens: [Token] = []
        var index = 0
        var line = 1
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case .lineFeed:
                line += 1
                index += 1
            case .space, .tab, .carriageReturn:
                index += 1
            case .hash:
                while index < bytes.count && bytes[index] != .lineFeed { index += 1 }
            case .semicolon:
                tokens.append(.semicolon(line: line))
                index += 1
            case .openBrace:
                tokens.append(.blockStart(line: line))
                index += 1
            case .closeBrace:
                tokens.append(.blockEnd(line: line))
                index += 1
            case .doubleQuote, .singleQuote:
                let start = line
                var word: [UInt8] = []
                index += 1
                while true {
                    guard index < bytes.count else {
                        throw ParseError("unexpected end of file: a quoted string that starts here is never closed", at: SourceLocation(file: file, line: start))
                    }
                    let next = bytes[index]
                    if next == .backslash && index + 1 < bytes.count {
                        unescape(bytes[index + 1], into: &word, line: &line)
                        index += 2
                        continue
                    }
                    index += 1
                    if next == byte { break }
                    if next == .lineFeed { line += 1 }
                    word.append(next)
                }
                tokens.append(.word(String(decoding: word, as: UTF8.self), line: start))
            default:
                let start = line
                var word: [UInt8] = []
                var afterDollar = false
                while index < bytes.count {
                    let next = bytes[index]
                    if next == .openBrace && afterDollar {
                        word.append(next)
                        index += 1
                        afterDollar = false
                        continue
                    }
                    afterDollar = next == .dollar
                    if next == .backslash && index + 1 < bytes.count {
                        unescape(bytes[index + 1], into: &word, line: &line)
                        index += 2
                        continue
                    }
                    if [.space, .tab, .carriageReturn, .lineFeed, .semicolon, .openBrace].contains(next) { break }
                    word.append(next)
                    index += 1
                }
                tokens.append(.word(String(decoding: word, as: UTF8.self), line: start))
            }
        }
        return tokens
    }

    /// What `\` followed by `escaped` stands for.
    private static func unescape(_ escaped: UInt8, into word: inout [UInt8], line: inout Int) {
        switch escaped {
        case .doubleQuote, .singleQuote, .backslash: word.append(escaped)
        case UInt8(ascii: "t"): word.append(.tab)
        case UInt8(ascii: "r"): word.append(.carriageReturn)
        case UInt8(ascii: "n"): word.append(.lineFeed)
        default:
            if escaped == .lineFeed { line += 1 }
            word += [.backslash, escaped]
        }
    }
}

extension UInt8 {
    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let tab = UInt8(ascii: "\t")
    static let space = UInt8(ascii: " ")
    static let hash = UInt8(ascii: "#")
    static let semicolon = UInt8(ascii: ";")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let doubleQuote = UInt8(ascii: "\"")
    static let singleQuote = UInt8(ascii: "'")
    static let backslash = UInt8(ascii: "\\")
    static let dollar = UInt8(ascii: "$")
}
