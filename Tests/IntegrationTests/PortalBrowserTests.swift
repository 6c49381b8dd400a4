import Foundation
import Testing

extension Integration {
    /// The demo portal page (nginx/sites-available/otp-fcgi-example/portal/) in a real browser: Debian's
    /// chromium, headless, driven by Selenium (pinned in Tests/browser/requirements.txt, in .venv/) through
    /// Debian's chromium-driver, against the built otp-fcgi behind the real nginx with the shipped files and
    /// the file SMS sink. Tests/browser/portal_test.py verifies a phone (a wrong code shows the error),
    /// cancels the appointment through the step-up challenge (a wrong code, then the right one; WebOTP asked
    /// with an AbortController), presents the spent token again (refused with the challenge), lets the page
    /// retry with a replayed token (it tells the user), and changes the phone through the change-phone
    /// challenge with the code delivered by WebOTP. Every SMS must end with "@localhost #<code>": the page is
    /// served as https://localhost:PORT/portal/ and otp-fcgi runs with OTP_WEBOTP_DOMAIN=localhost.
    /// A screenshot of every step goes to .build/portal-screenshots/. Afterwards no code, phone, token or the
    /// pepper may be in otp-fcgi's or nginx's log.
    @Suite struct PortalBrowser {
        static let phone = "+14155550123"
        static let newPhone = "+14155550124"
        /// A normal run takes 10–20 s with the stack; a run that hangs is stopped and fails.
        static let timeoutSeconds: TimeInterval = 120

        static var screenshots: URL { TestStack.repositoryRoot.appendingPathComponent(".build/portal-screenshots") }

        @Test func theWholeFlowWorksInHeadlessChromium() throws {
            let started = Date()
            let python = try PortalBrowser.venvPython(importing: "selenium")
            let stack = try TestStack(.init(environment: [
                "OTP_WEBOTP_DOMAIN": "localhost",
                // The script asks alice for a step-up code three times within seconds.
                "OTP_RESEND_COOLDOWN_SECONDS": "0",
            ]))
            defer { stack.finish() }
            stack.recordPhone(PortalBrowser.phone)
            stack.recordPhone(PortalBrowser.newPhone)
            let tokens = stack.state.appendingPathComponent("browser-tokens.txt")
            let work = stack.state.appendingPathComponent("browser")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)

            let result = try PortalBrowser.run(
                python,
                [
                    TestStack.repositoryRoot.appendingPathComponent("Tests/browser/portal_test.py").path,
                    "--url", "https://localhost:\(stack.httpsPort)/portal/",
                    "--sms-file", stack.smsFile,
                    "--screenshots", PortalBrowser.screenshots.path,
                    "--work", work.path,
                    "--tokens-file", tokens.path,
                    "--phone", PortalBrowser.phone,
                    "--new-phone", PortalBrowser.newPhone,
                ],
                home: work, log: stack.state.appendingPathComponent("portal-test.log")
            )
            for token in ((try? String(contentsOf: tokens, encoding: .utf8)) ?? "").split(separator: "\n") {
                stack.record(secret: String(token))
            }
            let seconds = Date().timeIntervalSince(started)
            print(result.text)
            #expect(!result.timedOut, "the browser test ran longer than \(Int(PortalBrowser.timeoutSeconds)) s")
            #expect(result.status == 0, "the browser test failed:\n\(result.text.suffix(6000))")

            let shots = ((try? FileManager.default.contentsOfDirectory(atPath: PortalBrowser.screenshots.path)) ?? [])
                .filter { $0.hasSuffix(".png") }.sorted()
            #expect(shots.count >= 10 && !shots.contains("failure.png"), "a screenshot of every step: \(shots)")
            #expect(((try? String(contentsOf: tokens, encoding: .utf8)) ?? "").split(separator: "\n").count >= 3, "the script saw the step-up tokens")

            // The page came from the same nginx, and its calls went through the same API.
            let access = (try? String(contentsOf: stack.state.appendingPathComponent("nginx-access.log"), encoding: .utf8)) ?? ""
            for line in ["\"GET /portal/ HTTP/1.1\" 200", "\"GET /portal/portal.js HTTP/1.1\" 200", "\"GET /portal/portal.css HTTP/1.1\" 200",
                         "\"POST /account/cancel-appointment HTTP/1.1\" 401", "\"POST /account/cancel-appointment HTTP/1.1\" 200"] {
                #expect(access.contains(line), "nginx served \(line)")
            }
            let messages = stack.sms.messages()
            #expect(!messages.isEmpty && messages.allSatisfy { $0.body.hasSuffix("\n\n@localhost #\($0.code ?? "-")") }, "every SMS ends with the WebOTP line")
            print("MEASURED portal browser test: \(shots.count) screenshots in .build/portal-screenshots/, \(messages.count) SMS, "
                  + "whole test with the stack \(String(format: "%.1f", seconds)) s")
        }

        /// Runs the script to completion (stopped after `timeoutSeconds`), its output in `log`. Started with a
        /// clear signal mask: Chromium and chromedriver must be able to stop each other with SIGTERM.
        static func run(_ python: String, _ arguments: [String], home: URL, log: URL) throws -> (status: Int32, text: String, timedOut: Bool) {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let environment = [
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": home.path,
                "LANG": "C.UTF-8",
                "PYTHONDONTWRITEBYTECODE": "1",
                // Selenium uses the chromedriver it is given; it must never go looking for one online.
                "SE_OFFLINE": "true",
            ]
            let child = try ChildProcess.start(
                python, arguments, environment: environment, directory: home, stdin: .empty, stdout: .file(log.path), stderr: .stdout,
                clearingSignalMask: true
            )
            var timedOut = false
            if !child.wait(seconds: timeoutSeconds) {
                timedOut = true
                child.terminate()
            }
            let status = child.wait()
            return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "", timedOut)
        }

        /// .venv/bin/python (scripts/install-deps.sh), with `module` importable.
        static func venvPython(importing module: String) throws -> String {
            let python = TestStack.repositoryRoot.appendingPathComponent(".venv/bin/python").path
            guard FileManager.default.isExecutableFile(atPath: python),
                  (try? ChildProcess.run(python, ["-c", "import \(module)"], stdin: .empty))?.status == 0 else {
                throw StackError("\(module) is not in .venv/: run scripts/install-deps.sh (installs Tests/browser/requirements.txt)")
            }
            for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
                throw StackError("\(tool) is missing: run scripts/install-deps.sh (installs chromium and chromium-driver)")
            }
            return python
        }
    }
}
