extension Array where Element == UInt8 {
    /// Appends `text`'s UTF-8 in one copy (appending its `utf8` view goes byte by byte); for the
    /// response and log bytes built on every request.
    public mutating func appendUTF8(_ text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }
}
