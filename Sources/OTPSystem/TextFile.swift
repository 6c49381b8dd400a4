import OTPLogic

#if canImport(Glibc)
import Glibc
#endif

/// Reads the files configuration names (`OTP_STEP_UP_ACTIONS_FILE`, …, once, at start) and the
/// nginx configuration `check-nginx` is given.
public enum TextFile {
    /// Files longer than this are not configuration.
    public static let maximumBytes = 1 << 20

    /// The file's text, or nil when it cannot be read or is larger than `maximumBytes`. Bytes that
    /// are not UTF-8 make it nil too, unless `repairingUTF8` (then they become U+FFFD).
    public static func read(_ path: String, maximumBytes: Int = maximumBytes, repairingUTF8: Bool = false) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return read(descriptor: descriptor, maximumBytes: maximumBytes, repairingUTF8: repairingUTF8)
    }

    /// What is left to read on `descriptor` (standard input, say), as `read(_:)` reads a file.
    public static func read(descriptor: Int32, maximumBytes: Int = maximumBytes, repairingUTF8: Bool = false) -> String? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Glibc.read(descriptor, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += buffer[0..<count]
            if bytes.count > maximumBytes { return nil }
        }
        return repairingUTF8 ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
    }
}

/// The names in a directory (no `.` or `..`), for configuration that names one.
public enum DirectoryListing {
    public static func names(in path: String) -> [String]? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

extension ConfigurationFiles {
    /// The machine's files.
    public static let system = ConfigurationFiles(read: { TextFile.read($0) }, list: DirectoryListing.names)
}
