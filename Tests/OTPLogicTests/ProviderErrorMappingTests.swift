import CCurl
import Testing
@testable import OTPLogic
@testable import OTPSMS

/// Every provider answer we know, mapped to what the service and the failover rule do with it.
@Suite("Provider answers")
struct ProviderErrorMappingTests {
    static func answer(_ status: Int, _ body: String) -> CurlEasyHandle.Response {
        CurlEasyHandle.Response(code: CURLE_OK, status: status, body: Array(body.utf8), requestBytesSent: 300)
    }

    static let rateLimited = ProviderAttempt.retryable(.unavailable(.rateLimited, retryAfterSeconds: 10))
    static let credentials = ProviderAttempt.failed(.credentialsRejected(retryAfterSeconds: 60))
    static let unknown = ProviderAttempt.failed(.outcomeUnknown(.unparseableAnswer, retryAfterSeconds: 30))
    static func cannotReceive(_ code: Int) -> ProviderAttempt { .failed(.recipientCannotReceive(providerCode: code)) }
    static func misconfigured(_ code: Int) -> ProviderAttempt { .failed(.misconfigured(providerCode: code, retryAfterSeconds: 60)) }
    static func status(_ code: Int) -> ProviderAttempt { .failed(.unavailable(.status(code), retryAfterSeconds: 30)) }

    // MARK: - Transfers that produced no answer (shared by every provider)

    @Test func transferFailuresMeanTheSameForEveryProvider() {
        func response(_ code: CURLcode, sent: Int) -> CurlEasyHandle.Response { .init(code: code, status: 0, body: [], requestBytesSent: sent) }
        #expect(TransferFailure.classify(response(CURLE_COULDNT_CONNECT, sent: 0)) == .retryable(.unavailable(.unreachable, retryAfterSeconds: 30)))
        #expect(TransferFailure.classify(response(CURLE_COULDNT_RESOLVE_HOST, sent: 0)) == .retryable(.unavailable(.unreachable, retryAfterSeconds: 30)))
        #expect(TransferFailure.classify(response(CURLE_OPERATION_TIMEDOUT, sent: 0)) == .failed(.unavailable(.timeout, retryAfterSeconds: 30)))
        #expect(TransferFailure.classify(response(CURLE_OPERATION_TIMEDOUT, sent: 250)) == .failed(.outcomeUnknown(.timeout, retryAfterSeconds: 30)))
        #expect(TransferFailure.classify(response(CURLE_RECV_ERROR, sent: 250)) == .failed(.outcomeUnknown(.transport(curlCode: 56), retryAfterSeconds: 30)))
        #expect(TransferFailure.classify(response(CURLE_GOT_NOTHING, sent: 0)) == .failed(.unavailable(.transport(curlCode: 52), retryAfterSeconds: 30)))
        #expect(TransferFailure.classify(response(CURLE_PEER_FAILED_VERIFICATION, sent: 0)) == .failed(.unavailable(.tlsFailed(curlCode: 60), retryAfterSeconds: 60)))
        #expect(TransferFailure.classify(ProviderErrorMappingTests.answer(500, "")) == nil)
    }

    // MARK: - Twilio

    static let twilioSID = "SM" + String(repeating: "0123456789abcdef", count: 2)

    static func twilioError(_ code: Int, _ status: Int) -> CurlEasyHandle.Response {
        answer(status, #"{"code": \#(code), "message": "Error", "more_info": "https://www.twilio.com/docs/errors/\#(code)", "status": \#(status)}"#)
    }

    @Test func twilioAnswers() {
        #expect(TwilioResponse.classify(Self.answer(201, #"{"sid": "\#(Self.twilioSID)", "status": "accepted"}"#)) == .accepted(messageID: Self.twilioSID))
        #expect(TwilioResponse.classify(Self.answer(201, #"{"status": "accepted"}"#)) == Self.unknown)
        #expect(TwilioResponse.classify(Self.answer(200, "<html>proxy</html>")) == Self.unknown)
        #expect(TwilioResponse.classify(Self.answer(429, "")) == Self.rateLimited)
        #expect(TwilioResponse.classify(Self.twilioError(20429, 429)) == Self.rateLimited)
        #expect(TwilioResponse.classify(Self.twilioError(20003, 401)) == Self.credentials)
        #expect(TwilioResponse.classify(Self.answer(403, "")) == Self.credentials)
        #expect(TwilioResponse.classify(Self.twilioError(21705, 400)) == Self.misconfigured(21705))
        #expect(TwilioResponse.classify(Self.twilioError(20500, 500)) == Self.status(500))
        #expect(TwilioResponse.classify(Self.answer(503, "")) == Self.status(503))
        #expect(TwilioResponse.classify(Self.answer(400, "not json")) == Self.status(400))
    }

    @Test(arguments: [21211, 21408, 21610, 21612, 21614, 30450, 30453])
    func twilioCodesForARecipientThatCannotReceive(_ code: Int) {
        #expect(TwilioResponse.classify(Self.twilioError(code, 400)) == Self.cannotReceive(code))
    }

    // MARK: - AWS SNS

    static func snsError(_ code: String, _ status: Int, message: String = "Something") -> CurlEasyHandle.Response {
        answer(status, """
            <ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
              <Error><Type>Sender</Type><Code>\(code)</Code><Message>\(message)</Message></Error>
              <RequestId>9b1a8b9c-0000-0000-0000-000000000000</RequestId>
            </ErrorResponse>
            """)
    }

    @Test func snsAcceptedOnlyWithAMessageId() {
        let published = """
            <PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
              <PublishResult><MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId></PublishResult>
              <ResponseMetadata><RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0</RequestId></ResponseMetadata>
            </PublishResponse>
            """
        #expect(SNSResponse.classify(Self.answer(200, published)) == .accepted(messageID: "567910cd-659e-55d4-8ccb-5aaf14679dc0"))
        #expect(SNSResponse.classify(Self.answer(200, "<PublishResponse></PublishResponse>")) == Self.unknown)
        #expect(SNSResponse.classify(Self.answer(200, "")) == Self.unknown)
    }

    @Test(arguments: ["Throttling", "ThrottlingException"])
    func snsThrottlingIsTransient(_ code: String) {
        #expect(SNSResponse.classify(Self.snsError(code, 400)) == Self.rateLimited)
    }

    @Test(arguments: ["InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken", "AuthorizationError"])
    func snsCredentialErrors(_ code: String) {
        #expect(SNSResponse.classify(Self.snsError(code, 403)) == Self.credentials)
    }

    @Test func snsRecipientErrorsAreFinal() {
        #expect(SNSResponse.classify(Self.snsError("InvalidParameter", 400, message: "Invalid parameter: PhoneNumber Reason: +1 is not valid")) == Self.cannotReceive(400))
        #expect(SNSResponse.classify(Self.snsError("InvalidParameterValue", 400, message: "Invalid parameter: PhoneNumber")) == Self.cannotReceive(400))
        #expect(SNSResponse.classify(Self.snsError("OptedOut", 400, message: "Phone number is opted out")) == Self.cannotReceive(400))
    }

    @Test func snsOtherParameterErrorsAreOurs() {
        #expect(SNSResponse.classify(Self.snsError("InvalidParameter", 400, message: "Invalid parameter: Message too long")) == Self.misconfigured(400))
        #expect(SNSResponse.classify(Self.snsError("InvalidAction", 400)) == Self.misconfigured(400))
    }

    @Test func snsServerErrorsAreTransient() {
        #expect(SNSResponse.classify(Self.snsError("InternalError", 500)) == Self.status(500))
        #expect(SNSResponse.classify(Self.answer(503, "Service Unavailable")) == Self.status(503))
        #expect(SNSResponse.classify(Self.answer(429, "")) == Self.rateLimited)
    }

    // MARK: - Vonage

    static func vonage(_ status: String, id: String? = "0A0000000123ABCD1") -> CurlEasyHandle.Response {
        let idMember = id.map { #""message-id": "\#($0)", "# } ?? ""
        return answer(200, #"{"message-count": "1", "messages": [{"to": "447700900000", \#(idMember)"status": "\#(status)", "remaining-balance": "3.14", "message-price": "0.03", "network": "12345"}]}"#)
    }

    @Test func vonageAcceptedWithItsMessageId() {
        #expect(VonageResponse.classify(Self.vonage("0")) == .accepted(messageID: "0A0000000123ABCD1"))
        #expect(VonageResponse.classify(Self.vonage("0", id: nil)) == Self.unknown)
        #expect(VonageResponse.classify(Self.answer(200, "<html/>")) == Self.unknown)
        #expect(VonageResponse.classify(Self.answer(200, #"{"message-count": "1", "messages": []}"#)) == Self.unknown)
    }

    @Test func vonageEveryPartMustBeAccepted() {
        let twoParts = #"{"message-count": "2", "messages": [{"message-id": "A1", "status": "0"}, {"status": "7", "error-text": "Number barred"}]}"#
        #expect(VonageResponse.classify(Self.answer(200, twoParts)) == Self.cannotReceive(7))
        let bothAccepted = #"{"message-count": "2", "messages": [{"message-id": "A1", "status": "0"}, {"message-id": "A2", "status": "0"}]}"#
        #expect(VonageResponse.classify(Self.answer(200, bothAccepted)) == .accepted(messageID: "A1"))
    }

    @Test(arguments: [
        ("1", ProviderErrorMappingTests.rateLimited),
        ("2", ProviderErrorMappingTests.misconfigured(2)),
        ("3", ProviderErrorMappingTests.misconfigured(3)),
        ("4", ProviderErrorMappingTests.credentials),
        ("5", ProviderErrorMappingTests.status(5)),
        ("6", ProviderErrorMappingTests.misconfigured(6)),
        ("7", ProviderErrorMappingTests.cannotReceive(7)),
        ("8", ProviderErrorMappingTests.misconfigured(8)),
        ("9", ProviderAttempt.failed(.unavailable(.status(9), retryAfterSeconds: 300))),
        ("15", ProviderErrorMappingTests.misconfigured(15)),
        ("29", ProviderErrorMappingTests.cannotReceive(29)),
    ])
    func vonageStatusCodes(_ status: String, _ expected: ProviderAttempt) {
        #expect(VonageResponse.classify(Self.vonage(status, id: nil)) == expected)
    }

    @Test func vonageHTTPErrors() {
        #expect(VonageResponse.classify(Self.answer(500, "")) == Self.status(500))
        #expect(VonageResponse.classify(Self.answer(429, "")) == Self.rateLimited)
        #expect(VonageResponse.classify(Self.answer(401, "")) == Self.credentials)
    }

    @Test func vonageOutcomesAreTransientOrFinalAsTheFailoverRuleNeeds() {
        // Throttled, internal error and quota go to the next provider; barred numbers never do.
        for status in [1, 5, 9, 4, 2] {
            guard case .failed(let error) = VonageResponse.outcome(ofStatus: status) else {
                if case .retryable(let error) = VonageResponse.outcome(ofStatus: status) { #expect(SMSFailoverPolicy.mayTryNext(after: error)) }
                continue
            }
            #expect(SMSFailoverPolicy.mayTryNext(after: error), "status \(status)")
        }
        for status in [7, 29] {
            guard case .failed(let error) = VonageResponse.outcome(ofStatus: status) else { Issue.record("status \(status)"); continue }
            #expect(!SMSFailoverPolicy.mayTryNext(after: error), "status \(status)")
        }
    }
}
