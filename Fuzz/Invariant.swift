#if canImport(Glibc)
import Glibc
#endif

/// A property a fuzz target asserts that did not hold for an input.
struct InvariantViolation: Error, CustomStringConvertible {
    var description: String
}

/// Fails the input with `message` unless `condition` holds.
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(InvariantViolation) {
    guard condition else { throw InvariantViolation(description: message()) }
}

extension String {
    /// The ASCII digits of the text, in order: how a phone number is compared against output, so
    /// a leak is caught whatever punctuation surrounds it.
    var asciiDigits: String {
        String(decoding: utf8.filter { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self)
    }
}

/// Writes `text` to a file descriptor in one call, unbuffered: the line naming an input is out
/// before that input can crash the process.
func emit(_ text: String, to fileDescriptor: Int32 = 1) {
    var text = text
    text.withUTF8 { _ = write(fileDescriptor, $0.baseAddress, $0.count) }
}
