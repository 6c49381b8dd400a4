import MetricsTestKit
import Testing
@testable import OTPLogic
import TestSupport

/// Signatures of the providers' callbacks, the strict form reader, and the delivery-status
/// endpoint from the request value to the stored status, the metrics and the log.
@Suite("Delivery status")
struct DeliveryStatusTests {
    // MARK: - Signatures

    /// Twilio's own example (TwilioDevEd/api-snippets, security/signature_validation, the
    /// validator samples Twilio's webhook security docs show): auth token 12345, this URL and
    /// these POST parameters sign to GvWf1cFY/Q7PnoempGyD5oXAezc=.
    @Test func twilioSignatureMatchesTwiliosPublishedExample() {
        let fields = [
            FormField("CallSid", "CA1234567890ABCDE"), FormField("Caller", "+14158675310"), FormField("Digits", "1234"),
            FormField("From", "+14158675310"), FormField("To", "+18005551212"),
        ]
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        #expect(TwilioSignature.expected(authToken: "12345", url: url, fields: fields) == "GvWf1cFY/Q7PnoempGyD5oXAezc=")
        #expect(TwilioSignature.isValid("GvWf1cFY/Q7PnoempGyD5oXAezc=", authToken: "12345", url: url, fields: fields.reversed()))
        #expect(!TwilioSignature.isValid("GvWf1cFY/Q7PnoempGyD5oXAezc=", authToken: "12346", url: url, fields: fields))
        #expect(!TwilioSignature.isValid("GvWf1cFY/Q7PnoempGyD5oXAezc=", authToken: "12345", url: url + "&baz=3", fields: fields))
        #expect(!TwilioSignature.isValid("", authToken: "12345", url: url, fields: fields))
    }

    /// Vonage publishes no example with its values; these were derived independently with
    /// Python's hashlib/hmac from the rule in Vonage's "Signing Messages" guide (sorted `&k=v`,
    /// `&` and `=` in values as `_`, `sig` left out; md5hash appends the secret).
    static let vonageFields = [
        FormField("messageId", "0A0000000123ABCD1"), FormField("status", "delivered"), FormField("timestamp", "1700000000"),
        FormField("err-code", "0"), FormField("msisdn", "447700900000"), FormField("to", "Acme&Co=1"),
    ]

    @Test func vonageSignatureMethods() {
        #expect(VonageSignature.expected(secret: "sekrit", method: .md5hash, fields: Self.vonageFields) == "b50917a40a2f87459e3d623ebfbad62a")
        #expect(VonageSignature.expected(secret: "sekrit", method: .sha256, fields: Self.vonageFields)
            == "9d640b46721337e9e5cf06160fad384fba7da383f67e53c6aed6b477b8877809")
        let signed = Self.vonageFields + [FormField("sig", "B50917A40A2F87459E3D623EBFBAD62A")]
        #expect(VonageSignature.isValid("B50917A40A2F87459E3D623EBFBAD62A", secret: "sekrit", method: .md5hash, fields: signed))
        #expect(!VonageSignature.isValid("b50917a40a2f87459e3d623ebfbad62a", secret: "other", method: .md5hash, fields: signed))
    }

    // MARK: - The strict form reader

    @Test func formBodyDecodesPlusAndPercent() throws {
        let fields = try FormBody.parse(Array("MessageSid=SM1&Body=a+b%2Bc%C3%BC&Empty=".utf8))
        #expect(fields == [FormField("MessageSid", "SM1"), FormField("Body", "a b+cü"), FormField("Empty", "")])
        #expect(try FormBody.parse([]) == [])
    }

    @Test(arguments: ["a=1&&b=2", "a=1&", "novalue", "=x", "a=%4", "a=%zz", "a=1&a=2", "a=%ff%fe", "a=%00"])
    func formBodyRefuses(_ body: String) {
        #expect(throws: FormBody.Failure.self) { try FormBody.parse(Array(body.utf8)) }
    }

    @Test func formBodyRefusesTooManyFields() {
        let body = (0...FormBody.maximumFields).map { "f\($0)=1" }.joined(separator: "&")
        #expect(throws: FormBody.Failure.self) { try FormBody.parse(Array(body.utf8)) }
    }

    // MARK: - The policy

    @Test func aFinalStatusIsNeverOverwrittenAndADeliveryHasALatency() throws {
        let record = SMSDeliveryRecord(provider: "twilio", messageID: "SM1", purpose: .stepUp, sentAt: 1000)
        #expect(DeliveryStatusPolicy.apply(.init(provider: "twilio", messageID: "SM1", status: .sent), to: record, at: 1002) == nil)
        let unknown = try #require(DeliveryStatusPolicy.apply(.init(provider: "twilio", messageID: "SM1", status: .unknown), to: record, at: 1003))
        #expect(unknown.latencySeconds == nil && unknown.record.status == .unknown)
        let delivered = try #require(DeliveryStatusPolicy.apply(.init(provider: "twilio", messageID: "SM1", status: .delivered), to: record, at: 1004))
        #expect(delivered.latencySeconds == 4)
        #expect(delivered.record.status == .delivered && delivered.record.statusAt == 1004)
        #expect(DeliveryStatusPolicy.apply(.init(provider: "twilio", messageID: "SM1", status: .sent), to: delivered.record, at: 1005) == nil)
        #expect(DeliveryStatusPolicy.apply(.init(provider: "twilio", messageID: "SM1", status: .failed), to: delivered.record, at: 1005) == nil)
    }

    @Test func providerStatusesMapToOurs() {
        #expect(DeliveryStatus(twilio: "delivered") == .delivered)
        #expect(DeliveryStatus(twilio: "undelivered") == .undelivered)
        #expect(DeliveryStatus(twilio: "failed") == .failed)
        #expect(DeliveryStatus(twilio: "sent") == .sent)
        #expect(DeliveryStatus(twilio: "queued") == .sent)
        #expect(DeliveryStatus(twilio: "teleported") == nil)
        #expect(DeliveryStatus(vonage: "expired") == .undelivered)
        #expect(DeliveryStatus(vonage: "rejected") == .failed)
        #expect(DeliveryStatus(vonage: "buffered") == .sent)
        #expect(DeliveryStatus(vonage: "unknown") == .unknown)
    }

    // MARK: - The endpoint

    static let authToken = "twilio-auth-token-for-tests"
    static let base = "https://portal.example"
    static let path = "/api/otp/delivery-status"
    static let callbacks = DeliveryCallbackConfiguration(
        publicBaseURL: base, twilioAuthToken: Secret(authToken), vonageSignatureSecret: Secret("vonage-signature-secret"), vonageSignatureMethod: .sha256
    )

    static func form(_ fields: [FormField]) -> String {
        fields.map { "\($0.name)=\(FormBody.percentEncoded($0.value))" }.joined(separator: "&")
    }

    /// The path Twilio posts to: our `StatusCallback`, with the message's reference when it has one.
    static func callbackPath(_ reference: DeliveryReference?) -> String {
        path + (reference.map { "?ref=\($0.text)" } ?? "")
    }

    static func callback(
        _ fields: [FormField], signature: String?, reference: DeliveryReference? = nil, contentType: String = "application/x-www-form-urlencoded",
        method: String = "POST"
    ) -> HTTPRequest {
        HTTPRequest(
            method: method, documentURI: path, endpoint: "delivery-status", contentType: contentType, body: .complete(Array(form(fields).utf8)),
            twilioSignature: signature, requestURI: callbackPath(reference)
        )
    }

    static func twilioCallback(sid: String, status: String, errorCode: String? = nil) -> [FormField] {
        var fields = [
            FormField("AccountSid", "AC" + String(repeating: "0", count: 32)), FormField("From", "+15005550006"), FormField("MessageSid", sid),
            FormField("MessageStatus", status), FormField("SmsSid", sid), FormField("SmsStatus", status), FormField("To", "+14155550123"),
        ]
        if let errorCode { fields.append(FormField("ErrorCode", errorCode)) }
        return fields
    }

    static func signed(_ fields: [FormField], reference: DeliveryReference? = nil) -> String {
        TwilioSignature.expected(authToken: authToken, url: base + callbackPath(reference), fields: fields)
    }

    /// A Twilio callback as Twilio posts it: to the message's `StatusCallback`, signed.
    static func signedCallback(_ fields: [FormField], reference: DeliveryReference?) -> HTTPRequest {
        callback(fields, signature: signed(fields, reference: reference), reference: reference)
    }

    private func harnessWithOneSentMessage(metrics: OTPMetrics = OTPMetrics(), provider: String = "twilio") throws -> (Harness, SMSReceipt) {
        let h = try Harness(metrics: metrics, deliveryCallbacks: DeliveryStatusTests.callbacks, providerName: provider)
        try h.send()
        return (h, try #require(h.sender.receipts.last))
    }

    /// The reference the last message was sent with.
    private func lastReference(_ h: Harness) throws -> DeliveryReference {
        try #require(h.sender.delivered.last?.reference)
    }

    @Test func anAcceptedMessageIsStoredWithoutPhoneOrBody() throws {
        let (h, receipt) = try harnessWithOneSentMessage()
        #expect(try h.rows("SELECT provider, message_id, purpose, sent_at, status, status_at FROM sms_deliveries")
            == [[receipt.provider, receipt.messageID, "verify_phone", "\(Fixture.start)", "sent", nil]])
        let everything = try h.rows("SELECT * FROM sms_deliveries").flatMap { $0 }.compactMap { $0 }.joined(separator: " ")
        #expect(!everything.contains("4155550123"))
    }

    @Test func aSignedTwilioCallbackIsStoredCountedAndTimed() throws {
        let metrics = TestMetrics()
        let (h, receipt) = try harnessWithOneSentMessage(metrics: OTPMetrics(factory: metrics))
        h.clock.advance(by: 7)
        let fields = Self.twilioCallback(sid: receipt.messageID, status: "delivered")
        let answer = h.handler.respond(to: Self.signedCallback(fields, reference: try lastReference(h)))
        #expect(answer.status == 200)
        #expect(try h.rows("SELECT status, status_at FROM sms_deliveries") == [["delivered", "\(Fixture.start + 7)"]])
        #expect(try metrics.expectCounter("otp_sms_delivery_total", [("provider", "twilio"), ("status", "delivered")]).totalValue == 1)
        #expect(try metrics.expectTimer("otp_sms_delivery_latency_seconds", [("provider", "twilio")]).values == [7_000_000_000])
        #expect(!h.logs.allText.contains("4155550123"))
    }

    @Test func anUndeliveredStepUpSMSIsAWarningWithItsErrorCode() throws {
        let h = try Harness(deliveryCallbacks: Self.callbacks, providerName: "twilio")
        try h.givePhone(to: "alice")
        try h.send(nil, .stepUp, user: "alice")
        let receipt = try #require(h.sender.receipts.last)
        let fields = Self.twilioCallback(sid: receipt.messageID, status: "undelivered", errorCode: "30003")
        #expect(h.handler.respond(to: Self.signedCallback(fields, reference: try lastReference(h))).status == 200)
        let line = try #require(h.logs.entries.last { $0.metadata["event"] == "sms.delivery" })
        #expect(line.level == .warning)
        #expect(line.metadata["purpose"] == "step_up")
        #expect(line.metadata["error_code"] == "30003")
        #expect(try h.rows("SELECT status, error_code FROM sms_deliveries WHERE purpose = 'step_up'") == [["undelivered", "30003"]])
    }

    @Test(arguments: [
        ("unsigned", nil as String?, "MessageStatus", "delivered"),
        ("wrong signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "MessageStatus", "delivered"),
        ("tampered after signing", "sign-then-change", "MessageStatus", "failed"),
    ])
    func anUnsignedOrTamperedTwilioCallbackIs403AndChangesNothing(_ label: String, _ signature: String?, _ field: String, _ value: String) throws {
        let metrics = TestMetrics()
        let (h, receipt) = try harnessWithOneSentMessage(metrics: OTPMetrics(factory: metrics))
        var fields = Self.twilioCallback(sid: receipt.messageID, status: "delivered")
        var sent = signature
        if signature == "sign-then-change" {
            sent = Self.signed(fields)
            fields = fields.map { $0.name == field ? FormField(field, value) : $0 }
        }
        let answer = h.handler.respond(to: Self.callback(fields, signature: sent))
        #expect(answer.status == 403, "\(label)")
        #expect(answer.body == #"{"detail": "Invalid or missing signature"}"#)
        #expect(try h.rows("SELECT status, status_at FROM sms_deliveries") == [["sent", nil]], "\(label)")
        #expect(metrics.counters.filter { $0.label == "otp_sms_delivery_total" }.allSatisfy { $0.totalValue == 0 })
        #expect(h.logs.entries.contains { $0.metadata["outcome"] == "refused" && $0.metadata["provider"] == "twilio" }, "\(label)")
        #expect(!h.logs.allText.contains(Self.authToken))
    }

    @Test func twilioCallbacksAreRefusedWithoutAPublicBaseURL() throws {
        let h = try Harness(deliveryCallbacks: DeliveryCallbackConfiguration(twilioAuthToken: Secret(Self.authToken)))
        let fields = Self.twilioCallback(sid: "SM1", status: "delivered")
        #expect(h.handler.respond(to: Self.callback(fields, signature: Self.signed(fields))).status == 403)
    }

    @Test func aSignedVonageReceiptIsStored() throws {
        let (h, receipt) = try harnessWithOneSentMessage(provider: "vonage")
        var fields = [
            FormField("msisdn", "14155550123"), FormField("to", "AcmeInc"), FormField("network-code", "12345"), FormField("messageId", receipt.messageID),
            FormField("price", "0.03330000"), FormField("status", "delivered"), FormField("scts", "2001011400"), FormField("err-code", "0"),
            FormField("api-key", "abcd1234"), FormField("message-timestamp", "2020-01-01 12:00:00"), FormField("timestamp", "\(Fixture.start)"),
            FormField("client-ref", try lastReference(h).text),
        ]
        fields.append(FormField("sig", VonageSignature.expected(secret: "vonage-signature-secret", method: .sha256, fields: fields).uppercased()))
        #expect(h.handler.respond(to: Self.callback(fields, signature: nil)).status == 200)
        #expect(try h.rows("SELECT status FROM sms_deliveries") == [["delivered"]])
    }

    @Test func vonageReceiptsUnsignedWronglySignedOrStaleAre403() throws {
        let (h, receipt) = try harnessWithOneSentMessage(provider: "vonage")
        let base = [FormField("messageId", receipt.messageID), FormField("status", "delivered"), FormField("err-code", "0")]
        let unsigned = base + [FormField("timestamp", "\(Fixture.start)")]
        let wrong = unsigned + [FormField("sig", String(repeating: "0", count: 64))]
        let staleFields = base + [FormField("timestamp", "\(Fixture.start - 3600)")]
        let stale = staleFields + [FormField("sig", VonageSignature.expected(secret: "vonage-signature-secret", method: .sha256, fields: staleFields))]
        for fields in [unsigned, wrong, stale] {
            #expect(h.handler.respond(to: Self.callback(fields, signature: nil)).status == 403)
        }
        #expect(try h.rows("SELECT status FROM sms_deliveries") == [["sent"]])
    }

    @Test func theEndpointChecksMethodTypeAndForm() throws {
        let h = try Harness(deliveryCallbacks: Self.callbacks)
        let fields = Self.twilioCallback(sid: "SM1", status: "delivered")
        #expect(h.handler.respond(to: Self.callback(fields, signature: Self.signed(fields), method: "GET")).status == 405)
        #expect(h.handler.respond(to: Self.callback(fields, signature: Self.signed(fields), contentType: "application/json")).status == 415)
        var broken = Self.callback(fields, signature: Self.signed(fields))
        broken.body = .complete(Array("MessageSid=SM1&&x".utf8))
        #expect(h.handler.respond(to: broken).status == 400)
        #expect(h.handler.respond(to: Self.callback([FormField("Hello", "world")], signature: nil)).status == 422)
    }

    @Test func aSignedCallbackForAMessageWeDoNotKnowIsAcknowledgedAndChangesNothing() throws {
        let (h, _) = try harnessWithOneSentMessage()
        let fields = Self.twilioCallback(sid: "SM" + String(repeating: "f", count: 32), status: "delivered")
        #expect(h.handler.respond(to: Self.callback(fields, signature: Self.signed(fields))).status == 200)
        #expect(try h.rows("SELECT status FROM sms_deliveries") == [["sent"]])
    }

    /// A callback names its message twice, by our reference and by the provider's id: both must
    /// match one stored message. The rows written since there are references have no index by the
    /// provider's id, so a callback without a reference finds none of them.
    @Test func aCallbackChangesOnlyTheMessageItsReferenceAndIdBothName() throws {
        let h = try Harness(deliveryCallbacks: Self.callbacks, providerName: "twilio")
        try h.send(Fixture.phone)
        try h.send(Fixture.otherPhone)
        let (first, second) = (h.sender.receipts[0], h.sender.receipts[1])
        let (firstReference, secondReference) = (try #require(h.sender.delivered[0].reference), try #require(h.sender.delivered[1].reference))
        #expect(firstReference != secondReference)
        let statuses = "SELECT message_id, status FROM sms_deliveries ORDER BY rowid"
        let before = try h.rows(statuses)
        #expect(before == [[first.messageID, "sent"], [second.messageID, "sent"]])

        let crossed = Self.twilioCallback(sid: second.messageID, status: "delivered")
        #expect(h.handler.respond(to: Self.signedCallback(crossed, reference: firstReference)).status == 200)
        #expect(h.handler.respond(to: Self.signedCallback(crossed, reference: nil)).status == 200)
        #expect(try h.rows(statuses) == before)
        #expect(h.logs.entries.filter { $0.metadata["outcome"] == "unknown_message" }.count == 2)

        #expect(h.handler.respond(to: Self.signedCallback(crossed, reference: secondReference)).status == 200)
        #expect(try h.rows(statuses) == [[first.messageID, "sent"], [second.messageID, "delivered"]])
    }

    /// A message stored before there were references (a database migrated while its callbacks
    /// were still on their way) is found by its provider's id alone.
    @Test func aMessageStoredWithoutAReferenceIsFoundByItsIdAlone() throws {
        let h = try Harness(deliveryCallbacks: Self.callbacks, providerName: "twilio")
        let sid = "SM" + String(repeating: "a", count: 32)
        try h.store.writeTransaction { transaction throws(StoreError) in
            try transaction.insertSMSDelivery(SMSDeliveryRecord(provider: "twilio", messageID: sid, purpose: .stepUp, sentAt: Fixture.start))
        }
        let fields = Self.twilioCallback(sid: sid, status: "delivered")
        #expect(h.handler.respond(to: Self.signedCallback(fields, reference: nil)).status == 200)
        #expect(try h.rows("SELECT message_id, status, reference FROM sms_deliveries") == [[sid, "delivered", nil]])
    }

    @Test(arguments: ["?ref=ABC", "?ref=", "?ref=0123456789abcdef0123456789ab&ref=0123456789abcdef0123456789ab", "?ref=0123456789ABCDEF0123456789ab"])
    func aCallbackWithAReferenceNotOfOursIs422AndChangesNothing(_ query: String) throws {
        let (h, receipt) = try harnessWithOneSentMessage()
        let fields = Self.twilioCallback(sid: receipt.messageID, status: "delivered")
        var request = Self.callback(fields, signature: TwilioSignature.expected(authToken: Self.authToken, url: Self.base + Self.path + query, fields: fields))
        request.requestURI = Self.path + query
        #expect(h.handler.respond(to: request).status == 422, "\(query)")
        #expect(try h.rows("SELECT status FROM sms_deliveries") == [["sent"]])
    }

    @Test func referencesGrowWithTheClockAndReadBackOnlyInTheirOwnForm() throws {
        let early = DeliveryReference(milliseconds: 1_764_000_000_123, random: [0xff, 0, 0, 0, 0, 0, 0, 0xff])
        let late = DeliveryReference(milliseconds: 1_764_000_000_124, random: [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(early.text == "019ab697e87bff000000000000ff")
        #expect(DeliveryReference(milliseconds: 5, random: [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]).text == "0000000000050123456789abcdef")
        #expect(DeliveryReference(milliseconds: 0xfedc_ba98_7654, random: [0, 0, 0, 0, 0, 0, 0, 0]).text == "fedcba987654" + String(repeating: "0", count: 16))
        #expect(early.text < late.text)
        #expect(DeliveryReference(early.text) == early)
        for bad in ["", early.text.uppercased(), String(early.text.dropLast()), early.text + "0", "019a9bd3d5fbff00000000000g0f"] {
            #expect(DeliveryReference(bad) == nil, "\(bad)")
        }
        var generator = SecretGenerator()
        #expect(generator.deliveryReference(milliseconds: 5) != generator.deliveryReference(milliseconds: 5))
    }

    @Test func theDeliveryEndpointIsReachableOnlyThroughOTPEndpoint() throws {
        #expect(try Route.resolve(HTTPRequest(method: "POST", documentURI: "/x", endpoint: "delivery-status")) == .deliveryStatus)
        #expect(throws: RequestError.notFound) { try Route.resolve(HTTPRequest(method: "POST", documentURI: "/api/otp/delivery-status")) }
    }

    @Test func statisticsGiveTheDeliveryRatePerProvider() {
        let records = [
            SMSDeliveryRecord(provider: "twilio", messageID: "1", purpose: .stepUp, sentAt: 0, status: .delivered),
            SMSDeliveryRecord(provider: "twilio", messageID: "2", purpose: .stepUp, sentAt: 0, status: .delivered),
            SMSDeliveryRecord(provider: "twilio", messageID: "3", purpose: .stepUp, sentAt: 0, status: .undelivered),
            SMSDeliveryRecord(provider: "twilio", messageID: "4", purpose: .stepUp, sentAt: 0, status: .sent),
            SMSDeliveryRecord(provider: "vonage", messageID: "5", purpose: .verifyPhone, sentAt: 0, status: .failed),
        ]
        let statistics = DeliveryStatistics(records)
        #expect(statistics.providers["twilio"]?.accepted == 4)
        #expect(statistics.providers["twilio"]?.pending == 1)
        #expect(statistics.providers["twilio"]?.deliveryRatePercent.map { Int($0.rounded()) } == 67)
        #expect(statistics.providers["vonage"]?.deliveryRatePercent == 0)
    }
}
