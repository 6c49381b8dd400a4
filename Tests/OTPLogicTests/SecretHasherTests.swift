import Crypto
import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

/// Expected values computed independently with Python's hashlib and hmac, e.g.
/// `hashlib.sha256(("042917:" + pepper).encode()).hexdigest()` and
/// `hmac.new(pepper.encode(), b"+14155550123", hashlib.sha256).hexdigest()`.
@Suite("Hashing secrets at rest")
struct SecretHasherTests {
    let hasher = SecretHasher(pepper: Secret(Fixture.pepper))
    let otherPepper = SecretHasher(pepper: Secret("another-pepper-abcdefghijklmnopqrstuvwxyz"))

    @Test func codeHashIsSHA256OfCodeColonPepper() {
        #expect(hasher.codeHash("042917") == "9ec121c8c6a0e187159ac786a06975e6df964772e8c5c3e54a85d13a8d98f093")
        #expect(hasher.codeHash("000000") == "7efd28712bbffee78280d965958488b9a559bffedac300d6997625878d09f128")
    }

    @Test func codeHashDependsOnThePepper() {
        #expect(otherPepper.codeHash("042917") == "5134c361e241a6901afba114564c265e035ed9a8fd98d5ddf4b57ec2a820e250")
    }

    @Test func phoneHashIsHMACSHA256KeyedWithThePepper() {
        #expect(hasher.phoneHash(PhoneNumber("+14155550123")!) == "8230f6bd440e2a6929ff75ecb89b2a667c5d7df6f4042b868352a3a97eae891e")
        #expect(hasher.phoneHash(PhoneNumber("+447700900123")!) == "7968d97cb1b557244e48761b3a6ab5a162ae2f4ef2828d221f9a4242c2160bdb")
        #expect(otherPepper.phoneHash(PhoneNumber("+14155550123")!) == "38585b32fbc64c8f42d4d21fc0d1028f34e3513981b04c5ca1bb0d5cd707f26a")
    }

    @Test func tokenHashIsPlainSHA256OfTheToken() {
        let token = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
        #expect(hasher.tokenHash(token) == "ea866a757e4c38babfa8127cbe9a409d3e1f93a00ff1488ff735fcf917afffd0")
        #expect(otherPepper.tokenHash(token) == hasher.tokenHash(token))
    }

    @Test func constantTimeEqualsIsTrueForEqualStrings() {
        #expect(SecretHasher.constantTimeEquals("9ec121c8", "9ec121c8"))
        #expect(SecretHasher.constantTimeEquals("", ""))
    }

    @Test func constantTimeEqualsIsFalseForAnyDifferentByte() {
        let reference = "9ec121c8c6a0e187"
        for index in reference.indices {
            var changed = reference
            changed.replaceSubrange(index...index, with: reference[index] == "0" ? "1" : "0")
            #expect(!SecretHasher.constantTimeEquals(reference, changed))
        }
    }

    @Test func constantTimeEqualsIsFalseForDifferentLengths() {
        #expect(!SecretHasher.constantTimeEquals("9ec121c8", "9ec121c"))
        #expect(!SecretHasher.constantTimeEquals("9ec121c8", "9ec121c80"))
        #expect(!SecretHasher.constantTimeEquals("", "0"))
    }

    @Test func logReferenceIsTheFirstTwelveHexCharacters() {
        let hash = hasher.phoneHash(Fixture.phone)
        let reference = SecretHasher.logReference(phoneHash: hash)
        #expect(reference == "8230f6bd440e")
        #expect(reference.count == 12)
    }
}

/// The phone hash's HMAC, built on SHA-256's states after the key's pads.
@Suite("Keyed SHA-256 MAC")
struct KeyedSHA256MACTests {
    private func mac(key: [UInt8], _ message: [UInt8]) -> String {
        Hex.encode(message.withUnsafeBytes { KeyedSHA256MAC(key: key).code(for: $0) })
    }

    /// RFC 4231, test cases 1, 2, 4 and 6 (a key longer than the block is hashed first).
    @Test func matchesRFC4231() {
        #expect(mac(key: Array(repeating: 0x0b, count: 20), Array("Hi There".utf8))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(mac(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(mac(key: Array(1...25), Array(repeating: 0xcd, count: 50))
                == "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
        #expect(mac(key: Array(repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    /// The same bytes as swift-crypto's `HMAC<SHA256>` for keys of every length around the block
    /// size and messages around it, one MAC value reused for every message.
    @Test func matchesSwiftCryptosHMAC() {
        var generator = SystemRandomNumberGenerator()
        for keyLength in [0, 1, 31, 32, 63, 64, 65, 128, 200] {
            let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let keyed = KeyedSHA256MAC(key: key)
            for messageLength in [0, 1, 12, 55, 56, 63, 64, 65, 119, 120, 1000] {
                let message = (0..<messageLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let expected = Hex.encode(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
                #expect(Hex.encode(message.withUnsafeBytes { keyed.code(for: $0) }) == expected, "key \(keyLength) bytes, message \(messageLength)")
            }
        }
    }
}
