/// How configuration reads the files the environment names: given by the process (the core does
/// no I/O), at start only.
public struct ConfigurationFiles: Sendable {
    /// The file's text; nil when it cannot be read.
    public var read: @Sendable (String) -> String?
    /// The names of the files in a directory; nil when it cannot be listed.
    public var list: @Sendable (String) -> [String]?

    public init(read: @escaping @Sendable (String) -> String?, list: @escaping @Sendable (String) -> [String]?) {
        self.read = read
        self.list = list
    }

    /// No files at all: every named file is unreadable.
    public static let none = ConfigurationFiles(read: { _ in nil }, list: { _ in nil })
}
