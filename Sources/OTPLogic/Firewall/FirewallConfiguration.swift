/// The SMS firewall's settings (SPEC, "SMS firewall").
public struct FirewallConfiguration: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        case enforce
        /// Log and count what enforce would block; block nothing.
        case monitor
    }

    public var mode: Mode = .enforce
    /// `OTP_SMS_ALLOWED_NUMBER_TYPES`.
    public var allowedNumberTypes: Set<PhoneNumberType> = [.mobile, .fixedLineOrMobile]
    /// `OTP_SMS_ALLOWED_COUNTRIES`, ISO 3166-1 alpha-2; nil allows every region.
    public var allowedCountries: Set<String>?
    /// Sends per sliding hour by scope; nil is no limit.
    public var limits: [BudgetScope: Int] = [.user: 10, .address: 20, .total: 1000] {
        didSet { limitByScope = FirewallConfiguration.byScope(limits) }
    }
    /// `limits` by `BudgetScope.index`: read several times a send, without hashing.
    private var limitByScope = FirewallConfiguration.byScope([.user: 10, .address: 20, .total: 1000])
    /// `OTP_SMS_TRIPWIRE_SENDS`: the last sends to a country the tripwire looks at; 0 is off.
    public var tripwireSends = 50
    /// `OTP_SMS_TRIPWIRE_MIN_VERIFIED`: percent of them that must be verified; 0 records sends and never pauses.
    public var tripwireMinimumVerifiedPercent = 20
    /// How long the tripwire pauses a country.
    public var pauseSeconds: Int64 = 3600

    public init() {}

    /// The sends per hour of `scope`; nil is no limit.
    public func limit(_ scope: BudgetScope) -> Int? { limitByScope[scope.index] }

    private static func byScope(_ limits: [BudgetScope: Int]) -> [Int?] {
        BudgetScope.allCases.map { limits[$0] }
    }

    static func read(_ reader: inout EnvironmentReader) -> FirewallConfiguration {
        var configuration = FirewallConfiguration()
        configuration.mode = reader.choice("OTP_SMS_FIREWALL_MODE", default: .enforce, allowed: Mode.allCases)
        if let text = reader.value("OTP_SMS_ALLOWED_NUMBER_TYPES") {
            var types: Set<PhoneNumberType> = []
            for name in text.split(separator: ",").map({ $0.trimmingASCIIWhitespace().lowercased() }) where !name.isEmpty {
                guard let type = PhoneNumberType(rawValue: name), type != .unknown else {
                    reader.problem("OTP_SMS_ALLOWED_NUMBER_TYPES", "\(name.prefix(32).debugDescription) is not one of "
                        + PhoneNumberType.allCases.filter { $0 != .unknown }.map(\.rawValue).joined(separator: ", "))
                    continue
                }
                types.insert(type)
            }
            if types.isEmpty { reader.problem("OTP_SMS_ALLOWED_NUMBER_TYPES", "must name at least one number type") }
            configuration.allowedNumberTypes = types
        }
        if let text = reader.value("OTP_SMS_ALLOWED_COUNTRIES") {
            var countries: Set<String> = []
            for code in text.split(separator: ",").map({ $0.trimmingASCIIWhitespace().uppercased() }) where !code.isEmpty {
                guard code.utf8.count == 2, code.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5a }) else {
                    reader.problem("OTP_SMS_ALLOWED_COUNTRIES", "\(code.prefix(32).debugDescription) is not an ISO 3166-1 alpha-2 code such as DE or US")
                    continue
                }
                countries.insert(code)
            }
            configuration.allowedCountries = countries
        }
        for (scope, name) in BudgetScope.variables {
            guard let text = reader.value(name) else { continue }
            if text.lowercased() == "off" {
                configuration.limits[scope] = nil
            } else {
                configuration.limits[scope] = reader.integer(name, default: configuration.limits[scope] ?? 0, range: 1...100_000_000)
            }
        }
        if reader.value("OTP_SMS_TRIPWIRE_SENDS")?.lowercased() == "off" {
            configuration.tripwireSends = 0
        } else {
            configuration.tripwireSends = reader.integer("OTP_SMS_TRIPWIRE_SENDS", default: 50, range: 5...1000)
        }
        configuration.tripwireMinimumVerifiedPercent = reader.integer("OTP_SMS_TRIPWIRE_MIN_VERIFIED", default: 20, range: 0...100)
        return configuration
    }
}

/// Who a budget counts: a principal, a client address (IPv6 by /64), a country, everyone.
public enum BudgetScope: String, Sendable, CaseIterable {
    case user, address, country, total

    /// The variable that sets each scope's sends per hour.
    public static let variables: [(BudgetScope, String)] = [
        (.user, "OTP_SMS_PER_USER_PER_HOUR"), (.address, "OTP_SMS_PER_ADDRESS_PER_HOUR"),
        (.country, "OTP_SMS_PER_COUNTRY_PER_HOUR"), (.total, "OTP_SMS_GLOBAL_PER_HOUR"),
    ]

    /// User and address budgets count every well-formed send request (an SMS or not: counting only
    /// SMS would tell the caller which phones are in a cooldown); country and total budgets count
    /// SMS handed to the provider.
    public var countsRequests: Bool { self == .user || self == .address }

    /// Its position in `allCases`.
    public var index: Int {
        switch self {
        case .user: 0
        case .address: 1
        case .country: 2
        case .total: 3
        }
    }
}

/// One budget's key: `user:alice`, `address:2001:db8::/64`, `country:DE`, `total:`.
public struct BudgetKey: Sendable, Hashable, CustomStringConvertible {
    public var scope: BudgetScope
    public var key: String

    public init(_ scope: BudgetScope, _ key: String) {
        self.scope = scope
        self.key = key
    }

    public static let total = BudgetKey(.total, "")

    public var description: String { key.isEmpty ? scope.rawValue : "\(scope.rawValue) \(key)" }
}

/// Everything the firewall keeps about one key, one row in a store.
public struct FirewallRecord: Sendable, Equatable {
    public var key: BudgetKey
    public var window = BudgetWindow()
    /// A country the tripwire (or an operator) paused, until then.
    public var pausedUntil: UnixTime?
    /// The critical "budget exhausted" line was logged; the next one not before then.
    public var alertedUntil: UnixTime?
    /// Countries: their last sends and which were verified.
    public var tripwire = Tripwire()

    public init(key: BudgetKey, window: BudgetWindow = BudgetWindow(), pausedUntil: UnixTime? = nil, alertedUntil: UnixTime? = nil, tripwire: Tripwire = Tripwire()) {
        self.key = key
        self.window = window
        self.pausedUntil = pausedUntil
        self.alertedUntil = alertedUntil
        self.tripwire = tripwire
    }
}
