import OTPLogic

#if canImport(Glibc)
import Glibc
#endif

/// Read-only checks of the database for `otp-fcgi check-config`: nothing is created or migrated.
public enum DatabaseInspection {
    public typealias Finding = DatabaseFinding

    public static func inspect(_ configuration: SQLiteConfiguration) -> [Finding] {
        let path = configuration.path
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        var status = stat()
        guard stat(directory.isEmpty ? "/" : directory, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
            return [.problem("OTP_DB_PATH: the directory \(directory) does not exist")]
        }
        guard access(directory.isEmpty ? "/" : directory, W_OK | X_OK) == 0 else {
            return [.problem("OTP_DB_PATH: the directory \(directory) is not writable (SQLite needs it for the WAL and journal files)")]
        }
        guard access(path, F_OK) == 0 else {
            return [.note("database \(path) does not exist yet; it will be created at start (schema version \(Schema.currentVersion))")]
        }
        do {
            let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds, readOnly: true)
            let version = try Schema.version(connection)
            if version > Schema.currentVersion {
                return [.problem("OTP_DB_PATH: schema version \(version) is newer than this otp-fcgi knows (\(Schema.currentVersion)); refusing a downgrade")]
            }
            if access(path, W_OK) != 0 {
                return [.problem("OTP_DB_PATH: \(path) is not writable")]
            }
            if version < Schema.currentVersion {
                return [.note("database \(path) is at schema version \(version); the start (or otp-fcgi migrate) will migrate it to \(Schema.currentVersion)")]
            }
            return [.note("database \(path) opens, schema version \(version)")]
        } catch {
            return [.problem("OTP_DB_PATH: cannot open \(path): \(error.description)")]
        }
    }
}
