/// Why the firewall stops a send (in monitor mode: would stop it).
public enum FirewallBlock: Sendable, Equatable {
    case invalidNumber
    case numberType(PhoneNumberType)
    case countryNotAllowed
    case countryPaused(retryAfterSeconds: Int)
    case overBudget(BudgetScope, retryAfterSeconds: Int)

    public var reason: FirewallBlockReason {
        switch self {
        case .invalidNumber: .invalidNumber
        case .numberType: .numberType
        case .countryNotAllowed: .countryNotAllowed
        case .countryPaused: .countryPaused
        case .overBudget(.user, _): .userBudget
        case .overBudget(.address, _): .addressBudget
        case .overBudget(.country, _): .countryBudget
        case .overBudget(.total, _): .totalBudget
        }
    }

}

/// `FirewallBlock` as logs and metrics label it.
public enum FirewallBlockReason: String, Sendable, CaseIterable {
    case invalidNumber = "invalid_number"
    case numberType = "number_type"
    case countryNotAllowed = "country_not_allowed"
    case countryPaused = "country_paused"
    case userBudget = "user_budget"
    case addressBudget = "address_budget"
    case countryBudget = "country_budget"
    case totalBudget = "total_budget"
}

/// The SMS firewall's rules, as pure functions of the number's facts, the stored records and the
/// time (SPEC, "SMS firewall"). Checked in this order before any provider call: the number (valid,
/// an allowed type, an allowed country), a paused country, the requester's budgets (user, address),
/// then — once the per-phone rules let an SMS go — the country's and the total budget.
public struct SMSFirewall: Sendable {
    public let configuration: FirewallConfiguration

    public init(configuration: FirewallConfiguration) {
        self.configuration = configuration
    }

    /// False with every budget and the tripwire off: a send then neither reads nor writes records
    /// (a pause left from when the tripwire was on is not enforced then).
    public var keepsRecords: Bool { !configuration.limits.isEmpty || configuration.tripwireSends > 0 }

    /// Nil when libphonenumber's facts allow an SMS to the number.
    public func numberBlock(_ facts: PhoneNumberFacts) -> FirewallBlock? {
        guard facts.isValid else { return .invalidNumber }
        guard configuration.allowedNumberTypes.contains(facts.type) else { return .numberType(facts.type) }
        if let allowed = configuration.allowedCountries {
            guard let region = facts.region, allowed.contains(region) else { return .countryNotAllowed }
        }
        return nil
    }

    /// Every key a send by `user` from `address` to `country` touches.
    public func keys(user: String?, address: ClientAddress?, country: String?) -> [BudgetKey] {
        var keys: [BudgetKey] = []
        if let user { keys.append(BudgetKey(.user, user)) }
        if let address { keys.append(BudgetKey(.address, address.key)) }
        if let country { keys.append(BudgetKey(.country, country)) }
        keys.append(.total)
        return keys
    }

    /// A paused country, then the requester's budgets; charges those budgets when they admit.
    public func admitRequest(_ records: inout FirewallRecords, at now: UnixTime) -> FirewallBlock? {
        for key in records.keys where key.scope == .country {
            if let until = records[key].pausedUntil, until > now { return .countryPaused(retryAfterSeconds: Int(until - now)) }
        }
        if let block = budgetBlock(records, scopes: [.user, .address], at: now) { return block }
        charge(&records, scopes: [.user, .address], at: now)
        return nil
    }

    /// The country's and the total budget for an SMS about to go; charges them when they admit.
    /// On a block, `alert` is true once an hour per key (the record remembers when it alerted):
    /// the one critical log line.
    public func admitSMS(_ records: inout FirewallRecords, at now: UnixTime) -> (block: FirewallBlock?, alert: Bool) {
        if let block = budgetBlock(records, scopes: [.country, .total], at: now) {
            guard case .overBudget(let scope, _) = block, let key = records.keys.first(where: { $0.scope == scope }) else {
                return (block, false)
            }
            if let until = records[key].alertedUntil, until > now { return (block, false) }
            records[key].alertedUntil = now + BudgetWindow.seconds
            return (block, true)
        }
        charge(&records, scopes: [.country, .total], at: now)
        return (nil, false)
    }

    /// The country's and the total budget given back: the SMS charged at `chargedAt` certainly did
    /// not reach the provider.
    public func release(_ records: inout FirewallRecords, chargedAt: UnixTime, at now: UnixTime) {
        for key in records.keys where !key.scope.countsRequests && configuration.limits[key.scope] != nil {
            records[key].window = records[key].window.released(chargedAt: chargedAt, at: now)
        }
    }

    /// A send to the country (delivered, of unknown outcome, or refused by the provider as
    /// pumping) enters its tripwire; true when that pauses the country.
    public func recordSend(_ record: inout FirewallRecord, tag: UInt32, at now: UnixTime) -> Bool {
        guard configuration.tripwireSends > 0 else { return false }
        record.tripwire = record.tripwire.recording(tag: tag, capacity: configuration.tripwireSends)
        guard record.tripwire.trips(sends: configuration.tripwireSends, minimumVerifiedPercent: configuration.tripwireMinimumVerifiedPercent),
              (record.pausedUntil ?? now) <= now else { return false }
        record.pausedUntil = now + configuration.pauseSeconds
        // A paused country starts over: the sends that tripped it do not trip it again at once.
        record.tripwire = Tripwire()
        return true
    }

    /// The code of `tag` was verified: the country's tripwire sees a real user.
    public func recordVerification(_ record: inout FirewallRecord, tag: UInt32) -> Bool {
        guard let verified = record.tripwire.verifying(tag: tag) else { return false }
        record.tripwire = verified
        return true
    }

    private func budgetBlock(_ records: FirewallRecords, scopes: [BudgetScope], at now: UnixTime) -> FirewallBlock? {
        for scope in scopes {
            guard let limit = configuration.limits[scope] else { continue }
            for key in records.keys where key.scope == scope {
                let window = records[key].window
                if window.used(at: now) >= limit {
                    return .overBudget(scope, retryAfterSeconds: Int(window.secondsUntilRoom(under: limit, at: now)))
                }
            }
        }
        return nil
    }

    /// One more send on the budgets of `scopes` (monitor mode charges what it would have refused).
    public func charge(_ records: inout FirewallRecords, scopes: [BudgetScope], at now: UnixTime) {
        for scope in scopes where configuration.limits[scope] != nil {
            for key in records.keys where key.scope == scope {
                records[key].window = records[key].window.charged(at: now)
            }
        }
    }
}

/// The records one send reads, by key, remembering which it changed (only those are written).
/// At most four keys: arrays searched in order, cheaper than hashing the key strings.
public struct FirewallRecords: Sendable {
    public let keys: [BudgetKey]
    private var records: [FirewallRecord]
    private var changedFlags: [Bool]

    /// `stored` as the store found them; a key without a record starts empty.
    public init(keys: [BudgetKey], stored: [FirewallRecord]) {
        self.keys = keys
        records = keys.map { key in stored.first { $0.key == key } ?? FirewallRecord(key: key) }
        changedFlags = Array(repeating: false, count: keys.count)
    }

    public subscript(key: BudgetKey) -> FirewallRecord {
        get { keys.firstIndex(of: key).map { records[$0] } ?? FirewallRecord(key: key) }
        set {
            guard let index = keys.firstIndex(of: key) else { return }
            records[index] = newValue
            changedFlags[index] = true
        }
    }

    /// The records to write.
    public var changedRecords: [FirewallRecord] { records.indices.filter { changedFlags[$0] }.map { records[$0] } }
}

