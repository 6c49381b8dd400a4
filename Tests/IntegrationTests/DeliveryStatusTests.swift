import Foundation
import Testing

extension Integration {
    /// Status callbacks through nginx's public /api/otp/delivery-status location: the fakes sign
    /// them the way Twilio and Vonage do; otp-fcgi stores and counts the signed ones, refuses the
    /// rest (403) without a trace in the database or the metrics.
    @Suite struct DeliveryStatus {
        static let phone = "+14155550172"
        static let path = "/api/otp/delivery-status"

        /// The stored deliveries of `purpose`, one line each.
        static func deliveries(_ stack: TestStack, _ purpose: String = "step_up") throws -> String {
            try sqlite(stack.databasePath, "SELECT provider, purpose, status, coalesce(error_code, '') FROM sms_deliveries WHERE purpose = '\(purpose)'")
        }

        static func deliveryMetric(_ stack: TestStack, _ provider: String, _ status: String) -> Double {
            PrometheusText(stack.statusClient.request("GET", "/metrics").body)["otp_sms_delivery_total{provider=\"\(provider)\",status=\"\(status)\"}"] ?? 0
        }

        /// alice's step-up SMS through the fake Twilio: the request Twilio received.
        static func sendStepUp(_ stack: TestStack, _ twilio: FakeTwilio) throws -> FakeRequest {
            try stack.ensureVerifiedPhone(DeliveryStatus.phone, of: .alice)
            let sent = stack.send(DeliveryStatus.phone, "step_up")
            guard sent.status == 200, let request = twilio.requests.last else { throw StackError("step_up send answered \(sent.status)") }
            return request
        }

        @Test func signedTwilioCallbackIsStoredAndCountedUnsignedOrTamperedIsRefused() throws {
            let twilio = try FakeTwilio()
            let stack = try TestStack(.init(twilio: twilio, publicBaseURL: true))
            defer { stack.finish() }
            let request = try DeliveryStatus.sendStepUp(stack, twilio)
            // Our StatusCallback, with the message's reference: the URL Twilio posts to and signs.
            let callbackURL = try #require(request.field("StatusCallback"))
            let reference = callbackURL.dropFirst((stack.publicBaseURL + DeliveryStatus.path + "?ref=").count)
            #expect(callbackURL.hasPrefix(stack.publicBaseURL + DeliveryStatus.path + "?ref="))
            #expect(reference.count == 28 && reference.allSatisfy(\.isHexDigit), "\(callbackURL)")
            let callbackPath = String(callbackURL.dropFirst(stack.publicBaseURL.count))
            let before = try DeliveryStatus.deliveries(stack)
            #expect(before == "twilio|step_up|sent|")

            // Unsigned, wrongly signed, and signed-then-changed: 403, nothing stored or counted.
            let fields = FakeTwilio.statusCallback(for: request, status: "undelivered", errorCode: 30003)
            let unsigned = FakeTwilio.callbackRequest(url: callbackURL, fields: fields, signature: .some(nil))
            let forged = FakeTwilio.callbackRequest(url: callbackURL, fields: fields, signature: FakeTwilio.signature(url: callbackURL, fields: fields, authToken: "guessed"))
            let signed = FakeTwilio.callbackRequest(url: callbackURL, fields: FakeTwilio.statusCallback(for: request, status: "delivered"))
            let tampered = (body: FakeVonage.form(fields), headers: signed.headers)
            for (label, attempt) in [("unsigned", unsigned), ("forged", forged), ("tampered", tampered)] {
                let answer = stack.client.request("POST", callbackPath, headers: attempt.headers, body: attempt.body)
                #expect(answer.status == 403, "\(label)")
                #expect(answer.body == #"{"detail": "Invalid or missing signature"}"#, "\(label)")
            }
            #expect(try DeliveryStatus.deliveries(stack) == before)
            #expect(DeliveryStatus.deliveryMetric(stack, "twilio", "undelivered") == 0)
            #expect(stack.responderLog.contains("reason=unsigned"))
            #expect(stack.responderLog.contains("reason=bad_signature"))

            // Signed by the fake as Twilio signs: stored and counted; a later "sent" changes nothing.
            #expect(stack.client.request("POST", callbackPath, headers: signed.headers, body: signed.body).status == 200)
            #expect(try DeliveryStatus.deliveries(stack) == "twilio|step_up|delivered|")
            #expect(DeliveryStatus.deliveryMetric(stack, "twilio", "delivered") == 1)
            let late = FakeTwilio.callbackRequest(url: callbackURL, fields: FakeTwilio.statusCallback(for: request, status: "sent"))
            #expect(stack.client.request("POST", callbackPath, headers: late.headers, body: late.body).status == 200)
            #expect(try DeliveryStatus.deliveries(stack) == "twilio|step_up|delivered|")

            // The operator's view: the delivery rate per provider for the last hour.
            let stats = try ChildProcess.run(TestStack.binary, ["stats"], environment: stack.environment, stderr: .capture)
            #expect(stats.output.contains("delivery in the last hour, twilio: accepted 2, delivered 1, not delivered 0, no report yet 1, delivery rate 100.0%"), "\(stats.output)")
        }

        @Test func undeliveredStepUpSMSShowsUpAsAWarning() throws {
            let twilio = try FakeTwilio()
            let stack = try TestStack(.init(twilio: twilio, publicBaseURL: true))
            defer { stack.finish() }
            let request = try DeliveryStatus.sendStepUp(stack, twilio)
            let url = try #require(request.field("StatusCallback"))
            let callback = FakeTwilio.callbackRequest(url: url, fields: FakeTwilio.statusCallback(for: request, status: "undelivered", errorCode: 30003))
            let path = String(url.dropFirst(stack.publicBaseURL.count))
            #expect(stack.client.request("POST", path, headers: callback.headers, body: callback.body).status == 200)
            #expect(try DeliveryStatus.deliveries(stack) == "twilio|step_up|undelivered|30003")
            #expect(DeliveryStatus.deliveryMetric(stack, "twilio", "undelivered") == 1)
            #expect(stack.responderLog.contains("level=warning msg=\"SMS not delivered\""))
        }

        @Test func signedVonageReceiptIsStoredUnsignedIsRefused() throws {
            let vonage = try FakeVonage()
            let stack = try TestStack(.init(environment: ["OTP_SMS_PROVIDER": "vonage"], vonage: vonage))
            defer { stack.finish() }
            #expect(stack.send(DeliveryStatus.phone, "verify_phone").status == 200)
            let request = try #require(vonage.requests.last)
            // Sent with our reference as its client-ref, which Vonage returns in the receipts.
            #expect(try sqlite(stack.databasePath, "SELECT reference FROM sms_deliveries") == request.field("client-ref"))
            let headers = ["Content-Type: application/x-www-form-urlencoded"]
            let unsigned = FakeVonage.form(FakeVonage.deliveryReceipt(for: request, status: "delivered", signed: false))
            #expect(stack.client.request("POST", DeliveryStatus.path, headers: headers, body: unsigned).status == 403)
            let stale = FakeVonage.form(FakeVonage.deliveryReceipt(for: request, status: "delivered", timestamp: Int(Date().timeIntervalSince1970) - 3600))
            #expect(stack.client.request("POST", DeliveryStatus.path, headers: headers, body: stale).status == 403)
            #expect(try DeliveryStatus.deliveries(stack, "verify_phone") == "vonage|verify_phone|sent|")
            let signed = FakeVonage.form(FakeVonage.deliveryReceipt(for: request, status: "delivered"))
            #expect(stack.client.request("POST", DeliveryStatus.path, headers: headers, body: signed).status == 200)
            #expect(try DeliveryStatus.deliveries(stack, "verify_phone") == "vonage|verify_phone|delivered|")
            #expect(DeliveryStatus.deliveryMetric(stack, "vonage", "delivered") == 1)
        }

        @Test func theLocationTakesOnlyPostedForms() throws {
            let stack = try TestStack(.init(publicBaseURL: true))
            defer { stack.finish() }
            #expect(stack.client.request("GET", DeliveryStatus.path).status == 405)
            #expect(stack.client.postJSON(DeliveryStatus.path, "{}").status == 415)
            let big = String(repeating: "a", count: 9000)
            #expect(stack.client.request("POST", DeliveryStatus.path, headers: ["Content-Type: application/x-www-form-urlencoded"], body: "x=\(big)").status == 413)
        }
    }
}
