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
            abstract: "A live code of PURPOSE for each of COUNT phones from +FIRST up; `phone code phone_hash` a line to OUT.",
            discussion: """
                For step_up, each phone is also the verified phone of its own user, PREFIX followed by the \
                phone's digits (bench-31630000000), who owns the code; the line then ends with that user: \
                `phone code phone_hash user`.
                """
        )

        @Argument var purpose: String
        @Argument var first: Int
        @Argument var count: Int
        @Argument var out: String
        @Option(name: .customLong("user-prefix"), help: "step_up: the users are PREFIX followed by their phone's digits.")
        var userPrefix = "bench-"

        func run() throws {
            guard let purpose = Purpose(rawValue: purpose) else { throw ValidationError("PURPOSE must be verify_phone or step_up") }
            var minter = try Minter()
            let phones = (0..<count).map { PhoneNumber("+\(first + $0)") }
            guard phones.allSatisfy({ $0 != nil }) else { throw ValidationError("+FIRST … +FIRST+COUNT-1 must be E.164 numbers") }
            let prefix = userPrefix
            let lines = try minter.codes(
                phones: phones.map { $0! }, purpose: { _ in purpose },
                owner: purpose == .stepUp ? { "\(prefix)\(first + $0)" } : nil, verifiedPhones: purpose == .stepUp
            )
            try writeLines(lines, to: out)
        }
    }

    struct Filler: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "COUNT live tokens of other users and COUNT live codes: the scale case's bulk.")

        @Argument var count: Int

        func run() throws {
            var minter = try Minter()
            _ = try minter.tokens(count: count, inKeyOrder: true) { "user\($0 % 50_000)" }
            let phones = (0..<count).map { PhoneNumber("+4915\(100_000_000 + $0)")! }
            // Every other code a step_up one, owned (as v2 step_up codes are) by a filler user.
            _ = try minter.codes(
                phones: phones, purpose: { $0 & 1 == 0 ? .stepUp : .verifyPhone }, owner: { "user\($0 % 50_000)" }, verifiedPhones: false,
                inKeyOrder: true
            )
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

    /// Raw tokens, each stored as its hash by the store, in the order they are to be used: like a
    /// day's real tokens, each is used soon after the ones minted just before it, so the rows a batch
    /// of requests changes share pages (rowid tables, rows in the order written). `inKeyOrder`: in
    /// the order of their hashes instead, for bulk that is never used: SQLite then appends to the
    /// unique index instead of rewriting a random page of it per row (a 2 MB page cache), which
    /// takes the filler's million tokens and million codes from 74 s to 26 s.
    mutating func tokens(count: Int, inKeyOrder: Bool = false, user: (Int) -> String) throws -> [String] {
        let policy = StepUpTokenPolicy(rules: rules)
        var minted: [(hash: String, token: String, index: Int)] = []
        minted.reserveCapacity(count)
        for index in 0..<count {
            let token = generator.stepUpToken()
            minted.append((hasher.tokenHash(token), token, index))
        }
        if inKeyOrder { minted.sort { $0.hash < $1.hash } }
        for start in stride(from: 0, to: count, by: BenchMint.batch) {
            let now = clock.now()
            let boot = clock.bootClock()
            try write { transaction throws(StoreError) in
                for row in minted[start..<min(start + BenchMint.batch, count)] {
                    try transaction.insertStepUpToken(hash: row.hash, policy.mint(for: user(row.index), at: now, boot: boot))
                }
            }
        }
        return minted.map(\.token)
    }

    /// `phone code phone_hash` per phone (`… owner` when there is one), in the order of `phones`: a
    /// live code, as a delivered send leaves it. `owner` (nil: none, as for verify_phone) owns the
    /// code of phone `index`; with `verifiedPhones`, that phone is also the owner's verified phone
    /// on record, as step_up needs. Written in the order they are to be used, or in key order, like `tokens`.
    mutating func codes(
        phones: [PhoneNumber], purpose: (Int) -> Purpose, owner: ((Int) -> String)?, verifiedPhones: Bool, inKeyOrder: Bool = false
    ) throws -> [String] {
        let policy = SendPolicy(rules: rules)
        var minted: [(phoneHash: String, purpose: Purpose, owner: String, code: String, index: Int)] = []
        minted.reserveCapacity(phones.count)
        for index in phones.indices {
            let purpose = purpose(index)
            let owner = purpose == .stepUp ? owner?(index) ?? "" : ""
            minted.append((hasher.phoneHash(phones[index]), purpose, owner, generator.code(length: rules.codeLength), index))
        }
        if inKeyOrder {
            // The unique key (phone_hash, purpose, owner), compared as SQLite compares TEXT (bytewise).
            minted.sort { a, b in
                if a.phoneHash != b.phoneHash { return a.phoneHash < b.phoneHash }
                if a.purpose != b.purpose { return a.purpose.rawValue < b.purpose.rawValue }
                return a.owner.utf8.lexicographicallyPrecedes(b.owner.utf8)
            }
        }
        for start in stride(from: 0, to: minted.count, by: BenchMint.batch) {
            let now = clock.now()
            let boot = clock.bootClock()
            try write { transaction throws(StoreError) in
                for row in minted[start..<min(start + BenchMint.batch, minted.count)] {
                    let codeHash = hasher.codeHash(row.code)
                    let reserved = policy.reserve(nil, phoneHash: row.phoneHash, purpose: row.purpose, owner: row.owner, pendingHash: codeHash, at: now)
                    if let live = policy.confirm(reserved, pendingHash: codeHash, at: now, boot: boot) { try transaction.save(live) }
                    if verifiedPhones, !row.owner.isEmpty {
                        try transaction.markPhoneVerified(userID: row.owner, phone: phones[row.index], at: now)
                    }
                }
            }
        }
        if inKeyOrder { minted.sort { $0.index < $1.index } }
        return minted.map { row in
            let line = "\(phones[row.index].e164) \(row.code) \(row.phoneHash)"
            return row.owner.isEmpty ? line : line + " " + row.owner
        }
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
