/// Text nginx would not accept either, or an include that names a file that is not there.
public struct ParseError: Error, Sendable, CustomStringConvertible {
    /// Where nginx would stop reading.
    public let location: SourceLocation
    /// What is wrong there.
    public let message: String

    /// An error at a place.
    public init(_ message: String, at location: SourceLocation) {
        self.message = message
        self.location = location
    }

    /// `file:line: message`.
    public var description: String { "\(location): \(message)" }
}
