import OTPLogic

#if canImport(Glibc)
import Glibc
#endif

/// Reads the files configuration names (`OTP_STEP_UP_ACTIONS_FILE`, …), once, at start.
public enum TextFile {
    /// Files longer than this are not configuration.
    public static let maximumBytes = 1 << 20

    /// The file's text, or nil when it cannot be read, is larger than `maximumBytes`, or is not UTF-8.
    public static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count > 0 { bytes += buffer[0..<count] }
            if bytes.count > maximumBytes { return nil }
            if count < buffer.count { break }
        }
        guard ferror(file) == 0 else { return nil }
        return String(validating: bytes, as: UTF8.self)
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
    public static let system = ConfigurationFiles(read: TextFile.read, list: DirectoryListing.names)
}
