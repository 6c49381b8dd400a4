/// The step-up check must be internal, must not receive the request body, and must not be cached.
enum CheckLocationRules {
    static func findings(_ survey: Survey) -> [Finding] {
        var findings: [Finding] = []
        for check in survey.checks {
            let scope = check.scope
            let module = check.module.rawValue
            let here = scope.location.location
            if !scope.own.contains(where: { $0.name == "internal" }) {
                findings.append(Finding(.checkNotInternal, at: here, """
                    the step-up check \(scope.name) is not internal: any client can call it by path, and probe or spend \
                    step-up tokens outside the locations it protects; add internal;
                    """))
            }

            let body = scope.value(of: "\(module)_pass_request_body")
            let ownBody = scope.own.last { $0.name == "\(module)_pass_request_body" }
            if body?.argument(0) != "off" {
                let how = body.map { "\(module)_pass_request_body on at \($0.location)" } ?? "\(module)_pass_request_body is on by default"
                let fix = check.module == .fastcgi
                    ? "add fastcgi_pass_request_body off; and fastcgi_param CONTENT_LENGTH \"\";"
                    : "add proxy_pass_request_body off; and proxy_set_header Content-Length \"\";"
                findings.append(Finding(.checkForwardsBody, at: ownBody?.location ?? here, """
                    the step-up check \(scope.name) forwards the request body (\(how)): every protected request's body, \
                    uploads and form data included, goes to the check as well, which needs none of it; \(fix)
                    """))
            }

            if let cache = scope.value(of: "\(module)_cache"), cache.argument(0) != "off" {
                let inherited = scope.own.contains { $0.location == cache.location } ? "" : " (inherited from \(cache.location))"
                findings.append(Finding(.checkCached, at: inherited.isEmpty ? cache.location : here, """
                    the step-up check \(scope.name) is cached by \(cache.directive.text)\(inherited): a cached answer admits \
                    the same one-time token again, or another user's request, without asking otp-fcgi; add \(module)_cache off; \
                    to the check location
                    """))
            }
        }
        return findings
    }
}
