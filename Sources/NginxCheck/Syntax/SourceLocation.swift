/// Where a directive was written: the file as `nginx -T` names it and the line its name is on.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// The file's path as nginx names it (after adding its prefix to a relative include).
    public let file: String
    /// Counted from 1.
    public let line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `file:line`, as compilers and editors read it.
    public var description: String { "\(file):\(line)" }
}
