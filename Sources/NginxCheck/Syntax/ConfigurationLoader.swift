/// nginx's configuration as one tree: the main file's directives with every `include` followed.
public struct LoadedConfiguration: Sendable {
    /// The file nginx was started with (its folder is the prefix relative includes start from).
    public let mainFile: String
    /// The main file's directives; every `include` carries what it brought in `included`.
    public let directives: [Directive]
}

/// Reads the main file and follows `include` the way nginx does: a relative path is taken from the
/// main file's folder (nginx's conf prefix), a path with `*`, `?` or `[` is a glob whose files are
/// read in sorted order (matching none is fine), any other path must exist.
public enum ConfigurationLoader {
    /// Includes nested deeper than this are a loop (nginx itself would run out of files).
    static let maximumDepth = 32

    /// The configuration that starts at `mainFile`, or the first place nginx would reject.
    public static func load(mainFile: String, from source: some ConfigurationFileSource) throws(ParseError) -> LoadedConfiguration {
        guard let text = source.text(ofFile: mainFile) else {
            throw ParseError("cannot read the file", at: SourceLocation(file: mainFile, line: 1))
        }
        var loader = Loader(source: source, prefix: folder(of: mainFile))
        let directives = try loader.follow(try Parser.directives(of: text, file: mainFile), depth: 0)
        return LoadedConfiguration(mainFile: mainFile, directives: directives)
    }

    /// The folder of a path with its trailing slash, as nginx's conf prefix is spelled.
    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[...slash])
    }

    private struct Loader<Source: ConfigurationFileSource> {
        let source: Source
        let prefix: String
        var parsed: [String: [Directive]] = [:]

        mutating func follow(_ directives: [Directive], depth: Int) throws(ParseError) -> [Directive] {
            var result = directives
            for index in result.indices {
                if let block = result[index].block {
                    result[index].block = try follow(block, depth: depth)
                }
                guard result[index].name == "include", let path = result[index].argument(0) else { continue }
                guard depth < ConfigurationLoader.maximumDepth else {
                    throw ParseError("includes nested more than \(ConfigurationLoader.maximumDepth) deep: an include loop?", at: result[index].location)
                }
                let full = path.hasPrefix("/") ? path : prefix + path
                let files = GlobPattern.isPattern(full) ? source.files(matching: full) : [full]
                var included: [Directive] = []
                for file in files {
                    included += try follow(try parse(file, includedAt: result[index].location), depth: depth + 1)
                }
                result[index].included = included
            }
            return result
        }

        private mutating func parse(_ file: String, includedAt location: SourceLocation) throws(ParseError) -> [Directive] {
            if let known = parsed[file] { return known }
            guard let text = source.text(ofFile: file) else {
                throw ParseError("include names \(file), which is not in the configuration read", at: location)
            }
            let directives = try Parser.directives(of: text, file: file)
            parsed[file] = directives
            return directives
        }
    }
}
