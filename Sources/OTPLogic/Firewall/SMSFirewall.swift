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
        keys.reserveCapacity(4)
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
        if let block = budgetBlock(records, .request, at: now) { return block }
        charge(&records, .request, at: now)
        return nil
    }

    /// The country's and the total budget for an SMS about to go; charges them when they admit.
    /// On a block, `alert` is true once an hour per key (the record remembers when it alerted):
    /// the one critical log line.
    public func admitSMS(_ records: inout FirewallRecords, at now: UnixTime) -> (block: FirewallBlock?, alert: Bool) {
        if let block = budgetBlock(records, .sms, at: now) {
            guard case .overBudget(let scope, _) = block, let key = records.keys.first(where: { $0.scope == scope }) else {
                return (block, false)
            }
            if let until = records[key].alertedUntil, until > now { return (block, false) }
            records.apply(.alerted(key, until: now + BudgetWindow.seconds))
            return (block, true)
        }
        charge(&records, .sms, at: now)
        return (nil, false)
    }

    /// The country's and the total budget given back: the SMS charged at `chargedAt` certainly did
    /// not reach the provider.
    public func release(_ records: inout FirewallRecords, chargedAt: UnixTime, at now: UnixTime) {
        for key in records.keys where !key.scope.countsRequests && configuration.limit(key.scope) != nil {
            records.apply(.released(key, chargedAt: chargedAt, at: now))
        }
    }

    /// A send to the country of `key` (delivered, of unknown outcome, or refused by the provider
    /// as pumping) enters its tripwire; true when that pauses the country.
    public func recordSend(_ records: inout FirewallRecords, country key: BudgetKey, tag: UInt32, at now: UnixTime) -> Bool {
        guard configuration.tripwireSends > 0, let index = records.keys.firstIndex(of: key) else { return false }
        records.apply(.tripwireSend(key, tag: tag, capacity: configuration.tripwireSends), at: index)
        let trips = records.withRecord(at: index) { record in
            record.tripwire.trips(sends: configuration.tripwireSends, minimumVerifiedPercent: configuration.tripwireMinimumVerifiedPercent)
                && (record.pausedUntil ?? now) <= now
        }
        guard trips else { return false }
        records.apply(.paused(key, until: now + configuration.pauseSeconds), at: index)
        return true
    }

    /// The code of `tag` was verified: the country's tripwire sees a real user.
    public func recordVerification(_ records: inout FirewallRecords, country key: BudgetKey, tag: UInt32) -> Bool {
        guard records[key].tripwire.entries.contains(where: { $0.tag == tag && !$0.verified }) else { return false }
        records.apply(.tripwireVerified(key, tag: tag))
        return true
    }

    /// The first budget of `stage` that is used up, in the order of the keys (user before
    /// address, country before total).
    private func budgetBlock(_ records: FirewallRecords, _ stage: BudgetStage, at now: UnixTime) -> FirewallBlock? {
        for index in records.keys.indices where stage.covers(records.keys[index].scope) {
            let scope = records.keys[index].scope
            guard let limit = configuration.limit(scope) else { continue }
            let retryAfter = records.withRecord(at: index) { record -> Int? in
                record.window.used(at: now) >= limit ? Int(record.window.secondsUntilRoom(under: limit, at: now)) : nil
            }
            if let retryAfter { return .overBudget(scope, retryAfterSeconds: retryAfter) }
        }
        return nil
    }

    /// One more send on the budgets of `stage` (monitor mode charges what it would have refused).
    public func charge(_ records: inout FirewallRecords, _ stage: BudgetStage, at now: UnixTime) {
        for index in records.keys.indices where stage.covers(records.keys[index].scope) && configuration.limit(records.keys[index].scope) != nil {
            records.apply(.charged(records.keys[index], at: now), at: index)
        }
    }
}

/// When budgets are checked: as a request arrives (user, address), or as an SMS is about to go
/// (country, total).
public enum BudgetStage: Sendable {
    case request, sms

    func covers(_ scope: BudgetScope) -> Bool { scope.countsRequests == (self == .request) }
}

/// The records one send reads, by key, with the changes the rules made to them (in order): a
/// store writes the changed records (`forEachChanged`), or the changes.
/// At most four keys: arrays searched in order, cheaper than hashing the key strings.
public struct FirewallRecords: Sendable {
    public let keys: [BudgetKey]
    private var records: [FirewallRecord]
    private var changedFlags: [Bool]
    public private(set) var changes: [FirewallChange] = []

    /// `stored` as the store found them; a key without a record starts empty.
    public init(keys: [BudgetKey], stored: [FirewallRecord]) {
        self.keys = keys
        changedFlags = Array(repeating: false, count: keys.count)
        changes.reserveCapacity(keys.count + 1)
        // Stores return them in the order of `keys`, without the keys they hold nothing for.
        if stored.count == keys.count && zip(stored, keys).allSatisfy({ $0.key == $1 }) {
            records = stored
            return
        }
        var records: [FirewallRecord] = []
        records.reserveCapacity(keys.count)
        var next = 0
        for key in keys {
            if next < stored.count && stored[next].key == key {
                records.append(stored[next])
                next += 1
            } else {
                records.append(stored.first { $0.key == key } ?? FirewallRecord(key: key))
            }
        }
        self.records = records
    }

    /// Whole records written as they are (each a `.replaced` change).
    public init(replacing records: [FirewallRecord]) {
        self.init(keys: records.map(\.key), stored: [])
        for record in records { apply(.replaced(record)) }
    }

    public subscript(key: BudgetKey) -> FirewallRecord {
        keys.firstIndex(of: key).map { records[$0] } ?? FirewallRecord(key: key)
    }

    /// A look at the record of `keys[index]` without copying it.
    func withRecord<T>(at index: Int, _ body: (borrowing FirewallRecord) -> T) -> T { body(records[index]) }

    /// Makes `change` to its record (ignored for a key not read).
    public mutating func apply(_ change: FirewallChange) {
        guard let index = keys.firstIndex(of: change.key) else { return }
        apply(change, at: index)
    }

    /// Makes `change` to the record of `keys[index]`, which is its key.
    mutating func apply(_ change: FirewallChange, at index: Int) {
        records[index].apply(change)
        changedFlags[index] = true
        changes.append(change)
    }

    /// Calls `body` with every changed record, in the order of `keys`.
    public func forEachChanged<E: Error>(_ body: (FirewallRecord) throws(E) -> Void) throws(E) {
        for index in records.indices where changedFlags[index] { try body(records[index]) }
    }
}
