/// What `nginx -T` prints: every file nginx read, once, each after a `# configuration file PATH:`
/// line, the main file first. nginx prints the files as they are (includes are not expanded) and
/// ends each with a line feed of its own.
public struct ConfigurationDump: Sendable, ConfigurationFileSource {
    /// One file as nginx printed it.
    public struct File: Sendable {
        /// The path after `# configuration file `.
        public let path: String
        /// The file's text, lines counted from the one after the header.
        public let text: String
    }

    /// What starts the line nginx prints before each file.
    public static let headerPrefix = "# configuration file "

    /// The files, in the order nginx printed them.
    public let files: [File]
    private let textByPath: [String: String]

    /// The main configuration file: the first one printed.
    public var mainFile: String { files[0].path }

    /// nil when `text` has no `# configuration file …:` line, so it is not `nginx -T` output.
    /// Anything before the first such line (nginx's own messages, when stderr went along) is ignored.
    public init?(nginxT text: String) {
        var files: [File] = []
        var path: String?
        var lines: [Substring] = []
        func finish() {
            if let path { files.append(File(path: path, text: lines.joined(separator: "\n"))) }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let bare = line.hasSuffix("\r") ? line.dropLast() : line
            if bare.hasPrefix(ConfigurationDump.headerPrefix) && bare.hasSuffix(":") {
                finish()
                path = String(bare.dropFirst(ConfigurationDump.headerPrefix.count).dropLast())
                lines = []
            } else {
                lines.append(line)
            }
        }
        finish()
        guard !files.isEmpty else { return nil }
        self.files = files
        textByPath = Dictionary(files.map { ($0.path, $0.text) }, uniquingKeysWith: { first, _ in first })
    }

    /// The file's text as printed, nil when nginx did not read it.
    public func text(ofFile path: String) -> String? { textByPath[path] }

    /// The printed files the pattern matches, in byte order (glob(3) in the C locale).
    public func files(matching pattern: String) -> [String] {
        let glob = GlobPattern(pattern)
        return files.map(\.path).filter(glob.matches).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}
