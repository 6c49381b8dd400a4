import ArgumentParser
import Glibc
import OTPLogic

import OTPSystem

/// `make bench`'s supply: step-up tokens and live codes minted by the product's own rules and
/// written by its own store, so a timed run can present a fresh one per request without minting
/// each through the API. Hidden: a benchmark tool, not an operator's command.
struct BenchMint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-mint",
        abstract: "Mint step-up tokens and live codes into the database for make bench.",
        shouldDisplay: false,
        subcommands: [Tokens.self, Codes.self, Filler.self]
    )

    /// Rows per write transaction.
    static let batch = 10_000

    struct Tokens: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "COUNT step-up tokens of USER; the raw tokens, one a line, to OUT.")

        @Argument var user: String
        @Argument var count: Int
        @Argument var out: String

        func run() throws {
            var minter = try Minter()
            let tokens = try minter.tokens(count: count) { _ in user }
            try writeLines(tokens, to: out)
        }
    }

    struct Codes: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A live code of PURPOSE for each of COUNT phones from +FIRST up; `phone code phone_hash` a line to OUT."
        )

        @Argument var purpose: String
        @Argument var first: Int
        @Argument var count: Int
        @Argument var out: String

        func run() throws {
            guard let purpose = Purpose(rawValue: purpose) else { throw ValidationError("PURPOSE must be verify_phone or step_up") }
            var minter = try Minter()
            let phones = (0..<count).map { PhoneNumber("+\(first + $0)") }
            guard phones.allSatisfy({ $0 != nil }) else { throw ValidationError("+FIRST … +FIRST+COUNT-1 must be E.164 numbers") }
            let lines = try minter.codes(phones: phones.map { $0! }, purpose: { _ in purpose })
            try writeLines(lines, to: out)
        }
    }

    struct Filler: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "COUNT live tokens of other users and COUNT live codes: the scale case's bulk.")

        @Argument var count: Int

        func run() throws {
            var minter = try Minter()
            _ = try minter.tokens(count: count) { "user\($0 % 50_000)" }
            let phones = (0..<count).map { PhoneNumber("+4915\(100_000_000 + $0)")! }
            _ = try minter.codes(phones: phones, purpose: { $0 & 1 == 0 ? .stepUp : .verifyPhone })
        }
    }
}

/// Mints with the configured pepper and rules (OTP_PEPPER, OTP_TTL_SECONDS, …) into the configured database (OTP_DB_PATH or OTP_DB_URL).
private struct Minter {
    let store: any VersionedStore
    let rules: RulesConfiguration
    let hasher: SecretHasher
    var generator = SecretGenerator(random: SystemRandomNumberGenerator())
    let clock = SystemClock()

    init() throws {
        let configuration = try loadConfiguration()
        store = try openStore(configuration)
        rules = configuration.rules
        hasher = SecretHasher(pepper: configuration.pepper)
    }

    /// Raw tokens, each stored as its hash by the store.
    mutating func tokens(count: Int, user: (Int) -> String) throws -> [String] {
        let policy = StepUpTokenPolicy(rules: rules)
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        for start in stride(from: 0, to: count, by: BenchMint.batch) {
            let range = start..<min(start + BenchMint.batch, count)
            let minted = range.map { ($0, generator.stepUpToken()) }
            let now = clock.now()
            let boot = clock.bootClock()
            try write { transaction throws(StoreError) in
                for (index, token) in minted {
                    try transaction.insertStepUpToken(hash: hasher.tokenHash(token), policy.mint(for: user(index), at: now, boot: boot))
                }
            }
            tokens += minted.map(\.1)
        }
        return tokens
    }

    /// `phone code phone_hash` per phone: a live code, as a delivered send leaves it.
    mutating func codes(phones: [PhoneNumber], purpose: (Int) -> Purpose) throws -> [String] {
        let policy = SendPolicy(rules: rules)
        var lines: [String] = []
        lines.reserveCapacity(phones.count)
        for start in stride(from: 0, to: phones.count, by: BenchMint.batch) {
            let range = start..<min(start + BenchMint.batch, phones.count)
            let codes = range.map { _ in generator.code(length: rules.codeLength) }
            let now = clock.now()
            let boot = clock.bootClock()
            var batchLines: [String] = []
            try write { transaction throws(StoreError) in
                for (offset, index) in range.enumerated() {
                    let phoneHash = hasher.phoneHash(phones[index])
                    let codeHash = hasher.codeHash(codes[offset])
                    let reserved = policy.reserve(nil, phoneHash: phoneHash, purpose: purpose(index), pendingHash: codeHash, at: now)
                    if let live = policy.confirm(reserved, pendingHash: codeHash, at: now, boot: boot) { try transaction.save(live) }
                    batchLines.append("\(phones[index].e164) \(codes[offset]) \(phoneHash)")
                }
            }
            lines += batchLines
        }
        return lines
    }

    private func write(_ body: (any OTPStoreTransaction) throws(StoreError) -> Void) throws {
        do {
            try store.writeTransaction(body)
        } catch {
            StartupFailure.report("otp-fcgi: bench-mint: \(error.description)")
            throw ExitCode(74)
        }
    }
}

private func writeLines(_ lines: [String], to path: String) throws {
    guard let file = fopen(path, "w") else { throw ValidationError("cannot write \(path)") }
    defer { fclose(file) }
    for line in lines { fputs(line + "\n", file) }
}
