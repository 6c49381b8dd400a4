import Logging
import OTPLogic

#if canImport(Glibc)
import Glibc
#endif

/// Writes one `key=value` line per event to a file descriptor (stderr in production):
/// `ts=2026-11-21T06:29:00.123Z level=info msg="code sent" event=otp.send phone=3f2a…`.
/// Each line goes out in a single `write`, so lines from concurrent threads never interleave.
/// It is on every request's path, so the line is built as bytes, not by string interpolation.
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
        // Later sources win: the handler's metadata, then the provider's, then the event's.
        let line = KeyValueLogHandler.line(
            level: event.level, message: event.message.description,
            sources: Sources(metadata, metadataProvider?.get() ?? [:], event.metadata ?? [:])
        ) { buffer in
            KeyValueLogHandler.appendTimestamp(to: &buffer)
        }
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    /// One line, keys after the fixed three in sorted order so lines are easy to diff and grep.
    public static func format(timestamp: String, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        let bytes = line(level: level, message: message, sources: Sources(metadata, [:], [:])) { $0.append(contentsOf: timestamp.utf8) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A line's metadata where it is, in the order of its sources. A field is named by its source
    /// and its position there, so ordering the fields copies no key, value or array.
    private struct Sources {
        let dictionaries: (Logger.Metadata, Logger.Metadata, Logger.Metadata)

        init(_ first: Logger.Metadata, _ second: Logger.Metadata, _ third: Logger.Metadata) {
            dictionaries = (first, second, third)
        }

        struct Field {
            var source: Int
            var index: Logger.Metadata.Index
        }

        var count: Int { dictionaries.0.count + dictionaries.1.count + dictionaries.2.count }

        /// Every field, in source order, into `fields` (at least `count` long).
        func fill(_ fields: UnsafeMutableBufferPointer<Field>) {
            var next = 0
            for index in dictionaries.0.indices {
                fields[next] = Field(source: 0, index: index)
                next += 1
            }
            for index in dictionaries.1.indices {
                fields[next] = Field(source: 1, index: index)
                next += 1
            }
            for index in dictionaries.2.indices {
                fields[next] = Field(source: 2, index: index)
                next += 1
            }
        }

        func key(_ field: Field) -> String {
            switch field.source {
            case 0: dictionaries.0.keys[field.index]
            case 1: dictionaries.1.keys[field.index]
            default: dictionaries.2.keys[field.index]
            }
        }

        func value(_ field: Field) -> Logger.MetadataValue {
            switch field.source {
            case 0: dictionaries.0.values[field.index]
            case 1: dictionaries.1.values[field.index]
            default: dictionaries.2.values[field.index]
            }
        }
    }

    /// Of two equal keys the later one (in source order) is written.
    private static func line(level: Logger.Level, message: String, sources: Sources, timestamp: (inout [UInt8]) -> Void) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(512)
        buffer.append(contentsOf: "ts=".utf8)
        timestamp(&buffer)
        buffer.append(contentsOf: " level=".utf8)
        buffer.appendUTF8(level.rawValue)
        buffer.append(contentsOf: " msg=".utf8)
        appendValue(message, to: &buffer)
        let count = sources.count
        withUnsafeTemporaryAllocation(of: Sources.Field.self, capacity: count) { fields in
            sources.fill(fields)
            // By key, equal keys in source order: an insertion sort, as a line has a handful of
            // fields (a general sort costs more in its setup than in its compares).
            for position in 1..<max(count, 1) {
                let field = fields[position]
                let key = sources.key(field)
                var slot = position
                while slot > 0 && sources.key(fields[slot - 1]) > key {
                    fields[slot] = fields[slot - 1]
                    slot -= 1
                }
                fields[slot] = field
            }
            var nextKey = count > 0 ? sources.key(fields[0]) : ""
            for position in 0..<count {
                let key = nextKey
                if position + 1 < count {
                    nextKey = sources.key(fields[position + 1])
                    if nextKey == key { continue }
                }
                buffer.append(0x20)
                buffer.appendUTF8(key)
                buffer.append(UInt8(ascii: "="))
                switch sources.value(fields[position]) {
                case .string(let text): appendValue(text, to: &buffer)
                case .stringConvertible(let convertible): appendValue(convertible.description, to: &buffer)
                case let value: appendValue(value.description, to: &buffer)
                }
            }
        }
        buffer.append(0x0a)
        return buffer
    }

    /// Leaves simple values bare; quotes and escapes anything with spaces, quotes, `=` or controls.
    private static func appendValue(_ value: String, to buffer: inout [UInt8]) {
        var contiguous = value
        let plain = contiguous.withUTF8 { bytes in
            guard !bytes.isEmpty else { return false }
            for byte in bytes where byte <= 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "=") || byte == 0x7f { return false }
            buffer.append(contentsOf: bytes)
            return true
        }
        if !plain { JSONText.appendQuoted(value, to: &buffer) }
    }

    static func quoted(_ value: String) -> String {
        var buffer: [UInt8] = []
        appendValue(value, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// UTC with milliseconds: `2026-11-21T06:29:00.123Z`.
    static func timestamp() -> String {
        var buffer: [UInt8] = []
        appendTimestamp(to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// The timestamp of `seconds` and `nanoseconds` since the epoch.
    static func timestamp(seconds: Int, nanoseconds: Int) -> String {
        var buffer: [UInt8] = []
        appendTimestamp(seconds: seconds, nanoseconds: nanoseconds, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    private static func appendTimestamp(to buffer: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        appendTimestamp(seconds: now.tv_sec, nanoseconds: now.tv_nsec, to: &buffer)
    }

    /// By arithmetic (`UTCDateTime`), not `gmtime_r`: glibc's takes its time zone lock on every
    /// call, which the workers writing lines at once would queue on. The 24 bytes are written in
    /// place and appended once (a byte at a time into the array cost four times as much).
    private static func appendTimestamp(seconds: Int, nanoseconds: Int, to buffer: inout [UInt8]) {
        let time = UTCDateTime(secondsSinceEpoch: Int64(seconds))
        let milliseconds = nanoseconds / 1_000_000
        // yyyy-mm-ddThh:mm:ss.mmmZ
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &text) { bytes in
            func two(_ value: Int, at offset: Int) {
                bytes[offset] = UInt8(ascii: "0") + UInt8(value / 10 % 10)
                bytes[offset + 1] = UInt8(ascii: "0") + UInt8(value % 10)
            }
            two(time.year / 100, at: 0)
            two(time.year % 100, at: 2)
            bytes[4] = UInt8(ascii: "-")
            two(time.month, at: 5)
            bytes[7] = UInt8(ascii: "-")
            two(time.day, at: 8)
            bytes[10] = UInt8(ascii: "T")
            two(time.hour, at: 11)
            bytes[13] = UInt8(ascii: ":")
            two(time.minute, at: 14)
            bytes[16] = UInt8(ascii: ":")
            two(time.second, at: 17)
            bytes[19] = UInt8(ascii: ".")
            bytes[20] = UInt8(ascii: "0") + UInt8(milliseconds / 100 % 10)
            two(milliseconds % 100, at: 21)
            bytes[23] = UInt8(ascii: "Z")
            buffer.append(contentsOf: UnsafeRawBufferPointer(bytes))
        }
    }
}
