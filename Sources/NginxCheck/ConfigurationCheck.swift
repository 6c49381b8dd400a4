/// Checks nginx's configuration for the mistakes that let a client choose its otp-fcgi principal
/// or use a step-up token more than once, or that pass the token where it does not belong.
public enum ConfigurationCheck {
    /// What counts as otp-fcgi, besides any `fastcgi_pass` whose params set `OTP_ENDPOINT`.
    public struct Options: Sendable {
        /// The upstream names and addresses `fastcgi_pass` reaches otp-fcgi by; an upstream with
        /// one of these addresses as a server counts too.
        public var otpFCGITargets: [String]

        /// The shipped upstream's name and socket.
        public static let defaultTargets = ["otp_fcgi", "unix:/run/otp-fcgi/otp.sock"]

        /// Options with these targets.
        public init(otpFCGITargets: [String] = Options.defaultTargets) {
            self.otpFCGITargets = otpFCGITargets
        }
    }

    /// What a check found.
    public struct Report: Sendable {
        /// Every finding, once per place, in file and line order.
        public let findings: [Finding]
        /// The locations checked: those that pass to otp-fcgi, and step-up checks behind another hop.
        public let checkedLocations: Int
    }

    /// Every finding in a loaded configuration.
    public static func check(_ configuration: LoadedConfiguration, options: Options = Options()) -> Report {
        let survey = Survey(configuration, targets: options.otpFCGITargets)
        let all = ParameterRules.findings(survey, configuration) + CheckLocationRules.findings(survey) + ProtectedLocationRules.findings(survey)
        var seen: Set<String> = []
        let findings = all.filter { seen.insert("\($0.kind.rawValue) \($0.location)").inserted }
        let checked = survey.otpFCGI.count + survey.checks.filter { $0.module != .fastcgi }.count
        return Report(findings: findings.sorted { ($0.location.file, $0.location.line) < ($1.location.file, $1.location.line) }, checkedLocations: checked)
    }

    /// Reads `nginx -T` output and checks it; nil when `text` is not `nginx -T` output.
    public static func check(nginxT text: String, options: Options = Options()) throws(ParseError) -> Report? {
        guard let dump = ConfigurationDump(nginxT: text) else { return nil }
        return check(try ConfigurationLoader.load(mainFile: dump.mainFile, from: dump), options: options)
    }
}
