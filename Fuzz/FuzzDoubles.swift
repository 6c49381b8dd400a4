import OTPLogic
import TestSupport

/// The moves of the clock an input can pick, over `TestSupport.FixedClock`.
enum FuzzClockStep {
    static let start: UnixTime = 1_800_000_000

    /// Seconds of wall clock a selector can pick. The last sets the wall clock back an hour while
    /// the boot clock goes on (an operator fixing the time); the boot clock always moves at least 1 s.
    static let steps: [Int64] = [0, 1, 59, 61, 301, 601, 3601, -3600]

    static func apply(_ step: Int, to clock: FixedClock) {
        let seconds = steps[step % steps.count]
        clock.move(wallSeconds: seconds, bootMilliseconds: max(seconds, 1) * 1000)
    }
}

/// The SMS provider's answers an input can pick, over `TestSupport.RecordingSMSSender`.
enum FuzzSMSOutcome: Int, CaseIterable {
    case accept, cannotReceive, unavailable, credentialsRejected

    /// The failure every send meets, nil when the provider accepts.
    var failure: SMSError? {
        switch self {
        case .accept: nil
        case .cannotReceive: .recipientCannotReceive(providerCode: 21614)
        case .unavailable: .unavailable(.timeout, retryAfterSeconds: 30)
        case .credentialsRejected: .credentialsRejected(retryAfterSeconds: 60)
        }
    }
}
