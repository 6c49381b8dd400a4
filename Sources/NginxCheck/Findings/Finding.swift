/// One mistake in the nginx configuration, where to fix it, and why it matters.
public struct Finding: Sendable, Equatable, CustomStringConvertible {
    /// The mistakes looked for; the raw value names each (the test corpus is named the same).
    public enum Kind: String, Sendable, CaseIterable {
        /// An otp-fcgi location sends Debian's `fastcgi_params` (or `fastcgi.conf`).
        case includesFastCGIParams = "includes-fastcgi_params"
        /// An otp-fcgi location sends `REMOTE_USER` more than once.
        case remoteUserTwice = "remote-user-twice"
        /// `REMOTE_USER` comes from `$remote_user` where no `auth_basic` checks it.
        case remoteUserWithoutAuthBasic = "remote-user-without-auth-basic"
        /// The step-up check can be called by path.
        case checkNotInternal = "check-not-internal"
        /// The step-up check receives the protected request's body.
        case checkForwardsBody = "check-forwards-body"
        /// The step-up check's answers are cached.
        case checkCached = "check-cached"
        /// A protected location passes `X-Step-Up-Token` on to the application.
        case tokenPassedToApplication = "token-passed-to-application"
    }

    /// Which mistake.
    public let kind: Kind
    /// Where to fix it.
    public let location: SourceLocation
    /// What is wrong, the risk, and the fix, on one line.
    public let message: String

    /// A finding of `kind` at `location`.
    public init(_ kind: Kind, at location: SourceLocation, _ message: String) {
        self.kind = kind
        self.location = location
        self.message = message
    }

    /// `file:line: problem: message`.
    public var description: String { "\(location): problem: \(message)" }
}
