import Logging

/// A send the service is about to make, with what the firewall needs to know about it.
struct PendingSend {
    var target: CodeTarget
    var message: SMSMessage
    var pendingHash: String
    /// The phone's region (libphonenumber); nil for a non-geographic number.
    var country: String?
    /// Every firewall record the send touches.
    var keys: [BudgetKey]
}

/// What the firewall and the per-phone rules decided for a send, inside its reservation.
enum Admission {
    /// Go ahead; in monitor mode, with what enforce mode would have stopped.
    case admitted(wouldBlock: [FirewallBlock])
    case suppressed(SendSuppression, wouldBlock: [FirewallBlock])
    /// Stopped (enforce mode); `alert` once an hour per exhausted country or total budget.
    case blocked(FirewallBlock, alert: Bool)
}

extension OTPService {
    /// The number check before anything is stored or counted: valid, an allowed type and country.
    /// Returns the phone's region.
    func screenNumber(_ target: CodeTarget) throws(OTPError) -> String? {
        let facts = classifier.facts(about: target.phone)
        if let block = firewall.numberBlock(facts) {
            logFirewall(block, log: target.log, country: facts.region, type: facts.type)
            if firewall.configuration.mode == .enforce { throw .smsBlocked(block) }
        }
        return facts.region
    }

    /// The send's firewall records as stored; none read when the firewall keeps none.
    func firewallRecords(_ keys: [BudgetKey], in transaction: any OTPStoreTransaction) throws(StoreError) -> FirewallRecords {
        FirewallRecords(keys: keys, stored: firewall.keepsRecords ? try transaction.firewallRecords(keys) : [])
    }

    /// The firewall's budgets around the per-phone rules, in the order of `SMSFirewall`. In
    /// monitor mode every budget is charged and nothing is stopped.
    func admit(_ send: PendingSend, stored: CodeRecord?, records: inout FirewallRecords, at now: UnixTime) -> Admission {
        let enforcing = firewall.configuration.mode == .enforce
        var wouldBlock: [FirewallBlock] = []
        if let block = firewall.admitRequest(&records, at: now) {
            if enforcing { return .blocked(block, alert: false) }
            wouldBlock.append(block)
            firewall.charge(&records, .request, at: now)
        }
        if let reason = sendPolicy.suppression(of: stored, at: now) {
            for key in records.keys where key.scope.countsRequests && firewall.configuration.limit(key.scope) != nil {
                metrics.budgetCharged(key.scope)
            }
            return .suppressed(reason, wouldBlock: wouldBlock)
        }
        let (block, alert) = firewall.admitSMS(&records, at: now)
        if let block {
            if enforcing { return .blocked(block, alert: alert) }
            if alert { alertExhausted(block, log: send.target.log, monitoring: true) }
            wouldBlock.append(block)
            firewall.charge(&records, .sms, at: now)
        }
        for key in records.keys where firewall.configuration.limit(key.scope) != nil { metrics.budgetCharged(key.scope) }
        return .admitted(wouldBlock: wouldBlock)
    }

    /// Logs and answers an admission: nil to go on with the send.
    func settle(_ admission: Admission, log: Logger) throws(OTPError) -> SendOutcome? {
        switch admission {
        case .blocked(let block, let alert):
            logFirewall(block, log: log)
            if alert { alertExhausted(block, log: log, monitoring: false) }
            throw .smsBlocked(block)
        case .suppressed(let reason, let wouldBlock):
            for block in wouldBlock { logFirewall(block, log: log) }
            return suppressed(reason, log: log)
        case .admitted(let wouldBlock):
            for block in wouldBlock { logFirewall(block, log: log) }
            return nil
        }
    }

    /// A send to a country enters its tripwire; a country it trips is paused, with one critical line.
    func recordCountrySend(_ send: PendingSend, in transaction: any OTPStoreTransaction, at now: UnixTime) throws(StoreError) {
        guard let country = send.country, firewall.configuration.tripwireSends > 0 else { return }
        let key = BudgetKey(.country, country)
        var records = FirewallRecords(keys: [key], stored: try transaction.firewallRecords([key]))
        recordCountrySend(send, records: &records, at: now)
        try transaction.saveFirewallRecords(records)
    }

    /// The same on records the transaction has already read (the send's own), saved with them.
    func recordCountrySend(_ send: PendingSend, records: inout FirewallRecords, at now: UnixTime) {
        guard let country = send.country, firewall.configuration.tripwireSends > 0 else { return }
        let key = BudgetKey(.country, country)
        let tripped = firewall.recordSend(&records, country: key, tag: Tripwire.tag(phoneHash: send.target.phoneHash), at: now)
        guard tripped else { return }
        metrics.countryPaused()
        send.target.log.critical("SMS to a country paused: too few of its recent codes were verified (SMS pumping?)", metadata: [
            "event": "sms.firewall", "outcome": "country_paused", "country": "\(country)",
            "sends": "\(firewall.configuration.tripwireSends)", "minimum_verified_percent": "\(firewall.configuration.tripwireMinimumVerifiedPercent)",
            "mode": .string(firewall.configuration.mode.rawValue),
        ])
    }

    /// A verified code tells its country's tripwire a real user got it.
    func recordCountryVerification(_ record: CodeRecord, in transaction: any OTPStoreTransaction) throws(StoreError) {
        guard let country = record.country, firewall.configuration.tripwireSends > 0 else { return }
        let key = BudgetKey(.country, country)
        var records = FirewallRecords(keys: [key], stored: try transaction.firewallRecords([key]))
        guard firewall.recordVerification(&records, country: key, tag: Tripwire.tag(phoneHash: record.phoneHash)) else { return }
        try transaction.saveFirewallRecords(records)
    }

    private func logFirewall(_ block: FirewallBlock, log: Logger, country: String? = nil, type: PhoneNumberType? = nil) {
        let mode = firewall.configuration.mode
        var metadata: Logger.Metadata = [
            "event": "sms.firewall", "outcome": mode == .enforce ? "blocked" : "would_block", "reason": .string(block.reason.rawValue),
        ]
        if let country { metadata["country"] = "\(country)" }
        if let type { metadata["number_type"] = "\(type.rawValue)" }
        log.info(mode == .enforce ? "send stopped by the SMS firewall" : "send the SMS firewall would stop (monitor mode)", metadata: metadata)
        metrics.firewall(block.reason, mode: mode)
    }

    private func alertExhausted(_ block: FirewallBlock, log: Logger, monitoring: Bool) {
        log.critical("SMS budget exhausted: sends are refused until the hour slides on (logged once an hour)", metadata: [
            "event": "sms.firewall", "outcome": "budget_exhausted", "reason": .string(block.reason.rawValue),
            "mode": "\(monitoring ? "monitor" : "enforce")",
        ])
    }
}
