import Testing
@testable import OTPLogic
import TestSupport

/// Retrying a provider call that certainly did not reach it, on an injected clock: no test waits.
@Suite("Provider retries")
struct ProviderRetryTests {
    static let unreachable = SMSError.unavailable(.unreachable, retryAfterSeconds: 30)
    static let timeout = SMSError.unavailable(.timeout, retryAfterSeconds: 30)

    private func run(_ retry: ProviderRetry, clock: FixedClock, answers: [ProviderAttempt]) -> (error: SMSError?, attempts: [Int], retried: Int) {
        var attempts: [Int] = []
        var retried = 0
        do {
            _ = try retry.run(clock: clock, attempt: { remaining in
                attempts.append(remaining)
                return answers[min(attempts.count - 1, answers.count - 1)]
            }, willRetry: { _ in retried += 1 })
            return (nil, attempts, retried)
        } catch {
            return (error, attempts, retried)
        }
    }

    @Test func acceptedAtOnceNeverWaits() {
        let clock = FixedClock()
        let result = run(ProviderRetry(totalMilliseconds: 10_000), clock: clock, answers: [.accepted(messageID: "SM1")])
        #expect(result.error == nil)
        #expect(result.attempts == [10_000])
        #expect(clock.sleeps.isEmpty)
    }

    @Test func retryableFailureIsRetriedWithADoublingBackoffUntilAccepted() {
        let clock = FixedClock()
        let answers: [ProviderAttempt] = [.retryable(ProviderRetryTests.unreachable), .retryable(ProviderRetryTests.unreachable), .accepted(messageID: "SM1")]
        let result = run(ProviderRetry(totalMilliseconds: 10_000), clock: clock, answers: answers)
        #expect(result.error == nil)
        #expect(clock.sleeps == [100, 200])
        #expect(result.attempts == [10_000, 9_900, 9_700])
        #expect(result.retried == 2)
    }

    @Test func failureThatMayHaveReachedTheProviderIsNeverRepeated() {
        let clock = FixedClock()
        let result = run(ProviderRetry(totalMilliseconds: 10_000), clock: clock, answers: [.failed(ProviderRetryTests.timeout), .accepted(messageID: "SM1")])
        #expect(result.error == ProviderRetryTests.timeout)
        #expect(result.attempts.count == 1)
        #expect(clock.sleeps.isEmpty)
    }

    @Test func retriesStopWhenTheNextBackoffWouldNotLeaveTimeForAnAttempt() {
        let clock = FixedClock()
        let result = run(ProviderRetry(totalMilliseconds: 1_000), clock: clock, answers: [.retryable(ProviderRetryTests.unreachable)])
        // 100 + 200 + 400 = 700 ms waited; a further 800 ms back-off would pass the deadline.
        #expect(clock.sleeps == [100, 200, 400])
        #expect(result.attempts == [1_000, 900, 700, 300])
        #expect(result.error == ProviderRetryTests.unreachable)
    }

    @Test func slowAttemptsEndWithTheLastFailureOnceTheTimeIsUsedUp() {
        let clock = FixedClock()
        let retry = ProviderRetry(totalMilliseconds: 1_000)
        var calls = 0
        #expect(throws: ProviderRetryTests.unreachable) {
            _ = try retry.run(clock: clock, attempt: { _ in
                calls += 1
                clock.sleep(milliseconds: 600)
                return .retryable(ProviderRetryTests.unreachable)
            }, willRetry: { _ in })
        }
        #expect(calls == 2)
    }
}
