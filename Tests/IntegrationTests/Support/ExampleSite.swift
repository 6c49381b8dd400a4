import Foundation

/// What every stack's otp-fcgi is configured with besides its database and SMS sink: the example
/// sites' step-up actions (scripts/demo-credentials.sh copies them into the state folder), the
/// shipped SMS templates and voice-agent as a delegate, like `make run`; and the SMS firewall's budgets and tripwire off,
/// so tests send as often as they need (the firewall's own tests turn them on).
enum ExampleSite {
    static func environment(state: URL) -> [String: String] {
        [
            "OTP_STEP_UP_ACTIONS_FILE": state.appendingPathComponent("step-up-actions").path,
            "OTP_DELEGATE_PRINCIPALS": "voice-agent",
            "OTP_SMS_TEMPLATES_DIR": TestStack.repositoryRoot.appendingPathComponent("examples/sms-templates").path,
            "OTP_SMS_PER_USER_PER_HOUR": "off",
            "OTP_SMS_PER_ADDRESS_PER_HOUR": "off",
            "OTP_SMS_GLOBAL_PER_HOUR": "off",
            "OTP_SMS_TRIPWIRE_SENDS": "off",
        ]
    }
}
