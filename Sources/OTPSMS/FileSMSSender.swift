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
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + message.body.utf8.count)
        bytes.appendUTF8("{\"to\": ")
        JSONText.appendQuoted(message.to.e164, to: &bytes)
        bytes.appendUTF8(", \"purpose\": ")
        JSONText.appendQuoted(message.purpose.rawValue, to: &bytes)
        bytes.appendUTF8(", \"body\": ")
        JSONText.appendQuoted(message.body, to: &bytes)
        bytes.appendUTF8("}\n")
        // O_APPEND and one write() per line: lines from concurrent workers never interleave.
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw .unavailable(.sinkOpenFailed(errno: errno), retryAfterSeconds: 30)
        }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw .unavailable(.sinkWriteFailed(errno: errno), retryAfterSeconds: 30)
        }
        return SMSReceipt(provider: "file", messageID: FileSMSSender.madeUpMessageID())
    }

    /// `file-` and 32 random hexadecimal digits: unique across processes, like a provider's id.
    /// Two 64-bit draws, not sixteen 8-bit ones: this runs inside the write transaction that
    /// records the send.
    static func madeUpMessageID() -> String {
        var random = SystemRandomNumberGenerator()
        return "file-" + Hex.encode(random.bytes(16))
    }
}
