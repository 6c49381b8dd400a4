import CPhoneNumber
import OTPLogic

/// `PhoneNumberClassifier` by Google's libphonenumber (Debian's `libphonenumber8`): its metadata
/// decides validity, type and region; this target holds no number tables of its own.
/// Thread-safe, and it never logs (a number must not reach stdout or stderr).
public struct LibPhoneNumberClassifier: PhoneNumberClassifier {
    public init() {}

    public func facts(about phone: PhoneNumber) -> PhoneNumberFacts {
        var facts = otp_phone_facts()
        guard otp_phone_classify(phone.e164, &facts) == 0 else {
            return PhoneNumberFacts(isValid: false, type: .unknown, region: nil)
        }
        let region = withUnsafeBytes(of: facts.region) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return PhoneNumberFacts(
            isValid: facts.is_valid != 0,
            type: Self.type(Int(facts.type)),
            region: region.isEmpty ? nil : region
        )
    }

    /// libphonenumber's example number of `type` in `region` (nil: the first region that has one),
    /// from its metadata; nil when it has none.
    static func exampleNumber(of type: PhoneNumberType, in region: String? = nil) -> PhoneNumber? {
        var buffer = [CChar](repeating: 0, count: 17)
        let status = buffer.withUnsafeMutableBufferPointer { out in
            if let region {
                otp_phone_example_number(region, Int32(Self.code(type)), out.baseAddress, out.count)
            } else {
                otp_phone_example_number(nil, Int32(Self.code(type)), out.baseAddress, out.count)
            }
        }
        guard status == 0 else { return nil }
        return PhoneNumber(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    private static let types: [(code: Int, type: PhoneNumberType)] = [
        (OTP_PHONE_FIXED_LINE, .fixedLine),
        (OTP_PHONE_MOBILE, .mobile),
        (OTP_PHONE_FIXED_LINE_OR_MOBILE, .fixedLineOrMobile),
        (OTP_PHONE_TOLL_FREE, .tollFree),
        (OTP_PHONE_PREMIUM_RATE, .premiumRate),
        (OTP_PHONE_SHARED_COST, .sharedCost),
        (OTP_PHONE_VOIP, .voip),
        (OTP_PHONE_PERSONAL_NUMBER, .personalNumber),
        (OTP_PHONE_PAGER, .pager),
        (OTP_PHONE_UAN, .uan),
        (OTP_PHONE_VOICEMAIL, .voicemail),
        (OTP_PHONE_UNKNOWN, .unknown),
    ]

    private static func type(_ code: Int) -> PhoneNumberType {
        types.first { $0.code == code }?.type ?? .unknown
    }

    private static func code(_ type: PhoneNumberType) -> Int {
        types.first { $0.type == type }?.code ?? OTP_PHONE_UNKNOWN
    }
}
