import Foundation
import Testing

extension Integration {
    @Suite struct Metrics {
        /// Scrapes the shipped metrics location after a scripted session and checks each counter
        /// against what the session did, across several workers.
        @Test func countersAddUpAfterAScriptedSession() throws {
            let stack = try TestStack(.init(environment: ["OTP_RESEND_COOLDOWN_SECONDS": "60"], workers: 4))
            defer { stack.finish() }
            let phone = "+14155550180"

            #expect(stack.send(phone, "verify_phone").status == 200)            // sent
            #expect(stack.send(phone, "verify_phone").status == 200)            // suppressed: cooldown
            let code = try #require(stack.lastCode(to: phone, purpose: "verify_phone"))
            let wrong = code == "000000" ? "111111" : "000000"
            for _ in 0..<4 { #expect(stack.verify(phone, "verify_phone", code: wrong).status == 400) } // 3 wrong + 1 locked out
            #expect(stack.verify(phone, "verify_phone", code: code).status == 400) // locked out
            #expect(stack.send(phone, "verify_phone").status == 200)            // suppressed: lockout (checked before cooldown)

            try stack.ensureVerifiedPhone("+14155550181", of: .alice)          // verify_phone: sent + verified
            let token = try stack.stepUpToken(phone: "+14155550181")           // step_up: sent + verified
            #expect(stack.protectedAction(token: token).status == 200)          // admitted
            #expect(stack.protectedAction(token: token).status == 401)          // denied: already used
            #expect(stack.protectedAction(token: token, as: .bob).status == 401) // denied: other user

            let scrape = stack.statusClient.request("GET", "/metrics")
            #expect(scrape.status == 200)
            #expect(scrape.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let metrics = PrometheusText(scrape.body)
            #expect(metrics["otp_sends_total{purpose=\"verify_phone\",outcome=\"sent\"}"] == 2)
            #expect(metrics["otp_sends_total{purpose=\"verify_phone\",outcome=\"suppressed_cooldown\"}"] == 1)
            #expect(metrics["otp_sends_total{purpose=\"verify_phone\",outcome=\"suppressed_lockout\"}"] == 1)
            #expect(metrics["otp_sends_total{purpose=\"step_up\",outcome=\"sent\"}"] == 1)
            #expect(metrics["otp_verifies_total{purpose=\"verify_phone\",outcome=\"wrong_code\"}"] == 3)
            #expect(metrics["otp_verifies_total{purpose=\"verify_phone\",outcome=\"locked_out\"}"] == 2)
            #expect(metrics["otp_verifies_total{purpose=\"step_up\",outcome=\"verified\"}"] == 1)
            #expect(metrics["otp_verifies_total{purpose=\"verify_phone\",outcome=\"verified\"}"] == 1)
            #expect(metrics["otp_lockouts_total{purpose=\"verify_phone\"}"] == 1)
            #expect(metrics["otp_step_up_checks_total{outcome=\"admitted\",reason=\"\"}"] == 1)
            #expect(metrics["otp_step_up_checks_total{outcome=\"denied\",reason=\"already_used\"}"] == 1)
            #expect(metrics["otp_step_up_checks_total{outcome=\"denied\",reason=\"other_user\"}"] == 1)
            #expect(metrics["otp_sms_provider_duration_seconds_count"] == 3)
            #expect(metrics["otp_requests_in_flight"] ?? 0 >= 1)
            // Group commit: at least the session's dozen writes, each in one of the batches (its
            // requests came one at a time, so mostly one a batch).
            let batches = try #require(metrics["otp_db_write_batches_total"])
            let writes = try #require(metrics["otp_db_batched_writes_total"])
            #expect(batches >= 10 && writes >= batches)
            // Labels carry outcomes only: no phone digits, no code, no token.
            for secret in [String(phone.dropFirst()), code, token] { #expect(!scrape.body.contains(secret)) }
        }
    }
}

/// Sample values of a Prometheus text exposition, keyed by the series as written.
struct PrometheusText {
    private var values: [String: Double] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
    }

    subscript(series: String) -> Double? { values[series] }
}
