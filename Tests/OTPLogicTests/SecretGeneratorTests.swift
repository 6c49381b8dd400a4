import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

/// Returns the given words in order, then starts again.
private struct SequenceRandom: RandomNumberGenerator {
    let words: [UInt64]
    var index = 0
    mutating func next() -> UInt64 {
        defer { index = (index + 1) % words.count }
        return words[index]
    }
}

/// Fails when any digit's share at any position is off by more than 15 % of the expected count.
private func digitFrequenciesAreUniform(_ codes: [String], length: Int) -> Bool {
    let expected = Double(codes.count) / 10
    for position in 0..<length {
        var counts = [Int](repeating: 0, count: 10)
        for code in codes {
            let byte = Array(code.utf8)[position]
            counts[Int(byte - 0x30)] += 1
        }
        if counts.contains(where: { abs(Double($0) - expected) > expected * 0.15 }) { return false }
    }
    return true
}

@Suite("Codes and tokens")
struct SecretGeneratorTests {
    @Test(arguments: 4...10)
    func codeHasExactlyTheRequestedNumberOfASCIIDigits(length: Int) {
        var generator = SecretGenerator(random: SplitMix64(seed: UInt64(length)))
        for _ in 0..<200 {
            let code = generator.code(length: length)
            #expect(code.utf8.count == length)
            #expect(code.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 })
        }
    }

    // The smallest word that maps to 0: a source stuck at 0 would spin forever in the standard
    // library's unbiased rejection loop (`next(upperBound:)` rejects a zero low product).
    @Test(.timeLimit(.minutes(1)), arguments: 4...10)
    func codeKeepsLeadingZeros(length: Int) {
        var generator = SecretGenerator(random: ConstantRandom(value: 1))
        #expect(generator.code(length: length) == String(repeating: "0", count: length))
    }

    @Test func smallValueIsPaddedWithZerosToTheFullLength() {
        // 42.5e-6 of the 64-bit range lands on 42 out of 10^6.
        var generator = SecretGenerator(random: ConstantRandom(value: 783_986_623_132_655))
        #expect(generator.code(length: 6) == "000042")
    }

    @Test func eachDigitPositionIsRoughlyUniform() {
        var generator = SecretGenerator(random: SplitMix64(seed: 20_000))
        let codes = (0..<20_000).map { _ in generator.code(length: 6) }
        #expect(digitFrequenciesAreUniform(codes, length: 6))
    }

    @Test func uniformityCheckRejectsAModuloBiasedSource() {
        // value % 10^6 of a number below 1.5 * 10^6 makes leading digits 0-4 twice as likely as 5-9.
        var random = SplitMix64(seed: 7)
        let codes = (0..<20_000).map { _ -> String in
            let value = UInt64.random(in: 0..<1_500_000, using: &random) % 1_000_000
            let digits = String(value)
            return String(repeating: "0", count: 6 - digits.count) + digits
        }
        #expect(!digitFrequenciesAreUniform(codes, length: 6))
    }

    @Test func stepUpTokenIs43CharactersOfBase64URL() {
        var generator = SecretGenerator(random: SystemRandomNumberGenerator())
        for _ in 0..<100 {
            let token = generator.stepUpToken()
            #expect(token.utf8.count == 43)
            #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            #expect(Base64URL.isEncodedToken(token))
        }
    }

    @Test func stepUpTokenEncodesThirtyTwoRandomBytesInOrder() {
        // Words little-endian: bytes 0, 1, 2, ... 31.
        var words: [UInt64] = []
        for word in 0..<4 {
            var value: UInt64 = 0
            for byte in 0..<8 { value |= UInt64(word * 8 + byte) << UInt64(8 * byte) }
            words.append(value)
        }
        var generator = SecretGenerator(random: SequenceRandom(words: words))
        #expect(generator.stepUpToken() == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
    }

    @Test func twoStepUpTokensDiffer() {
        var generator = SecretGenerator(random: SystemRandomNumberGenerator())
        #expect(generator.stepUpToken() != generator.stepUpToken())
    }
}

@Suite("Base64URL")
struct Base64URLTests {
    @Test(arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ])
    func encodesRFC4648VectorsWithoutPadding(input: String, expected: String) {
        #expect(Base64URL.encode(Array(input.utf8)) == expected)
    }

    @Test func usesDashAndUnderscoreForTheLastTwoDigits() {
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.encode([0xFB, 0xEF, 0xFF]) == "--__")
    }

    static let validToken = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

    @Test func acceptsAnEncodedThirtyTwoByteValue() {
        #expect(Base64URL.isEncodedToken(Base64URLTests.validToken))
        #expect(Base64URL.isEncodedToken(Base64URL.encode([UInt8](repeating: 0xFF, count: 32))))
    }

    @Test func rejectsFortyTwoAndFortyFourCharacters() {
        #expect(!Base64URL.isEncodedToken(String(Base64URLTests.validToken.dropLast())))
        #expect(!Base64URL.isEncodedToken(Base64URLTests.validToken + "A"))
        #expect(!Base64URL.isEncodedToken(""))
    }

    @Test(arguments: ["+", "/", ".", " ", "=", "~"])
    func rejectsCharactersOutsideTheURLAlphabet(character: String) {
        let token = character + String(Base64URLTests.validToken.dropFirst())
        #expect(!Base64URL.isEncodedToken(token))
    }

    @Test func rejectsPaddedForm() {
        // The padded standard form of 32 bytes is 44 characters; padding in place of the last character too.
        #expect(!Base64URL.isEncodedToken(Base64URLTests.validToken + "="))
        #expect(!Base64URL.isEncodedToken(String(Base64URLTests.validToken.dropLast()) + "="))
    }

    @Test(arguments: ["B", "C", "D", "9", "_"])
    func rejectsALastCharacterWithStrayBits(last: Character) {
        #expect(!Base64URL.isEncodedToken(String(Base64URLTests.validToken.dropLast()) + String(last)))
    }
}
