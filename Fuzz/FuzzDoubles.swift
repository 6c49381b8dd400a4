import OTPLogic

/// A wall clock and boot clock the input moves. Starts at the same instant for every input.
final class FuzzClock: UnixClock, @unchecked Sendable {
    static let start: UnixTime = 1_800_000_000

    /// The moves a selector can pick, in seconds. The last sets the wall clock back an hour while
    /// the boot clock goes on (an operator fixing the time).
    static let steps: [Int64] = [0, 1, 59, 61, 301, 601, 3601, -3600]

    private var wall = start
    private var bootMilliseconds: Int64 = 0

    func reset() {
        wall = FuzzClock.start
        bootMilliseconds = 0
    }

    func advance(step: Int) {
        let seconds = FuzzClock.steps[step % FuzzClock.steps.count]
        wall += seconds
        bootMilliseconds += max(seconds, 1) * 1000
    }

    func now() -> UnixTime { wall }

    func bootClock() -> BootClockReading? { BootClockReading(bootID: "otp-fuzz", milliseconds: bootMilliseconds) }
}

/// SplitMix64 from a fixed seed: the same codes and tokens for the same input.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64 = 0x5EED_0F_07_FC61

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The SMS provider, answering and behaving as the input picked. Keeps every code it accepted
/// (the messages are the bare code, see `FuzzService`).
final class ScriptedSMSSender: SMSSender {
    enum Outcome: Int, CaseIterable {
        case accept, cannotReceive, unavailable, credentialsRejected
    }

    var outcome = Outcome.accept
    /// True: sends like the file sink, inside the transaction that records them; false: like
    /// Twilio, reserved first and confirmed after.
    var deliversImmediately = false
    private(set) var deliveredCodes: [String] = []

    func reset() {
        outcome = .accept
        deliversImmediately = false
        deliveredCodes = []
    }

    func send(_ message: SMSMessage) throws(SMSError) {
        switch outcome {
        case .accept: deliveredCodes.append(message.body)
        case .cannotReceive: throw .recipientCannotReceive(providerCode: 21614)
        case .unavailable: throw .unavailable(reason: "provider_timeout", retryAfterSeconds: 30)
        case .credentialsRejected: throw .credentialsRejected(retryAfterSeconds: 60)
        }
    }
}
