import Logging
import Synchronization

/// Captures log events so tests can check what the log (and only the log) sees.
public final class LogRecorder: Sendable {
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]

        /// The message and every metadata value but those of `excluded`, as one line.
        public func text(excluding excluded: Set<String> = []) -> String {
            ([message] + metadata.filter { !excluded.contains($0.key) }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
                .joined(separator: " ")
        }
    }

    private let stored = Mutex<[Entry]>([])

    public init() {}

    public var entries: [Entry] { stored.withLock { $0 } }
    /// Every message and metadata value as one text, for "never logged" checks.
    public var allText: String { entries.map { $0.text() }.joined(separator: "\n") }

    public func append(_ entry: Entry) { stored.withLock { $0.append(entry) } }
    public func reset() { stored.withLock { $0 = [] } }
    public func values(of key: String) -> [String] { entries.compactMap { $0.metadata[key] } }
    public func logger(label: String = "otp-test") -> Logger { Logger(label: label) { _ in RecordingLogHandler(recorder: self) } }
}

/// Hands every event, at every level, to a `LogRecorder`.
public struct RecordingLogHandler: LogHandler {
    public let recorder: LogRecorder
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init(recorder: LogRecorder) { self.recorder = recorder }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        recorder.append(.init(level: event.level, message: event.message.description, metadata: fields.mapValues(\.description)))
    }
}
