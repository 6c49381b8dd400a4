import Synchronization
import Testing
@testable import OTPLogic
import TestSupport

/// `OTP_SMS_PROVIDER=twilio,vonage,…`: the next provider only when the one before certainly did
/// not accept the message.
@Suite("SMS provider failover")
struct FailoverTests {
    static let message = SMSMessage(to: PhoneNumber("+14155550123")!, purpose: .verifyPhone, body: "Your code is 123456")

    static let certainFailures: [SMSError] = [
        .unavailable(.unreachable, retryAfterSeconds: 30),
        .unavailable(.status(500), retryAfterSeconds: 30),
        .unavailable(.status(503), retryAfterSeconds: 30),
        .unavailable(.rateLimited, retryAfterSeconds: 10),
        .unavailable(.timeout, retryAfterSeconds: 30),
        .unavailable(.tlsFailed(curlCode: 60), retryAfterSeconds: 60),
        .credentialsRejected(retryAfterSeconds: 60),
        .misconfigured(providerCode: 21705, retryAfterSeconds: 60),
    ]

    static let finalFailures: [SMSError] = [
        .outcomeUnknown(.timeout, retryAfterSeconds: 30),
        .outcomeUnknown(.transport(curlCode: 56), retryAfterSeconds: 30),
        .outcomeUnknown(.unparseableAnswer, retryAfterSeconds: 30),
        .recipientCannotReceive(providerCode: 21610),
        .recipientCannotReceive(providerCode: 30453),
    ]

    private func chain(_ senders: [RecordingSMSSender], logs: LogRecorder = LogRecorder()) -> FailoverSMSSender {
        FailoverSMSSender(senders.map { .init(name: $0.providerName, sender: $0) }, clock: FixedClock(), logger: logs.logger())
    }

    @Test(arguments: FailoverTests.certainFailures)
    func policyTriesTheNextProviderWhenTheMessageWasCertainlyNotAccepted(_ error: SMSError) {
        #expect(SMSFailoverPolicy.mayTryNext(after: error))
    }

    @Test(arguments: FailoverTests.finalFailures)
    func policyNeverTriesTheNextProviderAfterAnUnknownOutcomeOrCannotReceive(_ error: SMSError) {
        #expect(!SMSFailoverPolicy.mayTryNext(after: error))
    }

    @Test(arguments: FailoverTests.certainFailures)
    func aCertainFailureDeliversThroughTheNextProviderOnce(_ error: SMSError) throws {
        let twilio = RecordingSMSSender(providerName: "twilio"), vonage = RecordingSMSSender(providerName: "vonage")
        twilio.failEverySend(with: error)
        let receipt = try chain([twilio, vonage]).send(FailoverTests.message)
        #expect(receipt == SMSReceipt(provider: "vonage", messageID: "msg-1"))
        #expect(twilio.attempted.count == 1)
        #expect(vonage.attempted.count == 1)
    }

    @Test(arguments: FailoverTests.finalFailures)
    func anUnknownOrFinalOutcomeIsNeverSentAgain(_ error: SMSError) {
        let twilio = RecordingSMSSender(providerName: "twilio"), vonage = RecordingSMSSender(providerName: "vonage")
        twilio.failEverySend(with: error)
        #expect(throws: error) { try chain([twilio, vonage]).send(FailoverTests.message) }
        #expect(twilio.attempted.count == 1)
        #expect(vonage.attempted.isEmpty, "a message that may be on its way, or cannot arrive, is never handed to another provider")
    }

    @Test func theFirstProviderThatAcceptsEndsTheChain() throws {
        let twilio = RecordingSMSSender(providerName: "twilio"), vonage = RecordingSMSSender(providerName: "vonage"), sns = RecordingSMSSender(providerName: "sns")
        #expect(try chain([twilio, vonage, sns]).send(FailoverTests.message).provider == "twilio")
        #expect(vonage.attempted.isEmpty && sns.attempted.isEmpty)
    }

    @Test func everyProviderFailingCertainlyEndsWithTheLastError() {
        let twilio = RecordingSMSSender(providerName: "twilio"), vonage = RecordingSMSSender(providerName: "vonage"), sns = RecordingSMSSender(providerName: "sns")
        twilio.failEverySend(with: .credentialsRejected(retryAfterSeconds: 60))
        vonage.failEverySend(with: .unavailable(.status(500), retryAfterSeconds: 30))
        sns.failEverySend(with: .unavailable(.unreachable, retryAfterSeconds: 17))
        #expect(throws: SMSError.unavailable(.unreachable, retryAfterSeconds: 17)) { try chain([twilio, vonage, sns]).send(FailoverTests.message) }
        #expect([twilio, vonage, sns].map(\.attempted.count) == [1, 1, 1])
    }

    @Test func aStopAtTheSecondProviderNeverReachesTheThird() {
        let twilio = RecordingSMSSender(providerName: "twilio"), vonage = RecordingSMSSender(providerName: "vonage"), sns = RecordingSMSSender(providerName: "sns")
        twilio.failEverySend(with: .unavailable(.unreachable, retryAfterSeconds: 30))
        vonage.failEverySend(with: .outcomeUnknown(.timeout, retryAfterSeconds: 30))
        #expect(throws: SMSError.outcomeUnknown(.timeout, retryAfterSeconds: 30)) { try chain([twilio, vonage, sns]).send(FailoverTests.message) }
        #expect(sns.attempted.isEmpty)
    }

    @Test func eachAttemptIsOneLogLineWithProviderOutcomeAndLatencyButNoMessage() throws {
        let logs = LogRecorder()
        let twilio = RecordingSMSSender(providerName: "twilio"), vonage = RecordingSMSSender(providerName: "vonage")
        twilio.failEverySend(with: .unavailable(.status(500), retryAfterSeconds: 30))
        _ = try chain([twilio, vonage], logs: logs).send(FailoverTests.message)
        let attempts = logs.entries.filter { $0.metadata["event"] == "sms.attempt" }
        #expect(attempts.map { $0.metadata["provider"] } == ["twilio", "vonage"])
        #expect(attempts.map { $0.metadata["outcome"] } == ["provider_status_500", "accepted"])
        #expect(attempts.first?.metadata["failover_to"] == "vonage")
        #expect(attempts.allSatisfy { $0.metadata["latency_ms"] != nil })
        #expect(!logs.allText.contains("4155550123"))
        #expect(!logs.allText.contains("123456"))
    }

    @Test func theInFlightBoundCoversTheWholeChain() throws {
        // One slot: while a send is inside the chain (at its second provider), another send is
        // refused at once, and the chain's two attempts took one slot, not two.
        let limit = SMSInFlightLimit(maximum: 1)
        let twilio = RecordingSMSSender(providerName: "twilio"), vonage = RecordingSMSSender(providerName: "vonage")
        twilio.failEverySend(with: .unavailable(.unreachable, retryAfterSeconds: 30))
        // The hook runs synchronously inside this test's own send: no other thread touches it.
        nonisolated(unsafe) let bounded = BoundedSMSSender(chain([twilio, vonage]), limit: limit)
        let seen = Mutex<[Int]>([])
        let refused = Mutex<SMSError?>(nil)
        vonage.whileSending { _ in
            seen.withLock { $0.append(limit.inFlight) }
            do throws(SMSError) { _ = try bounded.send(FailoverTests.message) } catch { refused.withLock { $0 = error } }
        }
        #expect(try bounded.send(FailoverTests.message).provider == "vonage")
        #expect(seen.withLock { $0 } == [1])
        #expect(refused.withLock { $0 } == .unavailable(.inFlightLimit, retryAfterSeconds: 5))
        #expect(limit.inFlight == 0)
        #expect(twilio.attempted.count == 1, "the refused send reached no provider")
    }

    @Test func aChainIsImmediateOnlyWhenEveryProviderIs() {
        #expect(chain([RecordingSMSSender(deliversImmediately: true)]).deliversImmediately)
        #expect(!chain([RecordingSMSSender(deliversImmediately: true), RecordingSMSSender()]).deliversImmediately)
    }
}
