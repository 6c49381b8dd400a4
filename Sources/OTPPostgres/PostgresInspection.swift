import OTPLogic

/// Read-only checks of the PostgreSQL database for `otp-fcgi check-config`: a session with
/// `default_transaction_read_only` on, so nothing is created or migrated.
public enum PostgresInspection {
    public static func inspect(_ configuration: PostgresConfiguration, clock: any MonotonicClock) -> [DatabaseFinding] {
        let url = configuration.redactedURL
        do {
            let connection = try PostgresConnection(configuration: configuration, clock: clock, readOnly: true)
            let version = try PostgresSchema.version(connection)
            let current = PostgresSchema.currentVersion
            if version > current {
                return [.problem("OTP_DB_URL: schema version \(version) is newer than this otp-fcgi knows (\(current)); refusing a downgrade")]
            }
            if version == 0 {
                return [.note("database \(url) is reachable and has no otp-fcgi schema yet; the start (or otp-fcgi migrate) will create it (schema version \(current))")]
            }
            if version < current {
                return [.note("database \(url) is at schema version \(version); the start (or otp-fcgi migrate) will migrate it to \(current)")]
            }
            return [.note("database \(url) is reachable, schema version \(version)")]
        } catch {
            return [.problem("OTP_DB_URL: cannot use \(url): \(error.description)")]
        }
    }
}
