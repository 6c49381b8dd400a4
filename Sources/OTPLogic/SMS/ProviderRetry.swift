/// What one attempt to hand a message to a provider came to.
public enum ProviderAttempt: Sendable, Equatable {
    /// Taken into the provider's queue under this id (its message id or sid).
    case accepted(messageID: String)
    /// Certainly not processed by the provider (DNS failure, refused connection, its own
    /// rate limit): safe to send again.
    case retryable(SMSError)
    /// Failed, or may have been processed: never repeated, or the user could get two codes.
    case failed(SMSError)
}

/// Repeats a provider call while its failure is retryable, with a doubling back-off, inside one
/// total deadline. Waits on the injected clock, so its tests do not sleep.
public struct ProviderRetry: Sendable {
    public let totalMilliseconds: Int
    public let firstBackoffMilliseconds: Int
    /// A retry is only started with at least this much time left after its back-off.
    public static let minimumAttemptMilliseconds = 50

    public init(totalMilliseconds: Int, firstBackoffMilliseconds: Int = 100) {
        self.totalMilliseconds = totalMilliseconds
        self.firstBackoffMilliseconds = firstBackoffMilliseconds
    }

    /// Calls `attempt` with the milliseconds left until the deadline; `willRetry` hears each
    /// retryable failure that is retried. Returns the message id of the attempt that was accepted.
    public func run(
        clock: any MonotonicClock, attempt: (_ remainingMilliseconds: Int) -> ProviderAttempt, willRetry: (SMSError) -> Void
    ) throws(SMSError) -> String {
        let deadline = clock.milliseconds() + totalMilliseconds
        var backoff = firstBackoffMilliseconds
        while true {
            let remaining = deadline - clock.milliseconds()
            guard remaining > 0 else { throw .unavailable(.timeout, retryAfterSeconds: 30) }
            switch attempt(remaining) {
            case .accepted(let messageID):
                return messageID
            case .failed(let error):
                throw error
            case .retryable(let error):
                let wait = backoff
                backoff *= 2
                guard deadline - clock.milliseconds() > wait + ProviderRetry.minimumAttemptMilliseconds else { throw error }
                willRetry(error)
                clock.sleep(milliseconds: wait)
            }
        }
    }
}
