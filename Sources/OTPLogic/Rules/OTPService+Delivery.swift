import Logging

/// What a delivery status callback came to.
public enum DeliveryUpdateOutcome: Sendable, Equatable {
    /// Stored: the message's status changed.
    case stored(DeliveryStatus)
    /// The message has this status already, or a final one that a late callback does not change.
    case unchanged
    /// No message of ours has this id and reference (sent before the database was new, purged,
    /// or not ours).
    case unknownMessage
}

extension OTPService {
    /// Stores a message the provider accepted, for its delivery status: no phone, no body.
    func recordDelivery(_ receipt: SMSReceipt, of message: SMSMessage, in transaction: any OTPStoreTransaction, at now: UnixTime) throws(StoreError) {
        try transaction.insertSMSDelivery(SMSDeliveryRecord(
            provider: receipt.provider, messageID: receipt.messageID, purpose: message.purpose, sentAt: now, reference: message.reference
        ))
    }

    /// The stored message a callback is about: by the reference it carries, which must have been
    /// stored with the same provider and message id (a reference alone names no message); without
    /// one, a message stored before there were references.
    func storedDelivery(for update: DeliveryUpdate, in transaction: any OTPStoreTransaction) throws(StoreError) -> SMSDeliveryRecord? {
        guard let reference = update.reference else {
            return try transaction.smsDelivery(provider: update.provider, messageID: update.messageID)
        }
        guard let stored = try transaction.smsDelivery(reference: reference),
              stored.provider == update.provider, stored.messageID == update.messageID else { return nil }
        return stored
    }

    /// Applies a verified status callback (`DeliveryStatusPolicy`), counts it in
    /// `otp_sms_delivery_total{provider,status}` and a delivery's latency, and logs one line; an
    /// undelivered or failed step-up SMS is a warning, so it shows within seconds.
    public func recordDeliveryStatus(_ update: DeliveryUpdate) throws(OTPError) -> DeliveryUpdateOutcome {
        let log = logger
        let now = clock.now()
        let result: (outcome: DeliveryUpdateOutcome, stored: SMSDeliveryRecord?, change: DeliveryStatusPolicy.Change?) = try storing(log) {
            transaction throws(StoreError) in
            guard let stored = try storedDelivery(for: update, in: transaction) else { return (.unknownMessage, nil, nil) }
            guard let change = DeliveryStatusPolicy.apply(update, to: stored, at: now) else { return (.unchanged, stored, nil) }
            try transaction.saveSMSDeliveryStatus(change.record)
            return (.stored(update.status), stored, change)
        }
        var metadata: Logger.Metadata = [
            "event": "sms.delivery", "provider": .string(update.provider), "message_id": .string(update.messageID),
            "status": .string(update.status.rawValue),
        ]
        if let purpose = result.stored?.purpose { metadata["purpose"] = .string(purpose.rawValue) }
        if let code = update.errorCode, !code.isEmpty, code != "0" { metadata["error_code"] = .string(code) }
        switch result.outcome {
        case .unknownMessage:
            log.info("delivery status for a message we do not know", metadata: metadata.merging(["outcome": "unknown_message"]) { $1 })
        case .unchanged:
            log.debug("delivery status changes nothing", metadata: metadata.merging(["outcome": "unchanged"]) { $1 })
        case .stored(let status):
            metrics.delivery(provider: update.provider, status: status)
            if let latency = result.change?.latencySeconds {
                metrics.deliveryLatency(provider: update.provider, seconds: latency)
                metadata["latency_s"] = .string("\(latency)")
            }
            metadata["outcome"] = "stored"
            if status == .undelivered || status == .failed {
                log.warning("SMS not delivered", metadata: metadata)
            } else {
                log.info("delivery status stored", metadata: metadata)
            }
        }
        return result.outcome
    }
}
