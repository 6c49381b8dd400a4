import OTPLogic

/// What every answer of the API must look like, and what it must never show.
///
/// The status is one of the documented ones (so never 500); `Cache-Control: no-store` always;
/// the CGI bytes read back as the answer (`WireFormCheck`);
/// every body is JSON with a `status` or `detail` string, and only a 204 or an Authorizer 200 has
/// none; 405 says `Allow`, 429 and 503 say `Retry-After`, a 401 of the check says what to do
/// (`WWW-Authenticate: OTP-Step-Up`); the Authorizer role answers 200, 401, 403 or 503. A request
/// is let through (204, Authorizer 200) only with a token issued earlier in the input to the same
/// user for the location's action, and only once. No body shows a phone or a code, and no log
/// line a phone, a code or a token, unless the web server itself sent that text in a parameter.
struct ResponseCheck {
    static let statuses: Set = [200, 204, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503]

    let fuzzed: FuzzedRequest
    let response: HTTPResponse

    func run(ledger: inout SecretLedger, logLines: [String]) throws(InvariantViolation) {
        let request = fuzzed.request
        let context = "\(request.role) \(request.method) \(request.documentURI.debugDescription) endpoint=\(String(describing: request.endpoint)) → \(response.status) \(response.body)"
        try require(ResponseCheck.statuses.contains(response.status), "undocumented status: \(context)")
        try require(response.header("Cache-Control") == "no-store", "no Cache-Control: no-store: \(context)")
        try WireFormCheck.check(response, context: context)
        if response.status == 405 { try require(response.header("Allow") != nil, "405 without Allow: \(context)") }
        if [429, 503].contains(response.status) { try require(response.header("Retry-After") != nil, "\(response.status) without Retry-After: \(context)") }
        if request.role == .authorizer { try require([200, 401, 403, 503].contains(response.status), "Authorizer answer: \(context)") }
        if response.status == 401, request.role == .authorizer || request.endpoint == "step-up-check" {
            try require(response.header("WWW-Authenticate")?.hasPrefix("OTP-Step-Up") == true, "a refused check without the challenge: \(context)")
        }

        let letThrough = response.status == 204 || (request.role == .authorizer && response.status == 200)
        if letThrough {
            try require(response.body.isEmpty, "body on a let-through answer: \(context)")
            try checkAdmission(&ledger, context: context)
        } else {
            try checkBody(&ledger, context: context)
        }

        if let phone = phoneDigits(of: request.body) { ledger.phoneDigits.insert(phone) }
        let echoed = fuzzed.parameterValues
        func shown(_ secret: String, in text: String) -> Bool {
            text.contains(secret) && !echoed.contains { $0.contains(secret) }
        }
        for secret in ledger.phoneDigits.union(ledger.codes) {
            try require(!shown(secret, in: response.body), "response shows \(secret): \(context)")
        }
        for line in logLines {
            for secret in ledger.phoneDigits.union(ledger.codes).union(ledger.tokens.keys) {
                try require(!shown(secret, in: line), "log shows \(secret): \(line.debugDescription) (\(context))")
            }
        }
    }

    /// Let through: the token was issued in this input to this user, and never let through before.
    private func checkAdmission(_ ledger: inout SecretLedger, context: String) throws(InvariantViolation) {
        let request = fuzzed.request
        guard let token = request.stepUpToken, let principal = request.principal.userID else {
            throw InvariantViolation(description: "let through without a token or a user: \(context)")
        }
        // A delegate is let through with its subject's token; anyone else with their own.
        let user = FuzzService.stepUp.delegates.contains(principal) ? request.stepUpSubject ?? principal : principal
        try require(ledger.tokens[token]?.user == user, "let through with a token not issued to \(user.debugDescription): \(context)")
        try require(ledger.tokens[token]?.action == request.stepUpAction, "let through with a token of another action: \(context)")
        try require(!ledger.admitted.contains(token), "token let through twice: \(context)")
        try require(response.header("X-Step-Up-User") == user, "X-Step-Up-User is not the user: \(context)")
        if request.role == .authorizer {
            try require(response.header("Variable-STEP_UP_USER") == user, "Variable-STEP_UP_USER is not the user: \(context)")
        }
        ledger.admitted.insert(token)
    }

    /// A JSON body with a `status` or `detail` string; a verified code was delivered; a token is
    /// recorded with its user.
    private func checkBody(_ ledger: inout SecretLedger, context: String) throws(InvariantViolation) {
        try require(response.header("Content-Type") == "application/json", "not JSON: \(context)")
        let members: [JSONObjectParser.Member]
        do {
            members = try JSONObjectParser.parse(Array(response.body.utf8))
        } catch {
            throw InvariantViolation(description: "body is not a JSON object: \(context)")
        }
        func string(_ name: String) -> String? {
            members.lazy.compactMap { member -> String? in
                guard member.name == name, case .string(let text) = member.value else { return nil }
                return text
            }.first
        }
        try require(string("status") != nil || string("detail") != nil, "no status or detail: \(context)")
        guard string("status") == "verified" else { return }
        guard let code = code(of: fuzzed.request.body), ledger.codes.contains(code) else {
            throw InvariantViolation(description: "verified a code the provider never accepted: \(context)")
        }
        if let token = string("step_up_token") {
            try require(Base64URL.isEncodedToken(token), "malformed step-up token: \(context)")
            guard let user = fuzzed.request.principal.userID else {
                throw InvariantViolation(description: "step-up token for an anonymous request: \(context)")
            }
            ledger.tokens[token] = (user, stringField("action", of: fuzzed.request.body))
        }
    }

    private func phoneDigits(of body: HTTPRequest.Body) -> String? {
        guard let digits = stringField("phone_e164", of: body)?.asciiDigits, digits.count >= 7 else { return nil }
        return digits
    }

    private func code(of body: HTTPRequest.Body) -> String? {
        stringField("code", of: body)
    }

    private func stringField(_ name: String, of body: HTTPRequest.Body) -> String? {
        guard case .complete(let bytes) = body, let members = try? JSONObjectParser.parse(bytes) else { return nil }
        for member in members where member.name == name {
            if case .string(let text) = member.value { return text }
        }
        return nil
    }
}
