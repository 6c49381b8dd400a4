/// How an SMS text is carried, and how many messages (segments) it is billed as: GSM-7 when every
/// character is in the GSM 03.38 alphabet (160 septets, 153 per segment when split; the
/// extension characters count two), UCS-2 otherwise (70 UTF-16 units, 67 per segment).
public struct SMSEncoding: Sendable, Equatable, CustomStringConvertible {
    public enum Alphabet: String, Sendable {
        case gsm7 = "GSM-7"
        case ucs2 = "UCS-2"
    }

    public var alphabet: Alphabet
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    public var units: Int
    public var segments: Int

    public init(alphabet: Alphabet, units: Int, segments: Int) {
        self.alphabet = alphabet
        self.units = units
        self.segments = segments
    }

    public init(of text: String) {
        var septets = 0
        var isGSM = true
        for scalar in text.unicodeScalars {
            if SMSEncoding.basic.contains(scalar) {
                septets += 1
            } else if SMSEncoding.extended.contains(scalar) {
                septets += 2
            } else {
                isGSM = false
                break
            }
        }
        if isGSM {
            alphabet = .gsm7
            units = septets
            segments = units <= 160 ? 1 : (units + 152) / 153
        } else {
            alphabet = .ucs2
            units = text.utf16.count
            segments = units <= 70 ? 1 : (units + 66) / 67
        }
    }

    public var description: String { "\(alphabet.rawValue), \(segments) segment\(segments == 1 ? "" : "s") (\(units) \(alphabet == .gsm7 ? "septets" : "UTF-16 units"))" }

    /// GSM 03.38's basic character set.
    static let basic: Set<Unicode.Scalar> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà".unicodeScalars
    )

    /// GSM 03.38's extension table: an escape and the character, two septets each.
    static let extended: Set<Unicode.Scalar> = Set("^{}\\[~]|€\u{0C}".unicodeScalars)
}
