/// Turns one file's text into its directives, blocks nested, each with its file and line.
/// `include` is left as written here: `ConfigurationLoader` follows it.
enum Parser {
    static func directives(of text: String, file: String) throws(ParseError) -> [Directive] {
        var reader = Reader(tokens: try Tokenizer.tokens(of: text, file: file), file: file)
        return try reader.block(nested: false, opened: nil)
    }

    private struct Reader {
        let tokens: [Token]
        let file: String
        var position = 0

        /// Directives up to the `}` that closes a block (or the end of the file at the top).
        mutating func block(nested: Bool, opened: Int?) throws(ParseError) -> [Directive] {
            var directives: [Directive] = []
            var words: [(text: String, line: Int)] = []
            while position < tokens.count {
                let token = tokens[position]
                position += 1
                switch token {
                case .word(let text, let line):
                    words.append((text, line))
                case .semicolon(let line):
                    guard let name = words.first else { throw ParseError("unexpected \";\"", at: at(line)) }
                    directives.append(Directive(name: name.text, arguments: words.dropFirst().map(\.text), location: at(name.line)))
                    words = []
                case .blockStart(let line):
                    guard let name = words.first else { throw ParseError("unexpected \"{\"", at: at(line)) }
                    let children = try block(nested: true, opened: line)
                    directives.append(Directive(name: name.text, arguments: words.dropFirst().map(\.text), location: at(name.line), block: children))
                    words = []
                case .blockEnd(let line):
                    if let name = words.first { throw ParseError("unexpected \"}\": \"\(name.text)\" has no \";\"", at: at(name.line)) }
                    guard nested else { throw ParseError("unexpected \"}\"", at: at(line)) }
                    return directives
                }
            }
            if let name = words.first { throw ParseError("unexpected end of file: \"\(name.text)\" has no \";\"", at: at(name.line)) }
            if let opened { throw ParseError("unexpected end of file: the block opened here has no \"}\"", at: at(opened)) }
            return directives
        }

        private func at(_ line: Int) -> SourceLocation { SourceLocation(file: file, line: line) }
    }
}
