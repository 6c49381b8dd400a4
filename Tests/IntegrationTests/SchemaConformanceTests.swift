import Foundation
import Testing

extension Integration {
    /// openapi.yaml against the live API: schemathesis (PyPI, pinned in Tests/schemathesis/requirements.txt,
    /// installed into .venv/ by scripts/install-deps.sh) runs every check in every phase (examples, coverage,
    /// fuzzing, stateful along the document's links) through nginx over HTTPS as alice, with a fixed seed and
    /// a bounded number of examples (OTP_SCHEMATHESIS_MAX_EXAMPLES, default 250 per operation). It must find
    /// nothing: no 5xx, every status, content type, header and body as documented. alice has a verified phone
    /// before the run (a step_up code goes only there), and her codes may be sent and guessed as often as the
    /// run needs (no resend cooldown, high hourly cap and attempt limit: the rules have tests of their own).
    /// Its hooks read the SMS sink, so the stateful phase verifies real codes and spends real step-up tokens on
    /// the protected routes. Then Tests/schemathesis/probes.py checks the documented answers schemathesis does
    /// not reach (405 bodies and Allow, both 413s, nginx's 401, 404, a user without a verified phone, another
    /// action's token, a delegate, the phone change, the 503s and the protected route's 500 while the database
    /// is locked; on a second stack with tiny SMS firewall budgets and the shipped send rate limit, the
    /// firewall's 429 and 503 and nginx's 429) with schemathesis' own conformance checks. Afterwards no code,
    /// phone number, token or the pepper may be in otp-fcgi's or nginx's log.
    @Suite struct SchemaConformance {
        static var maxExamples: Int { Int(ProcessInfo.processInfo.environment["OTP_SCHEMATHESIS_MAX_EXAMPLES"] ?? "") ?? 250 }
        /// Far above a normal run (about 25 s); a run that hangs is stopped and fails.
        static let timeoutSeconds: TimeInterval = 300

        /// alice's verified phone, set up before the run.
        static let alicesPhone = "+14155550100"
        /// The SMS firewall stack of the probes: one send request per user and one SMS per country an hour,
        /// behind the shipped send rate limit.
        static var firewallOptions: TestStack.Options {
            TestStack.Options(environment: ["OTP_SMS_PER_USER_PER_HOUR": "1", "OTP_SMS_PER_COUNTRY_PER_HOUR": "1"], workers: 2, sendRate: nil)
        }

        @Test func theLiveAPIConformsToOpenAPIYAML() throws {
            let testStarted = Date()
            let st = try SchemaConformance.schemathesisExecutable()
            let stack = try TestStack(.init(environment: [
                "OTP_RESEND_COOLDOWN_SECONDS": "0", "OTP_MAX_SENDS_PER_HOUR": "1000", "OTP_MAX_ATTEMPTS": "100",
            ]))
            defer { stack.stopAll() }
            try stack.ensureVerifiedPhone(SchemaConformance.alicesPhone, of: .alice)
            let root = TestStack.repositoryRoot
            let report = stack.state.appendingPathComponent("schemathesis.ndjson")
            let environment = [
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": stack.state.path,
                "LANG": "C.UTF-8",
                "PYTHONDONTWRITEBYTECODE": "1",
                "HYPOTHESIS_STORAGE_DIRECTORY": stack.state.appendingPathComponent("hypothesis").path,
                "SCHEMATHESIS_HOOKS": root.appendingPathComponent("Tests/schemathesis/hooks.py").path,
                "OTP_SMS_FILE": stack.smsFile,
            ]
            let arguments = [
                "--config-file", root.appendingPathComponent("Tests/schemathesis/schemathesis.toml").path,
                "run", root.appendingPathComponent("openapi.yaml").path,
                "--url", stack.client.baseURL,
                "--auth", "alice:alice-password",
                "--tls-verify", stack.client.caFile,
                "--checks", "all",
                "--max-examples", "\(SchemaConformance.maxExamples)",
                "--request-timeout", "10",
                "--no-color",
                "--report", "ndjson", "--report-ndjson-path", report.path,
            ]
            let started = Date()
            let (status, text, timedOut) = try SchemaConformance.run(st, arguments, environment: environment, in: stack.state, log: "schemathesis.log")
            let stSeconds = Date().timeIntervalSince(started)
            #expect(!timedOut, "schemathesis ran longer than \(Int(SchemaConformance.timeoutSeconds)) s:\n\(text.suffix(8000))")
            #expect(status == 0, "schemathesis found problems:\n\(text.suffix(12000))")

            // The documented answers its generated requests never reach or never check.
            let firewallStack = try TestStack(SchemaConformance.firewallOptions)
            defer { firewallStack.stopAll() }
            let python = try SchemaConformance.python(besides: st)
            let probes = try SchemaConformance.run(
                python, [
                    root.appendingPathComponent("Tests/schemathesis/probes.py").path, stack.client.baseURL, stack.client.caFile, "alice:alice-password",
                    "--phone", SchemaConformance.alicesPhone, "--other-user", "bob:bob-password", "--delegate", "voice-agent:voice-agent-password",
                    "--database", stack.databasePath,
                    "--firewall-url", firewallStack.client.baseURL, "--firewall-ca", firewallStack.client.caFile,
                ],
                environment: environment, in: stack.state, log: "probes.log"
            )
            #expect(probes.status == 0 && !probes.timedOut, "answers differ from openapi.yaml:\n\(probes.text)")
            let probeCounts = SchemaConformance.firstMatch(#"probes: (\d+) passed, (\d+) failed"#, in: probes.text)
            let testSeconds = Date().timeIntervalSince(testStarted)

            let run = try SchemaConformance.RunReport(ndjson: report)
            let links = SchemaConformance.firstMatch(#"API Links:\s+(\d+) covered / \d+ selected / (\d+) total"#, in: text)
            let cases = SchemaConformance.firstMatch(#"(\d+) generated, (\d+) passed"#, in: text)
            let operations = SchemaConformance.firstMatch(#"Tested: (\d+)"#, in: text).first ?? "?"
            let checkNames = Set(run.checks.keys.map(\.name))
            let passed = run.checks.filter { $0.key.passed }.values.reduce(0, +)
            let failed = run.checks.filter { !$0.key.passed }.values.reduce(0, +)
            let serverErrors = run.calls.filter { $0.key.status >= 500 }.values.reduce(0, +)
            let byStatus = Dictionary(grouping: run.calls, by: { $0.key.status }).mapValues { $0.map(\.value).reduce(0, +) }
            let stateful = run.calls.filter { $0.key.phase == "stateful" }
            let verified = stateful.filter { $0.key.path == "/api/otp/verify" && $0.key.status == 200 }.values.reduce(0, +)
            let admitted = stateful.filter { $0.key.path.hasPrefix("/account/") && $0.key.status == 200 }.values.reduce(0, +)
            let byPhase = Dictionary(grouping: run.calls, by: { $0.key.phase }).mapValues { $0.map(\.value).reduce(0, +) }

            print("""
                MEASURED schemathesis: \(run.version), \(operations) operations, \(cases.first ?? "?") test cases \
                (\(cases.last ?? "?") passed), \(run.calls.values.reduce(0, +)) API calls \
                (\(byPhase.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))), \
                by status \(byStatus.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")); \
                \(checkNames.count) checks, \(passed) check evaluations passed, \(failed) failed; \
                links \(links.first ?? "?")/\(links.last ?? "?") covered (stateful: \(verified) codes verified, \
                \(admitted) protected requests admitted); \(probeCounts.first ?? "?") probes of answers it does not \
                reach passed, \(probeCounts.last ?? "?") failed; max-examples \(SchemaConformance.maxExamples), \
                run \(String(format: "%.1f", run.runningTime)) s (st process \(String(format: "%.1f", stSeconds)) s), \
                whole test with stack and probes \(String(format: "%.1f", testSeconds)) s
                """)

            #expect(operations == "5", "every operation of openapi.yaml tested")
            #expect(failed == 0)
            #expect(serverErrors == 0, "no 5xx: \(byStatus)")
            #expect(checkNames.isSuperset(of: [
                "not_a_server_error", "status_code_conformance", "content_type_conformance",
                "response_headers_conformance", "response_schema_conformance",
            ]), "\(checkNames.sorted())")
            #expect(links.count == 2 && links.first == links.last && links.first != "0", "every link followed: \(links)")
            #expect(verified > 0, "the stateful phase verified a code it read from the SMS sink")
            #expect(admitted > 0, "the stateful phase spent a step-up token on a protected route")

            // Hundreds of random phones went through: none of them, no code, no token, not the pepper in a log.
            stack.stopAll()
            firewallStack.stopAll()
            let logs = stack.responderLog + stack.nginxErrorLog + firewallStack.responderLog + firewallStack.nginxErrorLog
            #expect(!stack.responderLog.isEmpty && !firewallStack.responderLog.isEmpty)
            var secrets: Set<String> = [stack.pepper, firewallStack.pepper]
            for sms in stack.sms.messages() + firewallStack.sms.messages() {
                secrets.insert(sms.to)
                secrets.insert(String(sms.to.dropFirst()))
                if let code = sms.code { secrets.insert(code) }
            }
            secrets.formUnion(run.stepUpTokens)
            #expect(secrets.count > 3)
            let leaked = secrets.filter { SchemaConformance.containsStandalone(logs, $0) }
            #expect(leaked.isEmpty, "\(leaked.count) secrets reached the logs")
        }

        /// Runs a program to completion (stopped after `timeoutSeconds`); its output goes to `log` in `folder`.
        static func run(
            _ executable: String, _ arguments: [String], environment: [String: String], in folder: URL, log: String
        ) throws -> (status: Int32, text: String, timedOut: Bool) {
            let path = folder.appendingPathComponent(log)
            _ = FileManager.default.createFile(atPath: path.path, contents: nil)
            // Everything schemathesis and Hypothesis write stays in the stack's temporary folder.
            let result = try ChildProcess.run(
                executable, arguments, environment: environment, directory: folder, stdin: .empty, stdout: .file(path.path), timeout: timeoutSeconds
            )
            return (result.status, (try? String(contentsOf: path, encoding: .utf8)) ?? "", result.timedOut)
        }

        /// The Python of `st`'s virtual environment (called by that path, so it is the environment's), for the
        /// probes, which use schemathesis as a library.
        static func python(besides st: String) throws -> String {
            let folder = URL(fileURLWithPath: st).deletingLastPathComponent()
            for name in ["python", "python3"] {
                let candidate = folder.appendingPathComponent(name).path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
            throw StackError("no python next to \(st)")
        }

        /// `SCHEMATHESIS_BIN`, else .venv/bin/st (scripts/install-deps.sh), else `st` on the PATH.
        static func schemathesisExecutable() throws -> String {
            if let configured = ProcessInfo.processInfo.environment["SCHEMATHESIS_BIN"], !configured.isEmpty { return configured }
            let venv = TestStack.repositoryRoot.appendingPathComponent(".venv/bin/st").path
            if FileManager.default.isExecutableFile(atPath: venv) { return venv }
            for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
                let candidate = "\(directory)/st"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
            throw StackError("schemathesis not found: run scripts/install-deps.sh (installs Tests/schemathesis/requirements.txt into .venv/)")
        }

        /// What the NDJSON event stream of a run says: the calls made and every check's outcome.
        struct RunReport {
            struct Call: Hashable { var phase: String; var method: String; var path: String; var status: Int }
            struct Check: Hashable { var name: String; var passed: Bool }
            var version = "?"
            var runningTime = 0.0
            var calls: [Call: Int] = [:]
            var checks: [Check: Int] = [:]
            var stepUpTokens: Set<String> = []

            init(ndjson: URL) throws {
                let text = try String(contentsOf: ndjson, encoding: .utf8)
                for line in text.split(separator: "\n") {
                    guard let event = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                          let first = event.first, let body = first.value as? [String: Any] else { continue }
                    switch first.key {
                    case "Initialize":
                        version = body["schemathesis_version"] as? String ?? "?"
                    case "EngineFinished":
                        runningTime = body["running_time"] as? Double ?? 0
                    case "ScenarioFinished":
                        let phase = body["phase"] as? String ?? "?"
                        guard let recorder = body["recorder"] as? [String: Any] else { continue }
                        for case let results as [[String: Any]] in (recorder["checks"] as? [String: Any] ?? [:]).values {
                            for result in results {
                                checks[Check(name: result["name"] as? String ?? "?", passed: result["status"] as? String == "success"), default: 0] += 1
                            }
                        }
                        for case let interaction as [String: Any] in (recorder["interactions"] as? [String: Any] ?? [:]).values {
                            let request = interaction["request"] as? [String: Any] ?? [:]
                            let response = interaction["response"] as? [String: Any]
                            let path = URL(string: request["uri"] as? String ?? "")?.path ?? "?"
                            let status = response?["status_code"] as? Int ?? 0
                            calls[Call(phase: phase, method: request["method"] as? String ?? "?", path: path, status: status), default: 0] += 1
                            if path == "/api/otp/verify", status == 200, let token = RunReport.stepUpToken(in: response) {
                                stepUpTokens.insert(token)
                            }
                        }
                    default:
                        continue
                    }
                }
            }

            static func stepUpToken(in response: [String: Any]?) -> String? {
                guard let content = response?["content"] as? [String: Any], let encoded = content["$base64"] as? String,
                      let data = Data(base64Encoded: encoded),
                      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
                return object["step_up_token"] as? String
            }
        }

        static func firstMatch(_ pattern: String, in text: String) -> [String] {
            guard let regex = try? NSRegularExpression(pattern: pattern),
                  let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return [] }
            return (1..<match.numberOfRanges).compactMap { Range(match.range(at: $0), in: text).map { String(text[$0]) } }
        }

        /// `needle` occurs in `text` not as part of a longer word (a 6-digit code inside a phone's
        /// 12-hex-character HMAC prefix is a coincidence, not a leak).
        static func containsStandalone(_ text: String, _ needle: String) -> Bool {
            var searchRange = text.startIndex..<text.endIndex
            while let found = text.range(of: needle, range: searchRange) {
                let before = found.lowerBound == text.startIndex ? nil : text[text.index(before: found.lowerBound)]
                let after = found.upperBound == text.endIndex ? nil : text[found.upperBound]
                let isWordCharacter = { (character: Character?) in character.map { $0.isLetter || $0.isNumber } ?? false }
                if !isWordCharacter(before) && !isWordCharacter(after) { return true }
                searchRange = text.index(after: found.lowerBound)..<text.endIndex
            }
            return false
        }
    }
}
