/// What otp-fcgi locations send it: Debian's params file, `REMOTE_USER` twice, `REMOTE_USER` from
/// `$remote_user` where no `auth_basic` checks it.
enum ParameterRules {
    static func findings(_ survey: Survey, _ configuration: LoadedConfiguration) -> [Finding] {
        var findings: [Finding] = []
        for scope in survey.otpFCGI {
            let parameters = FastCGIParameters(scope)
            for include in parameters.debianIncludes {
                let file = include.argument(0) ?? "fastcgi_params"
                let through = include.via.isEmpty ? "" : " (through include \(include.via.compactMap { $0.argument(0) }.joined(separator: ", include ")))"
                findings.append(Finding(.includesFastCGIParams, at: include.writtenAt, """
                    \(scope.name) passes to otp-fcgi with Debian's \(file)\(through), which sends REMOTE_USER $remote_user: \
                    nginx fills that from any client's Authorization: Basic header even where no auth_basic checked it, and \
                    otp-fcgi reads the first REMOTE_USER, so a client can choose its principal; include otp-fcgi_params instead
                    """))
            }

            let remoteUsers = parameters.values(of: "REMOTE_USER").filter { !parameters.comesFromDebian($0) }
            if remoteUsers.count > 1 {
                let others = remoteUsers.filter { $0.location != remoteUsers[1].location }.map { "\($0.location)" }
                findings.append(Finding(.remoteUserTwice, at: remoteUsers[1].location, """
                    \(scope.name) sends REMOTE_USER \(remoteUsers.count) times (also at \(others.joined(separator: ", "))): \
                    otp-fcgi then treats every request as anonymous and logs a configuration error, and a responder that takes \
                    the first one gets whichever nginx sent first; send it once, fastcgi_param REMOTE_USER $otp_fcgi_user
                    """))
            }

            guard !checksAuthBasic(scope) else { continue }
            let sources = VariableSources(scope: scope, configuration: configuration)
            for entry in remoteUsers {
                guard let trace = sources.remoteUser(in: entry.argument(1) ?? "") else { continue }
                let subject = trace.through.isEmpty
                    ? "\(scope.name) sends REMOTE_USER from $remote_user"
                    : "$\(trace.through.last ?? "") gets its value from $remote_user here, and \(scope.nameAndPlace) sends it as REMOTE_USER\(trace.through.count > 1 ? " (through $" + trace.through.joined(separator: ", $") + ")" : "")"
                findings.append(Finding(.remoteUserWithoutAuthBasic, at: trace.origin ?? entry.location, """
                    \(subject), but no auth_basic checks that location: nginx fills $remote_user from any client's own \
                    Authorization: Basic header, so a client can choose its principal; set $otp_fcgi_user from the variable \
                    your login sets (or leave it empty: anonymous)
                    """))
            }
        }
        return findings
    }

    /// True when `auth_basic` (inherited or its own) is on for the location.
    static func checksAuthBasic(_ scope: LocationScope) -> Bool {
        guard let authBasic = scope.value(of: "auth_basic") else { return false }
        return authBasic.argument(0) != "off"
    }
}
