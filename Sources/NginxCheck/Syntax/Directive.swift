/// One directive, `name arguments…;` or `name arguments… { block }`, with `include` followed.
public struct Directive: Sendable {
    /// The first word: `location`, `fastcgi_param`, …; for entries of `map` or `types`, the key.
    public let name: String
    /// The arguments with quotes removed and nginx's escapes (`\"`, `\'`, `\\`, `\t`, `\r`, `\n`) applied.
    public let arguments: [String]
    /// Where its name is written.
    public let location: SourceLocation
    /// The directives between the braces; nil for a simple directive.
    public internal(set) var block: [Directive]?
    /// For `include`: the directives of every file it names, in nginx's order, their includes followed too.
    public internal(set) var included: [Directive] = []

    /// A directive as written; the loader fills `included`.
    public init(name: String, arguments: [String], location: SourceLocation, block: [Directive]? = nil) {
        self.name = name
        self.arguments = arguments
        self.location = location
        self.block = block
    }

    /// The argument at `index`, or nil.
    public func argument(_ index: Int) -> String? {
        arguments.indices.contains(index) ? arguments[index] : nil
    }

    /// `name arguments…` as written (without quotes), for messages.
    public var text: String { ([name] + arguments.map { $0.isEmpty ? "\"\"" : $0 }).joined(separator: " ") }
}
