/// What a code is for. Codes, counters and lockouts are kept apart per purpose.
public enum Purpose: String, Sendable, CaseIterable {
    case verifyPhone = "verify_phone"
    case stepUp = "step_up"
}
