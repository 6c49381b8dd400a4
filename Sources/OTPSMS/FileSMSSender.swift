import OTPLogic

#if canImport(Glibc)
import Glibc
#endif

/// Development and test sink: appends `{"to": …, "purpose": …, "body": …}` as one line per message.
public final class FileSMSSender: SMSSender {
    private let path: String

    public init(path: String) {
        self.path = path
    }

    public var deliversImmediately: Bool { true }

    public func send(_ message: SMSMessage) throws(SMSError) -> SMSReceipt {
        let line = "{\"to\": \(JSONText.quoted(message.to.e164)), \"purpose\": \(JSONText.quoted(message.purpose.rawValue)), \"body\": \(JSONText.quoted(message.body))}\n"
        // O_APPEND and one write() per line: lines from concurrent workers never interleave.
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw .unavailable(.sinkOpenFailed(errno: errno), retryAfterSeconds: 30)
        }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw .unavailable(.sinkWriteFailed(errno: errno), retryAfterSeconds: 30)
        }
        return SMSReceipt(provider: "file", messageID: FileSMSSender.madeUpMessageID())
    }

    /// `file-` and 32 random hexadecimal digits: unique across processes, like a provider's id.
    static func madeUpMessageID() -> String {
        var random = SystemRandomNumberGenerator()
        let high = random.next() as UInt64, low = random.next() as UInt64
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return "file-" + hex(high) + hex(low)
    }
}
