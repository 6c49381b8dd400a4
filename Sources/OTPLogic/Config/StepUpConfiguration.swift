/// Who step-up binds to and for what: the operator's actions and the principals that may act for
/// someone else (a voice agent's or a call centre's service account).
public struct StepUpConfiguration: Sendable, Equatable {
    public var actions: StepUpActions
    /// `OTP_DELEGATE_PRINCIPALS`.
    public var delegates: Set<String>

    public init(actions: StepUpActions = StepUpActions(), delegates: Set<String> = []) {
        self.actions = actions
        self.delegates = delegates
    }

    static func read(_ reader: inout EnvironmentReader, readFile: (String) -> String?) -> StepUpConfiguration {
        var actions = StepUpActions()
        if let path = reader.value("OTP_STEP_UP_ACTIONS_FILE") {
            if let text = readFile(path) {
                do {
                    actions = try StepUpActions.parse(text)
                } catch {
                    reader.problem("OTP_STEP_UP_ACTIONS_FILE", "\(path), \(error.description)")
                }
            } else {
                reader.problem("OTP_STEP_UP_ACTIONS_FILE", "cannot read \(path)")
            }
        }
        var delegates: Set<String> = []
        for name in (reader.value("OTP_DELEGATE_PRINCIPALS") ?? "").split(separator: ",") {
            let principal = name.trimmingASCIIWhitespace()
            if principal.isEmpty { continue }
            guard case .user = Principal(remoteUserValues: [principal]) else {
                reader.problem("OTP_DELEGATE_PRINCIPALS", "\(principal.prefix(64).debugDescription) is not a valid principal name")
                continue
            }
            delegates.insert(principal)
        }
        return StepUpConfiguration(actions: actions, delegates: delegates)
    }
}
