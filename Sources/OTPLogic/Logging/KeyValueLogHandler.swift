import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Writes one `key=value` line per event to a file descriptor (stderr in production):
/// `ts=2026-11-21T06:29:00Z level=info msg="code sent" event=otp.send phone=3f2a…`.
/// Each line goes out in a single `write`, so lines from concurrent threads never interleave.
public struct KeyValueLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    private let fileDescriptor: Int32

    public init(logLevel: Logger.Level = .info, fileDescriptor: Int32 = 2) {
        self.logLevel = logLevel
        self.fileDescriptor = fileDescriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        let line = KeyValueLogHandler.format(
            timestamp: KeyValueLogHandler.timestamp(), level: event.level, message: event.message.description, metadata: fields
        )
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fileDescriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }

    /// One line, keys after the fixed three in sorted order so lines are easy to diff and grep.
    public static func format(timestamp: String, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line = "ts=\(timestamp) level=\(level.rawValue) msg=\(quoted(message))"
        for key in metadata.keys.sorted() {
            line += " \(key)=\(quoted(metadata[key]!.description))"
        }
        return line + "\n"
    }

    /// Leaves simple values bare; quotes and escapes anything with spaces, quotes, `=` or controls.
    static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 || $0.value == 0x7f }
        guard needsQuotes else { return value }
        return JSONText.quoted(value)
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let millis = pad(Int32(now.tv_nsec / 1_000_000), 3)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(millis)Z"
    }
}
