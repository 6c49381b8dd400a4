import Foundation
import Testing

extension Integration {
    /// The voice agent example (examples/voice-agent/agent_tools.py, standard-library Python) against the
    /// built otp-fcgi behind the real nginx with the shipped files: examples/voice-agent/test_agent_tools.py
    /// runs its three tools as the voice-agent principal for alice and bob (whose verified phones are set up
    /// here) and carol (none): the happy path with the code read out in words, a wrong code, three wrong
    /// codes (locked out: the agent says so and promises no new code), a replayed token, cancelling without
    /// a code, a principal that is no delegate, and a patient without a verified phone, each answered with
    /// a sentence for the caller.
    /// Afterwards no code, phone, token or the pepper may be in otp-fcgi's or nginx's log.
    @Suite struct VoiceAgentExample {
        static let phone = "+14155550123"
        static let bobsPhone = "+14155550125"

        @Test func theAgentsToolsConfirmTheCallerAndCancelOnce() throws {
            let started = Date()
            // Every test of the script sends alice a new code: no cooldown, more than three an hour.
            let stack = try TestStack(.init(environment: ["OTP_RESEND_COOLDOWN_SECONDS": "0", "OTP_MAX_SENDS_PER_HOUR": "20"]))
            defer { stack.finish() }
            try stack.ensureVerifiedPhone(VoiceAgentExample.phone, of: .alice)
            try stack.ensureVerifiedPhone(VoiceAgentExample.bobsPhone, of: .bob)
            let tokens = stack.state.appendingPathComponent("agent-tokens.txt")
            let log = stack.state.appendingPathComponent("voice-agent-test.log")
            let result = try ChildProcess.run(
                "/usr/bin/python3",
                [
                    TestStack.repositoryRoot.appendingPathComponent("examples/voice-agent/test_agent_tools.py").path,
                    "--url", stack.client.baseURL,
                    "--ca-file", stack.client.caFile,
                    "--sms-file", stack.smsFile,
                    "--phone", VoiceAgentExample.phone,
                    "--bob-phone", VoiceAgentExample.bobsPhone,
                    "--tokens-file", tokens.path,
                ],
                environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "HOME": stack.state.path],
                directory: stack.state, stdin: .empty, stdout: .file(log.path), timeout: 120
            )
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            let recorded = ((try? String(contentsOf: tokens, encoding: .utf8)) ?? "").split(separator: "\n")
            for token in recorded { stack.record(secret: String(token)) }
            print(text)
            #expect(!result.timedOut)
            #expect(result.status == 0, "the voice agent example's tests failed:\n\(text.suffix(6000))")
            #expect(text.contains("Ran 8 tests"), "every test ran")
            #expect(recorded.count >= 3, "the tests saw the tokens they spent")
            #expect(stack.responderLog.contains("delegate=voice-agent"), "otp-fcgi logged the delegate")
            print("MEASURED voice agent example: whole test with the stack \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
    }
}
