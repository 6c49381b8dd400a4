/// The variables of an environment file as systemd's `EnvironmentFile=` reads them: `NAME=value`
/// a line, `#` and `;` comments, blank lines, a value in single or double quotes taken as written.
/// For admin commands run by hand (`--env-file`), so secrets never go through a command line.
public enum EnvironmentFile {
    public static func parse(_ text: String) throws(ConfigurationError) -> [String: String] {
        var variables: [String: String] = [:]
        var problems: [String] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingASCIIWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            guard let equals = line.firstIndex(of: "="), equals != line.startIndex else {
                problems.append("line \(offset + 1): expected NAME=value")
                continue
            }
            let name = line[..<equals].trimmingASCIIWhitespace()
            guard name.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }) else {
                problems.append("line \(offset + 1): the name must be letters, digits and _")
                continue
            }
            var value = line[line.index(after: equals)...].trimmingASCIIWhitespace()
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            variables[name] = value
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return variables
    }
}
