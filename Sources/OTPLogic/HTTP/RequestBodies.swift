/// The body of `POST …/send`.
public struct SendBody: Sendable, Equatable {
    public var phone: PhoneNumber
    public var purpose: Purpose

    static let fields = ["phone_e164", "purpose"]

    public init(phone: PhoneNumber, purpose: Purpose) {
        self.phone = phone
        self.purpose = purpose
    }

    public init(json bytes: [UInt8]) throws(RequestError) {
        let fields = try BodyFields(json: bytes, allowed: SendBody.fields)
        phone = try fields.phone()
        purpose = try fields.purpose()
    }
}

/// The body of `POST …/verify`.
public struct VerifyBody: Sendable, Equatable {
    public var phone: PhoneNumber
    public var purpose: Purpose
    public var code: String

    static let fields = ["phone_e164", "purpose", "code"]

    public init(json bytes: [UInt8], codeLength: Int) throws(RequestError) {
        let fields = try BodyFields(json: bytes, allowed: VerifyBody.fields)
        phone = try fields.phone()
        purpose = try fields.purpose()
        code = try fields.code(length: codeLength)
    }
}

/// The string fields of a strict body: every allowed field present once, nothing else.
struct BodyFields {
    private var values: [String: String] = [:]

    init(json bytes: [UInt8], allowed: [String]) throws(RequestError) {
        let members: [JSONObjectParser.Member]
        do {
            members = try JSONObjectParser.parse(bytes)
        } catch .notAnObject {
            throw .invalid("Request body must be a JSON object")
        } catch {
            throw .malformed("Request body is not valid JSON")
        }
        for member in members {
            guard allowed.contains(member.name) else {
                throw .invalid("Unknown field in request body; allowed fields are \(allowed.joined(separator: ", "))")
            }
            guard values[member.name] == nil else {
                throw .invalid("Field \(member.name) appears more than once")
            }
            guard case .string(let text) = member.value else {
                throw .invalid("Field \(member.name) must be a string")
            }
            values[member.name] = text
        }
        for name in allowed where values[name] == nil {
            throw .invalid("Missing field: \(name)")
        }
    }

    func phone() throws(RequestError) -> PhoneNumber {
        guard let text = values["phone_e164"], let phone = PhoneNumber(text) else {
            throw .invalid("Field phone_e164 must be an E.164 phone number: + then 7 to 15 digits, no spaces")
        }
        return phone
    }

    func purpose() throws(RequestError) -> Purpose {
        guard let text = values["purpose"], let purpose = Purpose(rawValue: text) else {
            throw .invalid("Field purpose must be verify_phone or step_up")
        }
        return purpose
    }

    func code(length: Int) throws(RequestError) -> String {
        guard let text = values["code"], text.utf8.count == length, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw .invalid("Field code must be exactly \(length) digits")
        }
        return text
    }
}
