import ArgumentParser
import Glibc
import Logging
import OTPLogic
import OTPPhoneNumbers

import OTPSystem

/// `otp-fcgi firewall …`: what the SMS firewall holds, and lifting a block.
struct FirewallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "firewall",
        abstract: "Show the SMS firewall's budgets, paused countries and tripwires, or lift a block.",
        subcommands: [Status.self, Unblock.self]
    )

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the mode, the limits, and every budget in use, pause and tripwire (no phone number is stored)."
        )

        @OptionGroup var source: ConfigurationSource

        func run() throws {
            let configuration = try loadConfiguration(source)
            let store = try openStore(configuration)
            let firewall = configuration.firewall
            let now = SystemClock().now()
            let records: [FirewallRecord]
            do {
                records = try store.firewallRecords()
            } catch {
                StartupFailure.report("otp-fcgi: firewall status failed: \(error.description)")
                throw ExitCode(74)
            }
            say("mode: \(firewall.mode.rawValue)")
            say("number types: \(firewall.allowedNumberTypes.map(\.rawValue).sorted().joined(separator: ", "))")
            say("countries: \(firewall.allowedCountries.map { $0.sorted().joined(separator: ", ") } ?? "all (OTP_SMS_ALLOWED_COUNTRIES is unset)")")
            for (scope, _) in BudgetScope.variables {
                say("limit per hour, \(scope.rawValue): \(firewall.limits[scope].map(String.init) ?? "off")")
            }
            say("tripwire: " + (firewall.tripwireSends == 0 ? "off" : "last \(firewall.tripwireSends) sends per country, at least \(firewall.tripwireMinimumVerifiedPercent) % verified"))
            for record in records {
                var parts: [String] = []
                let used = record.window.used(at: now)
                if used > 0 { parts.append("used \(used)" + (firewall.limits[record.key.scope].map { " of \($0)" } ?? "")) }
                if let until = record.pausedUntil, until > now { parts.append("PAUSED for \(until - now) s") }
                if !record.tripwire.entries.isEmpty {
                    let verified = record.tripwire.entries.filter(\.verified).count
                    parts.append("tripwire \(verified) of \(record.tripwire.entries.count) recent sends verified")
                }
                if !parts.isEmpty { say("\(record.key): " + parts.joined(separator: ", ")) }
            }
        }
    }

    struct Unblock: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift a block: a country (pause, tripwire and budget), a user's or an address's budget, or the total budget.",
            discussion: """
                VALUE is read as a country (two letters, DE), an IP address (counted by its /64 for
                IPv6), `total`, or else a user name; --as says which when that guess is wrong. The
                change is logged as an audit event.
                """
        )

        @Option(name: .customLong("as"), help: "user, address, country or total.")
        var scope: String?

        @Argument(help: "The country, address, user, or total.")
        var value: String

        @OptionGroup var source: ConfigurationSource

        func run() throws {
            let key = try budgetKey()
            let configuration = try loadConfiguration(source)
            let store = try openStore(configuration)
            LoggingSystem.bootstrap { _ in KeyValueLogHandler(logLevel: configuration.logLevel) }
            let existed: Bool
            do {
                existed = try store.writeTransaction { transaction throws(StoreError) -> Bool in
                    guard try !transaction.firewallRecords([key]).isEmpty else { return false }
                    try transaction.saveFirewallRecords(FirewallRecords(replacing: [FirewallRecord(key: key)]))
                    return true
                }
            } catch {
                StartupFailure.report("otp-fcgi: firewall unblock failed: \(error.description)")
                throw ExitCode(74)
            }
            Logger(label: "otp-fcgi").notice("SMS firewall block lifted by an operator", metadata: [
                "event": "audit", "action": "firewall_unblock", "scope": "\(key.scope.rawValue)", "key": "\(key.key)",
                "outcome": "\(existed ? "lifted" : "nothing_held")", "operator_uid": "\(getuid())",
            ])
            say(existed ? "lifted every block on \(key)" : "\(key) held nothing; nothing changed")
        }

        private func budgetKey() throws -> BudgetKey {
            let scope = try scope.map { name throws -> BudgetScope in
                guard let scope = BudgetScope(rawValue: name) else { throw ValidationError("--as must be user, address, country or total") }
                return scope
            } ?? guessScope()
            switch scope {
            case .total: return .total
            case .country:
                let code = value.uppercased()
                guard code.utf8.count == 2, code.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5a }) else {
                    throw ValidationError("a country is an ISO 3166-1 alpha-2 code such as DE")
                }
                return BudgetKey(.country, code)
            case .address:
                guard let address = ClientAddress(value) else { throw ValidationError("\(value) is not an IP address") }
                return BudgetKey(.address, address.key)
            case .user: return BudgetKey(.user, value)
            }
        }

        private func guessScope() -> BudgetScope {
            if value == "total" { return .total }
            if value.utf8.count == 2, value.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) }) { return .country }
            if ClientAddress(value) != nil { return .address }
            return .user
        }
    }
}

/// `otp-fcgi explain +E164`: what the firewall sees in a number and what a send to it would meet.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a number's type and region (libphonenumber) and what a send to it would meet. Sends nothing.",
        discussion: "Give --user and --address to see their budgets too. The number is not stored and not logged."
    )

    @Argument(help: "A phone number in E.164 form, e.g. +14155550123.")
    var phone: String

    @Option(help: "The principal a send would come from.")
    var user: String?

    @Option(help: "The client address a send would come from.")
    var address: String?

    @OptionGroup var source: ConfigurationSource

    func run() throws {
        guard let number = PhoneNumber(phone) else { throw ValidationError("the number must be E.164: + then 7 to 15 digits") }
        let configuration = try loadConfiguration(source)
        let firewall = SMSFirewall(configuration: configuration.firewall)
        let facts = LibPhoneNumberClassifier().facts(about: number)
        say("valid: \(facts.isValid ? "yes" : "no")")
        say("type: \(facts.type.rawValue)")
        say("region: \(facts.region ?? "none")")
        if let block = firewall.numberBlock(facts) {
            say("number check: refused (\(block.reason.rawValue)): a send answers 422 and counts nowhere")
            return
        }
        say("number check: allowed")
        let store = try openStore(configuration)
        let keys = firewall.keys(user: user, address: address.flatMap(ClientAddress.init), country: facts.region)
        let now = SystemClock().now()
        var records: FirewallRecords
        do {
            records = FirewallRecords(keys: keys, stored: try store.writeTransaction { transaction throws(StoreError) in
                try transaction.firewallRecords(keys)
            })
        } catch {
            StartupFailure.report("otp-fcgi: explain failed: \(error.description)")
            throw ExitCode(74)
        }
        for key in keys {
            let record = records[key]
            var line = "\(key): used \(record.window.used(at: now)) of \(configuration.firewall.limits[key.scope].map(String.init) ?? "no limit")"
            if let until = record.pausedUntil, until > now { line += ", PAUSED for \(until - now) s" }
            say(line)
        }
        let verdict = firewall.admitRequest(&records, at: now) ?? firewall.admitSMS(&records, at: now).block
        say("a send now: " + (verdict.map { "refused (\($0.reason.rawValue)) in \(configuration.firewall.mode.rawValue) mode" } ?? "passes the firewall (the per-phone cooldown and hourly cap still apply)"))
    }
}
