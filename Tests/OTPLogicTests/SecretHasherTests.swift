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
