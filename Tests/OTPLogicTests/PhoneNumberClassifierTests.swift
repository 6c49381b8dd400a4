import CPhoneNumber
import Foundation
import Testing
import OTPLogic
@testable import OTPPhoneNumbers
import TestSupport

/// `LibPhoneNumberClassifier` on Debian's libphonenumber 8.12.57. Unless said otherwise, a number
/// below is the `<exampleNumber>` of libphonenumber's own metadata (resources/PhoneNumberMetadata.xml)
/// for that region and type: what `PhoneNumberUtil::GetExampleNumberForType` returns.
@Suite("libphonenumber classifier")
struct PhoneNumberClassifierTests {
    let classifier = LibPhoneNumberClassifier()

    func facts(_ e164: String) throws -> PhoneNumberFacts {
        try classifier.facts(about: #require(PhoneNumber(e164)))
    }

    static let examples: [(e164: String, facts: PhoneNumberFacts)] = [
        // US fixed line and mobile (the same pattern in the US: the number cannot tell).
        ("+12015550123", PhoneNumberFacts(isValid: true, type: .fixedLineOrMobile, region: "US")),
        // Google's Mountain View number, the example in phonenumberutil.h and US_NUMBER in its unit tests.
        ("+16502530000", PhoneNumberFacts(isValid: true, type: .fixedLineOrMobile, region: "US")),
        // GB mobile.
        ("+447400123456", PhoneNumberFacts(isValid: true, type: .mobile, region: "GB")),
        // DE mobile.
        ("+4915123456789", PhoneNumberFacts(isValid: true, type: .mobile, region: "DE")),
        // DE fixed line (Berlin).
        ("+4930123456", PhoneNumberFacts(isValid: true, type: .fixedLine, region: "DE")),
        // GB premium rate (09…).
        ("+449012345678", PhoneNumberFacts(isValid: true, type: .premiumRate, region: "GB")),
        // US toll free (800).
        ("+18002345678", PhoneNumberFacts(isValid: true, type: .tollFree, region: "US")),
        // DE shared cost (0180). GB has none in this metadata: 084x/087x are UAN there.
        ("+4918012345", PhoneNumberFacts(isValid: true, type: .sharedCost, region: "DE")),
        // GB VoIP (056).
        ("+445612345678", PhoneNumberFacts(isValid: true, type: .voip, region: "GB")),
        // GB UAN (055).
        ("+445512345678", PhoneNumberFacts(isValid: true, type: .uan, region: "GB")),
        // +800, International Freephone: a non-geographic entity (region "001" in libphonenumber), no region.
        ("+80012345678", PhoneNumberFacts(isValid: true, type: .tollFree, region: nil)),
    ]

    @Test(arguments: examples)
    func metadataExampleNumbersHaveTheirTypeAndRegion(e164: String, expected: PhoneNumberFacts) throws {
        #expect(try facts(e164) == expected)
    }

    /// 07700 900000–900999 is Ofcom's drama range (numbers for fiction that reach nobody);
    /// libphonenumber's GB mobile pattern leaves 7700 9… out, so it is no number at all.
    @Test func ofcomDramaRangeMobileIsInvalid() throws {
        #expect(try facts("+447700900123") == PhoneNumberFacts(isValid: false, type: .unknown, region: nil))
    }

    /// E.164 in shape, but a NANP area code never starts with 1.
    @Test func wellFormedButUnassignedNumberIsInvalidWithoutRegion() throws {
        #expect(try facts("+11234567890") == PhoneNumberFacts(isValid: false, type: .unknown, region: nil))
    }

    /// A calling code of one region only (+376, Andorra) names that region even for a number
    /// outside its plan: the region alone never makes a number acceptable.
    @Test func invalidNumberOfASingleRegionCallingCodeKeepsTheRegion() throws {
        #expect(try facts("+37600000000") == PhoneNumberFacts(isValid: false, type: .unknown, region: "AD"))
    }

    /// +999 is no calling code: libphonenumber does not parse the number at all.
    @Test func unassignedCallingCodeIsInvalid() throws {
        #expect(try facts("+999123456789") == PhoneNumberFacts(isValid: false, type: .unknown, region: nil))
    }

    /// The number exactly as the SMS would go to it: a national prefix written after the country
    /// code is part of the number (libphonenumber's Parse would strip it and judge another one).
    @Test(arguments: [
        ("+112015550123", "+12015550123"),  // NANP's trunk prefix 1
        ("+4407400123456", "+447400123456"), // GB's trunk prefix 0
        ("+49015123456789", "+4915123456789"),
    ])
    func aNationalPrefixAfterTheCountryCodeMakesAnotherNumber(written: String, valid: String) throws {
        let judged = try facts(written)
        #expect(!judged.isValid && judged.type == .unknown)
        #expect(try facts(valid).isValid)
    }

    /// Leading zeros of a national number are kept (Italy's fixed lines start with 0).
    @Test func italianLeadingZeroIsPartOfTheNumber() throws {
        let example = try #require(LibPhoneNumberClassifier.exampleNumber(of: .fixedLine, in: "IT"))
        #expect(example.e164.hasPrefix("+390"))
        #expect(classifier.facts(about: example) == PhoneNumberFacts(isValid: true, type: .fixedLine, region: "IT"))
    }

    /// Every type but `unknown`, both ways through the mapping: libphonenumber's example number of
    /// that type (in a region that has one) comes back as that type, valid, in that region.
    @Test(arguments: [
        (PhoneNumberType.fixedLine, "DE"), (.mobile, "DE"), (.fixedLineOrMobile, "US"), (.tollFree, "GB"),
        (.premiumRate, "GB"), (.sharedCost, "FR"), (.voip, "GB"), (.personalNumber, "GB"), (.pager, "GB"),
        (.uan, "GB"), (.voicemail, "DE"),
    ])
    func everyTypeIsMappedFromLibPhoneNumber(type: PhoneNumberType, region: String) throws {
        let example = try #require(LibPhoneNumberClassifier.exampleNumber(of: type, in: region))
        #expect(classifier.facts(about: example) == PhoneNumberFacts(isValid: true, type: type, region: region))
    }

    @Test func everyTypeButUnknownHasAnExampleSomewhere() {
        for type in PhoneNumberType.allCases {
            let example = LibPhoneNumberClassifier.exampleNumber(of: type)
            #expect((example == nil) == (type == .unknown), "\(type)")
        }
    }

    @Test func parallelClassificationsAgreeWithSerialOnes() throws {
        let numbers = try (Self.examples.map(\.e164) + ["+447700900123", "+11234567890", "+37600000000", "+999123456789"])
            .map { try #require(PhoneNumber($0)) }
        let serial = numbers.map { classifier.facts(about: $0) }
        let shared = classifier
        let disagreements = Locked(0)
        let finished = runOnThreads(16) { index, barrier in
            barrier()
            var wrong = 0
            for round in 0..<200 {
                let i = (index + round) % numbers.count
                if shared.facts(about: numbers[i]) != serial[i] { wrong += 1 }
            }
            disagreements.update { $0 += wrong }
        }
        try #require(finished)
        #expect(disagreements.value == 0)
    }

    /// Nothing of libphonenumber's reaches stdout (the response, under plain CGI) or stderr (the
    /// journal): not the number, not a parse message. fds 1 and 2 go to a file, not a pipe, so a
    /// test running meanwhile that writes much cannot block; what it wrote is passed on afterwards.
    @Test func classifyingNeverWritesToStdoutOrStderr() throws {
        let inputs = [
            "+999123456789", "+447700900123", "+11234567890", "+1", "+", "", "+++garbage", "0044abc", "tel:+44-7700",
            "+44 (0) 7700 900123 ext. 99", String(repeating: "9", count: 300), "+4477009001239999999999",
        ]
        let written = try capturingStandardOutputAndError {
            var facts = otp_phone_facts()
            for input in inputs { _ = otp_phone_classify(input, &facts) }
            _ = otp_phone_classify(nil, &facts)
            for input in ["+999123456789", "+447700900123", "+11234567890"] {
                _ = classifier.facts(about: PhoneNumber(input)!)
            }
        }
        let text = String(decoding: written, as: UTF8.self)
        // Markers no other test prints, and libphonenumber's own words for a parse failure.
        for marker in ["999123456789", "+++garbage", "0044abc", "900123 ext. 99", "not seem to be a phone number", "country calling code"] {
            #expect(!text.contains(marker), "\(marker) in: \(text)")
        }
    }

    @Test func cAPIRefusesWhatItCannotParse() {
        var facts = otp_phone_facts(is_valid: 1, type: Int32(OTP_PHONE_MOBILE), region: (65, 65, 0))
        for input in ["not a number", "+", "+0123456789", "+1415555012a", "+44 7400123456", "14155550123", "+1234567890123456"] {
            #expect(otp_phone_classify(input, &facts) == 1, "\(input)")
        }
        #expect(facts.is_valid == 0)
        #expect(Int(facts.type) == OTP_PHONE_UNKNOWN)
        #expect(facts.region.0 == 0)
        #expect(otp_phone_classify(nil, &facts) == 1)
    }
}

/// Runs `body` with fds 1 and 2 on an anonymous temporary file; returns what was written there,
/// after passing it on to the real stderr.
private func capturingStandardOutputAndError(_ body: () -> Void) throws -> [UInt8] {
    let file = try #require(tmpfile())
    defer { fclose(file) }
    fflush(nil)
    let savedOut = dup(1), savedErr = dup(2)
    try #require(savedOut >= 0 && savedErr >= 0)
    dup2(fileno(file), 1)
    dup2(fileno(file), 2)
    body()
    fflush(nil)
    dup2(savedOut, 1)
    dup2(savedErr, 2)
    close(savedOut)
    close(savedErr)
    let size = lseek(fileno(file), 0, SEEK_END)
    var bytes = [UInt8](repeating: 0, count: Int(max(size, 0)))
    let read = bytes.withUnsafeMutableBytes { pread(fileno(file), $0.baseAddress, $0.count, 0) }
    bytes = Array(bytes.prefix(max(read, 0)))
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    return bytes
}
