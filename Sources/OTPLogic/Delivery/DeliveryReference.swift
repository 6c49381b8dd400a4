/// Our own key for one message, sent along with it so its status callbacks come back with it:
/// in Twilio's `StatusCallback` URL (`?ref=`), as Vonage's `client-ref`. 28 lowercase hexadecimal
/// digits: the wall clock in milliseconds (12), then 64 random bits (16).
///
/// Why not look messages up by the provider's id: those ids are random, so every send put an
/// index entry on a random page, one more page per send for the commit to write. These keys grow
/// with time, so the sends of one commit share the index's last page. It is no secret: the
/// providers' signatures cover it, and a callback must also name the message id stored with it.
public struct DeliveryReference: Sendable, Hashable, CustomStringConvertible {
    public static let length = 28

    public let text: String

    /// Checks the form; nil for anything else.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == DeliveryReference.length,
              text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        self.text = String(text)
    }

    /// The reference for a message sent at `milliseconds` since the Unix epoch, with 8 random bytes.
    public init(milliseconds: Int64, random: [UInt8]) {
        precondition(random.count == 8 && milliseconds >= 0)
        // Written in place, one digit a nibble: built from pieces it cost 3,000 instructions a send.
        let time = UInt64(milliseconds) & 0xFFFF_FFFF_FFFF
        text = String(unsafeUninitializedCapacity: DeliveryReference.length) { out in
            for index in 0..<12 { out[index] = Hex.digit(UInt8(truncatingIfNeeded: time >> UInt64(44 - 4 * index)) & 0x0f) }
            return random.withUnsafeBytes { Hex.write($0, to: out, at: 12) }
        }
    }

    public var description: String { text }
}
