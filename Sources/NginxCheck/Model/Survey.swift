/// What the configuration's locations are, for otp-fcgi: which pass to it, which is the step-up
/// check, which are protected by the check.
struct Survey {
    /// A location that answers `auth_request` for step-up tokens.
    struct Check {
        let scope: LocationScope
        /// `.fastcgi` for otp-fcgi itself; `.proxy` for a check that reaches otp-fcgi through
        /// another HTTP hop (an `auth_request` target whose path or `proxy_pass` names `step-up-check`).
        let module: Handler.Module
    }

    /// A location whose `auth_request` lands in a check.
    struct Protected {
        let scope: LocationScope
        let check: Check
    }

    /// Locations whose `fastcgi_pass` is otp-fcgi.
    let otpFCGI: [LocationScope]
    let checks: [Check]
    let protected: [Protected]

    init(_ configuration: LoadedConfiguration, targets given: [String]) {
        let everything = Directive.everywhere(configuration.directives)
        var targets = Set(given.map { $0.hasPrefix("/") ? "unix:" + $0 : $0 })
        for upstream in everything where upstream.name == "upstream" {
            let servers = (upstream.block ?? []).filter { $0.name == "server" }.compactMap { $0.argument(0) }
            if let name = upstream.argument(0), servers.contains(where: targets.contains) { targets.insert(name) }
        }

        let scopes = LocationScope.all(in: configuration.directives)
        let otpFCGI = scopes.filter { scope in
            guard let handler = Handler.of(scope), handler.module == .fastcgi else { return false }
            return targets.contains(handler.target) || !FastCGIParameters(scope).values(of: "OTP_ENDPOINT").isEmpty
        }
        self.otpFCGI = otpFCGI
        var checks = otpFCGI
            .filter { FastCGIParameters($0).values(of: "OTP_ENDPOINT").last?.argument(1) == "step-up-check" }
            .map { Check(scope: $0, module: .fastcgi) }

        let matcher = LocationMatcher(scopes: scopes)
        var protected: [Protected] = []
        for scope in scopes {
            guard let request = scope.value(of: "auth_request"), let uri = request.argument(0), uri != "off", !uri.contains("$"),
                  let target = matcher.match(String(uri.prefix { $0 != "?" }), inServerOf: scope), target.key != scope.key
            else { continue }
            if let check = checks.first(where: { $0.scope.key == target.key }) {
                protected.append(Protected(scope: scope, check: check))
            } else if let handler = Handler.of(target), handler.module == .proxy,
                      target.name.contains("step-up-check") || handler.target.contains("step-up-check") {
                let check = Check(scope: target, module: .proxy)
                checks.append(check)
                protected.append(Protected(scope: scope, check: check))
            }
        }
        self.checks = checks
        self.protected = protected
    }

    func passesToOTPFCGI(_ scope: LocationScope) -> Bool { otpFCGI.contains { $0.key == scope.key } }
}
