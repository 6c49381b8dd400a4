/// The body of `POST …/send`.
public struct SendBody: Sendable, Equatable {
    public var phone: PhoneNumber?
    public var purpose: Purpose
    public var action: String?
    public var subject: String?
    public var locale: String?

    /// Every field it may have, in the order the refusal of an unknown one lists them.
    public static let fields = ["phone_e164", "purpose", "action", "subject", "locale"]

    public init(phone: PhoneNumber?, purpose: Purpose, action: String? = nil, subject: String? = nil, locale: String? = nil) {
        self.phone = phone
        self.purpose = purpose
        self.action = action
        self.subject = subject
        self.locale = locale
    }

    public init(json bytes: [UInt8]) throws(RequestError) {
        let fields = try BodyFields(json: bytes, allowed: SendBody.fields, required: ["purpose"])
        purpose = try fields.purpose()
        phone = try fields.phone(required: purpose == .verifyPhone)
        (action, subject) = try fields.stepUpBinding(for: purpose)
        locale = try fields.locale()
    }

    /// The service's view of it, for `principal` at `address`.
    public func request(principal: String?, address: ClientAddress? = nil) -> CodeRequest {
        CodeRequest(purpose: purpose, phone: phone, principal: principal, action: action, subject: subject, address: address, locale: locale)
    }
}

/// The body of `POST …/verify`.
public struct VerifyBody: Sendable, Equatable {
    public var phone: PhoneNumber?
    public var purpose: Purpose
    public var code: String
    public var action: String?
    public var subject: String?

    /// Every field it may have, in the order the refusal of an unknown one lists them.
    public static let fields = ["phone_e164", "purpose", "code", "action", "subject"]

    public init(json bytes: [UInt8], codeLength: Int) throws(RequestError) {
        let fields = try BodyFields(json: bytes, allowed: VerifyBody.fields, required: ["purpose", "code"])
        purpose = try fields.purpose()
        phone = try fields.phone(required: purpose == .verifyPhone)
        code = try fields.code(length: codeLength)
        (action, subject) = try fields.stepUpBinding(for: purpose)
    }

    /// The service's view of it, for `principal`.
    public func request(principal: String?) -> CodeRequest {
        CodeRequest(purpose: purpose, phone: phone, principal: principal, action: action, subject: subject)
    }
}

/// The string fields of a strict body: every required field present once, the other allowed ones
/// at most once, nothing else.
struct BodyFields {
    /// A handful of fields at most: a list looked through beats hashing every name.
    private var fields: [(name: String, value: String)] = []

    private subscript(name: String) -> String? {
        for field in fields where field.name == name { return field.value }
        return nil
    }

    init(json bytes: [UInt8], allowed: [String], required: [String]) throws(RequestError) {
        let members: [JSONObjectParser.Member]
        do {
            members = try JSONObjectParser.parse(bytes)
        } catch .notAnObject {
            throw .invalid("Request body must be a JSON object")
        } catch {
            throw .malformed("Request body is not valid JSON")
        }
        fields.reserveCapacity(members.count)
        for member in members {
            guard allowed.contains(member.name) else {
                throw .invalid("Unknown field \(BodyFields.shown(member.name)) in request body; allowed fields are \(allowed.joined(separator: ", "))")
            }
            guard self[member.name] == nil else {
                throw .invalid("Field \(member.name) appears more than once")
            }
            guard case .string(let text) = member.value else {
                throw .invalid("Field \(member.name) must be a string")
            }
            fields.append((member.name, text))
        }
        for name in required where self[name] == nil {
            throw .invalid("Missing field: \(name)")
        }
    }

    /// A field name as an answer may show it: quoted and escaped, its first 64 characters; not at
    /// all when it holds a run of seven digits (a phone number is never echoed, even as a name).
    static func shown(_ name: String) -> String {
        var run = 0
        for byte in name.utf8 {
            run = (byte >= 0x30 && byte <= 0x39) ? run + 1 : 0
            if run >= 7 { return "(its name holds a number and is not shown)" }
        }
        return JSONText.quoted(String(name.prefix(64)))
    }

    /// The phone; nil when absent and not `required`.
    func phone(required: Bool) throws(RequestError) -> PhoneNumber? {
        guard let text = self["phone_e164"] else {
            if required { throw .invalid("Missing field: phone_e164") }
            return nil
        }
        guard let phone = PhoneNumber(text) else {
            throw .invalid("Field phone_e164 must be an E.164 phone number: + then 7 to 15 digits, no spaces")
        }
        return phone
    }

    func purpose() throws(RequestError) -> Purpose {
        guard let text = self["purpose"], let purpose = Purpose(rawValue: text) else {
            throw .invalid("Field purpose must be verify_phone or step_up")
        }
        return purpose
    }

    func code(length: Int) throws(RequestError) -> String {
        guard let text = self["code"], text.utf8.count == length, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw .invalid("Field code must be exactly \(length) digits")
        }
        return text
    }

    /// The SMS language, `[a-z]{2}(-[A-Z]{2})?`.
    func locale() throws(RequestError) -> String? {
        guard let text = self["locale"] else { return nil }
        guard MessageTemplates.isLocale(text) else { throw .invalid("Field locale must be a language like de or de-AT") }
        return text
    }

    /// `action` and `subject`, which only a `step_up` may carry.
    func stepUpBinding(for purpose: Purpose) throws(RequestError) -> (action: String?, subject: String?) {
        let action = self["action"]
        let subject = self["subject"]
        if purpose != .stepUp {
            if action != nil { throw .invalid("Field action is only for purpose step_up") }
            if subject != nil { throw .invalid("Field subject is only for purpose step_up") }
        }
        if let action, !StepUpActions.isValidName(action) {
            throw .invalid("Field action must be an action name: a-z, 0-9, '.', '_' or '-', at most 64 characters")
        }
        if let subject, Principal(remoteUserValues: [subject]).userID == nil {
            throw .invalid("Field subject must be a user name of 1 to \(Principal.maximumLength) bytes without control characters")
        }
        return (action, subject)
    }
}
