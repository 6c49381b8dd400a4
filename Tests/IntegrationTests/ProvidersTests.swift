import Foundation
import Testing

extension Integration {
    /// AWS SNS and Vonage through nginx, each alone and in a failover chain with Twilio, against
    /// fakes that speak their wire formats. Every run ends with the stack's log check, which now
    /// knows the AWS secret key, the session token and Vonage's secrets too.
    @Suite struct Providers {
        static let phone = "+14155550171"
        static let fast = ["OTP_SMS_TIMEOUT_SECONDS": "2", "OTP_SMS_CONNECT_TIMEOUT_SECONDS": "1"]

        static func stored(_ stack: TestStack) throws -> String {
            try sqlite(stack.databasePath, "SELECT provider, message_id, purpose, status FROM sms_deliveries ORDER BY sent_at, provider")
        }

        // MARK: - AWS SNS alone

        @Test func snsAloneDeliversSignedWithSigV4() throws {
            let sns = try FakeSNS()
            let stack = try TestStack(.init(environment: ["OTP_SMS_PROVIDER": "sns"], sns: sns))
            defer { stack.finish() }
            #expect(stack.send(Providers.phone, "verify_phone").status == 200)
            #expect(sns.requests.count == 1)
            let request = try #require(sns.requests.first)
            #expect(request.path == "/")
            #expect(request.fields.map(\.0) == [
                "Action", "PhoneNumber", "Message", "MessageAttributes.entry.1.Name", "MessageAttributes.entry.1.Value.DataType",
                "MessageAttributes.entry.1.Value.StringValue", "Version",
            ])
            #expect(request.field("PhoneNumber") == Providers.phone)
            #expect(request.headers["x-amz-security-token"] == FakeSNS.sessionToken)
            #expect(request.authorization?.hasPrefix("AWS4-HMAC-SHA256 Credential=\(FakeSNS.accessKeyID)/") == true)
            #expect(try Providers.stored(stack) == "sns|\(FakeSNS.messageID(of: request))|verify_phone|sent")
            let code = try #require(request.code)
            #expect(stack.verify(Providers.phone, "verify_phone", code: code).status == 200)
        }

        @Test(arguments: [
            ("server error", FakeMode.serverError, 503, 1),
            ("number refused", .snsError(code: "InvalidParameter", status: 400, message: "Invalid parameter: PhoneNumber Reason: +1415 is not valid"), 422, 1),
            ("opted out", .snsError(code: "OptedOut", status: 400, message: "Phone number is opted out"), 422, 1),
            ("credentials", .snsError(code: "InvalidClientTokenId", status: 403, message: "The security token included in the request is invalid."), 503, 1),
            ("expired token", .snsError(code: "ExpiredToken", status: 403, message: "The security token included in the request is expired"), 503, 1),
            ("200 without MessageId", .notJSON, 503, 1),
            ("reset after the request left", .reset, 503, 1),
        ])
        func snsFailureModes(_ label: String, _ mode: FakeMode, _ status: Int, _ requests: Int) throws {
            let sns = try FakeSNS(mode: mode)
            let stack = try TestStack(.init(environment: Providers.fast.merging(["OTP_SMS_PROVIDER": "sns"]) { $1 }, sns: sns))
            defer { stack.finish() }
            #expect(stack.send(Providers.phone, "verify_phone").status == status, "\(label)")
            #expect(sns.requests.count == requests, "\(label)")
            #expect(try Providers.stored(stack).isEmpty, "\(label): nothing accepted, nothing stored")
            if case .snsError(_, 403, _) = mode {
                #expect(stack.responderLog.contains("level=error msg=\"SMS provider rejected our credentials: check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"))
            }
        }

        @Test func snsThrottlingIsRetriedThenDelivers() throws {
            let sns = try FakeSNS()
            sns.queue([.rateLimited])
            let stack = try TestStack(.init(environment: ["OTP_SMS_PROVIDER": "sns"], sns: sns))
            defer { stack.finish() }
            #expect(stack.send(Providers.phone, "verify_phone").status == 200)
            #expect(sns.requests.map(\.answeredWith) == [.rateLimited, .accept])
        }

        @Test func snsRefusesABadSignature() throws {
            // otp-fcgi signs with a secret the fake does not know: SNS's SignatureDoesNotMatch.
            let sns = try FakeSNS()
            let wrongSecret = "not-the-secret-\(UUID().uuidString)"
            let stack = try TestStack(.init(environment: ["OTP_SMS_PROVIDER": "sns", "AWS_SECRET_ACCESS_KEY": wrongSecret], sns: sns))
            stack.record(secret: wrongSecret)
            defer { stack.finish() }
            #expect(stack.send(Providers.phone, "verify_phone").status == 503)
            #expect(sns.requests.count == 1)
            #expect(stack.responderLog.contains("outcome=provider_credentials_rejected"))
        }

        // MARK: - Vonage alone

        @Test func vonageAloneDelivers() throws {
            let vonage = try FakeVonage()
            let stack = try TestStack(.init(environment: ["OTP_SMS_PROVIDER": "vonage"], vonage: vonage))
            defer { stack.finish() }
            #expect(stack.send(Providers.phone, "verify_phone").status == 200)
            let request = try #require(vonage.requests.first)
            #expect(vonage.requests.count == 1)
            #expect(request.path == "/sms/json")
            #expect(request.fields.map(\.0) == ["api_key", "api_secret", "from", "to", "text", "client-ref"])
            #expect(try sqlite(stack.databasePath, "SELECT reference FROM sms_deliveries") == request.field("client-ref"))
            #expect(request.field("to") == String(Providers.phone.dropFirst()))
            #expect(request.field("type") == nil, "GSM-7 text goes as text")
            #expect(try Providers.stored(stack) == "vonage|\(FakeVonage.messageID(of: request))|verify_phone|sent")
            #expect(stack.verify(Providers.phone, "verify_phone", code: try #require(request.code)).status == 200)
        }

        @Test func vonageSendsTextOutsideGSM7AsUnicode() throws {
            let vonage = try FakeVonage()
            let template = "Ihr Code: {code} — gültig {minutes} Minuten ✓"
            let stack = try TestStack(.init(environment: ["OTP_SMS_PROVIDER": "vonage", "OTP_SMS_TEMPLATE_VERIFY_PHONE": template], vonage: vonage))
            defer { stack.finish() }
            #expect(stack.send(Providers.phone, "verify_phone").status == 200)
            let request = try #require(vonage.requests.first)
            #expect(request.field("type") == "unicode")
            #expect(request.field("text")?.hasSuffix("— gültig 10 Minuten ✓") == true)
        }

        @Test(arguments: [
            ("throttled", FakeMode.vonageStatus(1), 503),
            ("missing params", .vonageStatus(2), 503),
            ("bad credentials", .vonageStatus(4), 503),
            ("internal error", .vonageStatus(5), 503),
            ("number barred", .vonageStatus(7), 422),
            ("quota exceeded", .vonageStatus(9), 503),
            ("invalid sender", .vonageStatus(15), 503),
            ("non-whitelisted destination", .vonageStatus(29), 422),
            ("server error", .serverError, 503),
            ("unreadable 200", .notJSON, 503),
        ])
        func vonageFailureModes(_ label: String, _ mode: FakeMode, _ status: Int) throws {
            let vonage = try FakeVonage(mode: mode)
            let stack = try TestStack(.init(environment: Providers.fast.merging(["OTP_SMS_PROVIDER": "vonage"]) { $1 }, vonage: vonage))
            defer { stack.finish() }
            #expect(stack.send(Providers.phone, "verify_phone").status == status, "\(label)")
            if mode == .vonageStatus(1) {
                #expect(vonage.requests.count >= 2, "\(label): throttling is retried within the timeout")
            } else {
                #expect(vonage.requests.count == 1, "\(label)")
            }
            if mode == .vonageStatus(4) {
                #expect(stack.responderLog.contains("level=error msg=\"SMS provider rejected our credentials: check VONAGE_API_KEY and VONAGE_API_SECRET\""))
            }
            if mode == .vonageStatus(9) { #expect(stack.responderLog.contains("level=error msg=\"Vonage account out of credit")) }
        }

        // MARK: - Failover

        @Test(arguments: [
            ("refused connection", nil as FakeMode?),
            ("500", FakeMode.serverError),
            ("429 throughout", FakeMode.rateLimited),
            ("credentials rejected", FakeMode.twilioError(code: 20003, status: 401)),
        ])
        func twilioDownDeliversThroughVonageOnce(_ label: String, _ mode: FakeMode?) throws {
            let twilio = try FakeTwilio(mode: mode ?? .accept)
            let vonage = try FakeVonage()
            var environment = Providers.fast.merging(["OTP_SMS_PROVIDER": "twilio,vonage"]) { $1 }
            if mode == nil { environment["TWILIO_API_BASE"] = "http://127.0.0.1:\(try TestStack.freePort())" }
            let stack = try TestStack(.init(environment: environment, twilio: twilio, vonage: vonage))
            defer { stack.finish() }
            #expect(stack.send(Providers.phone, "verify_phone").status == 200, "\(label)")
            #expect(vonage.requests.count == 1, "\(label): delivered through Vonage once")
            switch mode {
            case nil: #expect(twilio.requests.isEmpty)
            case .rateLimited: #expect(twilio.requests.count >= 2, "\(label): Twilio is retried within its timeout first")
            default: #expect(twilio.requests.count == 1, "\(label)")
            }
            #expect(stack.responderLog.contains("event=sms.attempt"))
            #expect(stack.responderLog.contains("failover_to=vonage"))
            #expect(try Providers.stored(stack).hasPrefix("vonage|"))
            let code = try #require(vonage.requests.first?.code)
            #expect(stack.verify(Providers.phone, "verify_phone", code: code).status == 200)
        }

        @Test(arguments: [
            ("timeout after the request left", FakeMode.hang),
            ("reset after the request left", FakeMode.reset),
            ("unreadable success", FakeMode.notJSON),
        ])
        func noFailoverAfterAnUnknownOutcome(_ label: String, _ mode: FakeMode) throws {
            let twilio = try FakeTwilio(mode: mode)
            let vonage = try FakeVonage()
            let stack = try TestStack(.init(environment: Providers.fast.merging(["OTP_SMS_PROVIDER": "twilio,vonage"]) { $1 }, twilio: twilio, vonage: vonage))
            defer { stack.finish() }
            let answer = stack.send(Providers.phone, "verify_phone")
            #expect(answer.status == 503, "\(label)")
            #expect(twilio.requests.count == 1, "\(label)")
            #expect(vonage.requests.isEmpty, "\(label): a message that may be on its way is never sent twice")
        }

        @Test func noFailoverAfterCannotReceive() throws {
            let twilio = try FakeTwilio(mode: .twilioError(code: 21610, status: 400))
            let vonage = try FakeVonage()
            let stack = try TestStack(.init(environment: ["OTP_SMS_PROVIDER": "twilio,vonage"], twilio: twilio, vonage: vonage))
            defer { stack.finish() }
            #expect(stack.send(Providers.phone, "verify_phone").status == 422)
            #expect(twilio.requests.count == 1)
            #expect(vonage.requests.isEmpty)
        }

        @Test func threeProvidersFailOverInOrder() throws {
            let twilio = try FakeTwilio(mode: .serverError)
            let vonage = try FakeVonage(mode: .vonageStatus(9))
            let sns = try FakeSNS()
            let stack = try TestStack(.init(environment: ["OTP_SMS_PROVIDER": "twilio,vonage,sns"], twilio: twilio, sns: sns, vonage: vonage))
            defer { stack.finish() }
            #expect(stack.send(Providers.phone, "verify_phone").status == 200)
            let counts: [Int] = [twilio.requests.count, vonage.requests.count, sns.requests.count]
            #expect(counts == [1, 1, 1])
            #expect(try Providers.stored(stack).hasPrefix("sns|"))
        }
    }
}
