/// A protected location must not pass the client's `X-Step-Up-Token` on to the application.
enum ProtectedLocationRules {
    static let header = "X-Step-Up-Token"
    static let parameter = "HTTP_X_STEP_UP_TOKEN"

    static func findings(_ survey: Survey) -> [Finding] {
        var findings: [Finding] = []
        for protected in survey.protected {
            let scope = protected.scope
            guard let handler = Handler.of(scope), !survey.passesToOTPFCGI(scope) else { continue }
            let module = handler.module.rawValue
            if scope.value(of: "\(module)_pass_request_headers")?.argument(0) == "off" { continue }

            let (list, isClearing, fix) = handler.module.sendsParameters
                ? ("\(module)_param", { (entry: PlacedDirective) in entry.argument(0) == parameter }, "\(module)_param \(parameter) \"\";")
                : ("\(module)_set_header", { (entry: PlacedDirective) in entry.argument(0)?.lowercased() == header.lowercased() }, "\(module)_set_header \(header) \"\";")
            let effective = scope.list(of: list)
            if effective?.entries.last(where: isClearing)?.argument(1) == "" { continue }

            var note = ""
            if let effective, let level = scope.levels.firstIndex(where: { $0.location == effective.level.location }) {
                let outer = scope.levels[(level + 1)...].lazy
                    .compactMap { $0.ownDirectives.last { $0.name == list && isClearing($0) && $0.argument(1) == "" } }.first
                if let outer {
                    let whose = effective.level.location == scope.location.location ? "its own \(list) lines" : "the \(list) lines of \(effective.level.text) (\(effective.level.location))"
                    note = " (\(whose) replace the \(header) \"\" at \(outer.location): nginx inherits the list only into a block that sets none)"
                }
            }
            findings.append(Finding(.tokenPassedToApplication, at: handler.directive.location, """
                \(scope.name) is protected by the step-up check \(protected.check.scope.name) but passes the client's \
                \(header) header on to the application (\(handler.directive.directive.text))\(note): the spent token reaches \
                the application and its logs, which should see only X-Step-Up-User; add \(fix)
                """))
        }
        return findings
    }
}
