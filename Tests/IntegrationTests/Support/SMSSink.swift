import Foundation
import TestSupport

/// The file SMS sink (OTP_SMS_FILE) as every test reads it: one JSON object a line with `to`,
/// `purpose` and `body`. Codes come out of a message text only through `SMSCode.extract` (TestSupport),
/// the same reader the unit tests and the fuzz targets use.
struct SMSSink: Sendable {
    struct Message: Sendable {
        var to: String
        var purpose: String
        var body: String
        /// The code in the body, if there is one.
        var code: String?
    }

    let path: String
    /// OTP_CODE_LENGTH of the otp-fcgi that writes the file.
    var codeLength = 6

    /// The messages written so far, in order; none when there is no file yet.
    func messages() -> [Message] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                  let to = object["to"], let purpose = object["purpose"], let body = object["body"] else { return nil }
            return Message(to: to, purpose: purpose, body: body, code: SMSCode.extract(from: body, length: codeLength))
        }
    }

    /// The code of the last message to `phone` (for `purpose` when given).
    func lastCode(to phone: String, purpose: String? = nil) -> String? {
        messages().last { $0.to == phone && (purpose == nil || $0.purpose == purpose) }?.code
    }
}
