/// Every problem found in the environment at start, one line per offending variable.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let problems: [String]

    public var description: String {
        "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
