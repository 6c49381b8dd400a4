/// Where and how the PostgreSQL database is reached. The URL is libpq's (`postgresql://user@host:port/db?…`);
/// its password, if it has one, is a secret: every line that shows the URL shows `redactedURL`.
/// The password may also come from `PGPASSFILE` (~/.pgpass) or `PGPASSWORD`, which libpq reads itself.
public struct PostgresConfiguration: Sendable, Equatable {
    public var url: Secret
    /// libpq's `connect_timeout` unless the URL sets one: how long one connection attempt may take.
    public var connectTimeoutSeconds: Int
    /// The server's `statement_timeout` for our sessions: a statement stuck behind a lock fails instead of holding a worker.
    public var statementTimeoutMilliseconds: Int

    public init(url: Secret, connectTimeoutSeconds: Int = 5, statementTimeoutMilliseconds: Int = 5000) {
        self.url = url
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
    }

    public static func == (lhs: PostgresConfiguration, rhs: PostgresConfiguration) -> Bool {
        lhs.url.value == rhs.url.value && lhs.connectTimeoutSeconds == rhs.connectTimeoutSeconds
            && lhs.statementTimeoutMilliseconds == rhs.statementTimeoutMilliseconds
    }

    /// The URL without its credentials, for logs and errors.
    public var redactedURL: String { PostgresConfiguration.redact(url.value) }

    /// `text` (a message of libpq's) with the URL and its password, wherever they occur, replaced.
    public func scrub(_ text: String) -> String {
        var scrubbed = text.replacing(url.value, with: redactedURL)
        if let password = PostgresConfiguration.password(in: url.value), !password.isEmpty {
            scrubbed = scrubbed.replacing(password, with: "***")
        }
        return scrubbed
    }

    /// The password of the URL's user part, as written (percent-encoded or not).
    static func password(in url: String) -> String? {
        guard let schemeEnd = url.firstRange(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest[..<(rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex)]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return nil }
        return String(authority[authority.index(after: colon)..<at])
    }

    static func hasPostgresScheme(_ url: String) -> Bool {
        url.hasPrefix("postgresql://") || url.hasPrefix("postgres://")
    }

    /// `text` with the password of a URL's user part and of any `password=` parameter replaced:
    /// `postgresql://otp:secret@db/otp?password=x` → `postgresql://otp:***@db/otp?password=***`.
    /// Text that is no URL is kept only up to its scheme-like prefix.
    public static func redact(_ text: String) -> String {
        guard let schemeEnd = text.firstRange(of: "://") else { return "(not a URL)" }
        let scheme = text[..<schemeEnd.upperBound]
        var rest = Substring(text[schemeEnd.upperBound...])
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let tail = rest[authorityEnd...]
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            let user = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            authority = Substring(user + (userInfo.contains(":") ? ":***" : "") + authority[at...])
        }
        rest = authority + redactPasswordParameters(tail)
        return String(scheme) + String(rest)
    }

    /// `password=…` in the query string, up to the next `&`.
    private static func redactPasswordParameters(_ tail: Substring) -> Substring {
        guard let question = tail.firstIndex(of: "?") else { return tail }
        let parameters = tail[tail.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false).map { parameter in
            parameter.lowercased().hasPrefix("password=") ? Substring("password=***") : parameter
        }
        return tail[...question] + Substring(parameters.joined(separator: "&"))
    }
}
