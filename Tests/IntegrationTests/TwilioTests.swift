import Foundation
import Testing

extension Integration {
    /// The real provider path: otp-fcgi → libcurl → a fake Twilio on loopback, through nginx.
    @Suite struct Twilio {
        static let phone = "+14155550170"

        @Test func deliversWithTwilioWireFormat() throws {
            let twilio = try FakeTwilio()
            let stack = try TestStack(.init(twilio: twilio))
            defer { stack.finish() }

            try stack.ensureVerifiedPhone(Twilio.phone, of: .alice)
            let sent = stack.send(Twilio.phone, "step_up")
            #expect(sent.status == 200)
            #expect(sent.body == #"{"status": "sent", "phone_hint": "…0170"}"#)
            let request = try #require(twilio.requests.last)
            #expect(twilio.requests.count == 2)
            #expect(request.path == "/2010-04-01/Accounts/\(FakeTwilio.accountSID)/Messages.json")
            #expect(request.contentType == "application/x-www-form-urlencoded")
            #expect(request.fields.map(\.0) == ["To", "MessagingServiceSid", "Body"])
            #expect(request.field("To") == Twilio.phone, "a + must arrive as +, not as a space")
            #expect(request.rawBody.contains("To=%2B14155550170"))
            #expect(request.field("MessagingServiceSid") == FakeTwilio.messagingServiceSID)
            let body = try #require(request.field("Body"))
            #expect(body.contains("confirm a sensitive action"))
            #expect(body.contains("10 minutes"))

            let code = try #require(request.code)
            #expect(stack.verify(Twilio.phone, "step_up", code: code).status == 200)
        }

        @Test(arguments: [
            ("server error", FakeTwilio.Mode.serverError),
            ("credentials rejected (20003)", .twilioError(code: 20003, status: 401)),
        ])
        func providerFailureIs503AndIsNeverRetried(_ label: String, _ mode: FakeTwilio.Mode) throws {
            let twilio = try FakeTwilio(mode: mode)
            let stack = try TestStack(.init(environment: ["OTP_SMS_TIMEOUT_SECONDS": "2", "OTP_SMS_CONNECT_TIMEOUT_SECONDS": "1"], twilio: twilio))
            defer { stack.finish() }

            let failed = stack.send(Twilio.phone, "verify_phone")
            #expect(failed.status == 503, "\(label)")
            #expect(failed.body == #"{"detail": "Could not send code, try again later"}"#)
            #expect(Int(failed.header("Retry-After") ?? "") ?? 0 > 0)
            #expect(twilio.requests.count == 1, "\(label): Twilio's create is not idempotent; a request that may have reached it is never repeated")
            let undelivered = try #require(twilio.requests.first?.code)

            // Recovered: the retry goes out at once (no cooldown was started) and only its code verifies.
            twilio.setMode(.accept)
            #expect(stack.send(Twilio.phone, "verify_phone").status == 200, "\(label)")
            let delivered = try #require(twilio.requests.last?.code)
            if undelivered != delivered {
                #expect(stack.verify(Twilio.phone, "verify_phone", code: undelivered).status == 400, "\(label): an undelivered code must never verify")
            }
            #expect(stack.verify(Twilio.phone, "verify_phone", code: delivered).status == 200, "\(label)")
            if case .twilioError(20003, _) = mode {
                #expect(stack.responderLog.contains("level=error msg=\"SMS provider rejected our credentials"))
            }
        }

        /// Twilio may have taken the message (it answered something unreadable, or nothing once
        /// the request had left): the send counts as made — the cooldown and the hourly cap run —
        /// but its code never verifies (SPEC, "SMS firewall": unknown outcomes count).
        @Test(arguments: [
            ("not JSON", FakeTwilio.Mode.notJSON),
            ("connection reset", .reset),
            ("slower than OTP_SMS_TIMEOUT_SECONDS", .slow(seconds: 4)),
        ])
        func unknownOutcomeIs503CountsAsSentAndIsNeverRetried(_ label: String, _ mode: FakeTwilio.Mode) throws {
            let twilio = try FakeTwilio(mode: mode)
            let stack = try TestStack(.init(environment: ["OTP_SMS_TIMEOUT_SECONDS": "2", "OTP_SMS_CONNECT_TIMEOUT_SECONDS": "1"], twilio: twilio))
            defer { stack.finish() }

            let failed = stack.send(Twilio.phone, "verify_phone")
            #expect(failed.status == 503, "\(label)")
            #expect(failed.body == #"{"detail": "Could not send code, try again later"}"#)
            #expect(twilio.requests.count == 1, "\(label): a request that may have reached Twilio is never repeated")
            let maybeDelivered = try #require(twilio.requests.first?.code)
            #expect(try sqlite(stack.databasePath, "SELECT send_count, last_sent_at IS NOT NULL, code_hash IS NULL FROM otp_codes") == "1|1|1")

            // Recovered: the cooldown runs as after a delivered SMS, so nothing goes out at once.
            twilio.setMode(.accept)
            #expect(stack.send(Twilio.phone, "verify_phone").status == 200, "\(label)")
            #expect(twilio.requests.count == 1, "\(label): the cooldown counts the unknown send")
            #expect(stack.verify(Twilio.phone, "verify_phone", code: maybeDelivered).status == 400, "\(label): its code never verifies")
        }

        @Test(arguments: [21211, 21610, 21614, 21408, 21612])
        func recipientThatCannotReceiveSMSIs422(_ code: Int) throws {
            let twilio = try FakeTwilio(mode: .twilioError(code: code, status: 400))
            let stack = try TestStack(.init(twilio: twilio))
            defer { stack.finish() }
            let answer = stack.send(Twilio.phone, "verify_phone")
            #expect(answer.status == 422)
            #expect(answer.body == #"{"detail": "This phone number cannot receive SMS"}"#)
            #expect(twilio.requests.count == 1)
            #expect(try sqlite(stack.databasePath, "SELECT send_count, last_sent_at IS NULL FROM otp_codes") == "0|1")
        }

        @Test func rateLimitedIsRetriedWithBackoff() throws {
            let twilio = try FakeTwilio()
            twilio.queue([.rateLimited, .twilioError(code: 20429, status: 429)])
            let stack = try TestStack(.init(twilio: twilio))
            defer { stack.finish() }
            #expect(stack.send(Twilio.phone, "verify_phone").status == 200)
            #expect(twilio.requests.map(\.answeredWith) == [.rateLimited, .twilioError(code: 20429, status: 429), .accept])
            let code = try #require(stack.lastCode(to: Twilio.phone, purpose: "verify_phone"))
            #expect(stack.verify(Twilio.phone, "verify_phone", code: code).status == 200)
        }

        @Test func persistentRateLimitEndsIn503WithinTheTimeout() throws {
            let twilio = try FakeTwilio(mode: .rateLimited)
            let stack = try TestStack(.init(environment: ["OTP_SMS_TIMEOUT_SECONDS": "2", "OTP_SMS_CONNECT_TIMEOUT_SECONDS": "1"], twilio: twilio))
            defer { stack.finish() }
            let started = Date()
            #expect(stack.send(Twilio.phone, "verify_phone").status == 503)
            #expect(Date().timeIntervalSince(started) < 4)
            #expect(twilio.requests.count >= 2)
        }

        @Test func unreachableProviderIsRetriedThen503() throws {
            let closedPort = try TestStack.freePort()
            let twilio = try FakeTwilio()
            let stack = try TestStack(.init(environment: ["TWILIO_API_BASE": "http://127.0.0.1:\(closedPort)", "OTP_SMS_TIMEOUT_SECONDS": "2", "OTP_SMS_CONNECT_TIMEOUT_SECONDS": "1"], twilio: twilio))
            defer { stack.finish() }
            let answer = stack.send(Twilio.phone, "verify_phone")
            #expect(answer.status == 503)
            #expect(stack.responderLog.contains("reason=provider_unreachable"))
            #expect(stack.responderLog.contains("event=sms.retry"))
        }

        @Test func certificateIsVerified() throws {
            // nginx's self-signed certificate is not trusted by the system: the send must fail.
            let twilio = try FakeTwilio()
            let stack = try TestStack(.init(twilio: twilio))
            defer { stack.finish() }
            stack.stopResponder()
            var environment = stack.environment
            environment["TWILIO_API_BASE"] = "https://127.0.0.1:\(stack.httpsPort)"
            try stack.startResponder(environment: environment)
            let answer = stack.send(Twilio.phone, "verify_phone")
            #expect(answer.status == 503)
            #expect(stack.responderLog.contains("reason=provider_tls_failed"))
        }

        @Test func slowButInTimeProviderDelivers() throws {
            let twilio = try FakeTwilio(mode: .slow(seconds: 1))
            let stack = try TestStack(.init(environment: ["OTP_SMS_TIMEOUT_SECONDS": "5"], twilio: twilio))
            defer { stack.finish() }
            #expect(stack.send(Twilio.phone, "verify_phone").status == 200)
        }
    }
}
