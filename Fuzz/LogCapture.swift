import Logging

/// Every log line of the current input, as text: the message and each metadata value except
/// `phone` (that one is the documented HMAC prefix, hex that may contain digit runs by chance).
final class LogCapture: @unchecked Sendable {
    private(set) var lines: [String] = []

    func reset() { lines = [] }

    func append(_ line: String) { lines.append(line) }
}

/// Renders each event into a `LogCapture`, at every level.
struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        fields["phone"] = nil
        capture.append(([event.message.description] + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " "))
    }
}
