import Logging

/// A send or verify as the client asked for it, once its body was read.
public struct CodeRequest: Sendable, Equatable {
    public var purpose: Purpose
    /// Required for `verify_phone`; for `step_up` optional, and then it must be the phone on record.
    public var phone: PhoneNumber?
    /// The authenticated principal (`REMOTE_USER`).
    public var principal: String?
    /// `step_up` only: what the code approves.
    public var action: String?
    /// `step_up` only: the user a delegate acts for.
    public var subject: String?
    /// The client's address (`REMOTE_ADDR`), for the SMS firewall's address budget.
    public var address: ClientAddress?
    /// The language of the SMS (`de`, `de-AT`), when the operator has templates for it.
    public var locale: String?

    public init(
        purpose: Purpose, phone: PhoneNumber? = nil, principal: String? = nil, action: String? = nil, subject: String? = nil,
        address: ClientAddress? = nil, locale: String? = nil
    ) {
        self.locale = locale
        self.purpose = purpose
        self.phone = phone
        self.principal = principal
        self.action = action
        self.subject = subject
        self.address = address
    }
}

/// Where a code goes and whose it is, once the binding rules ran.
struct CodeTarget {
    var phone: PhoneNumber
    var purpose: Purpose
    /// The key's owner: the step-up user, empty for `verify_phone`.
    var owner: String
    var action: String?
    /// `verify_phone`: the principal whose phone it becomes; `step_up`: the party.
    var principal: String?
    var party: StepUpParty?
    var phoneHash: String
    var log: Logger
    /// Whose budgets the send counts against: the principal and their address; a delegate's
    /// step-up counts against its subject alone (its code can only go to the subject's verified phone).
    var budgetUser: String?
    var budgetAddress: ClientAddress?
    var locale: String?
}

extension OTPService {
    /// Applies the step-up binding rules (a principal, delegation, a known action, the phone on
    /// record) and gives the request's log its fields.
    ///
    /// `phoneOnRecordLater`: a step-up that names its phone is taken at its word here, without a
    /// read; the caller then runs `phoneOnRecordRefusal(of:in:)` in its write transaction, before
    /// it touches the code.
    func target(of request: CodeRequest, phoneOnRecordLater: Bool = false) throws(OTPError) -> CodeTarget {
        // The request's fields go into the handler's metadata (the worker's) as one dictionary,
        // sized once and assigned once: a field at a time costs a copy and rehashes (this runs on
        // every send and verify).
        var fields = self.logger.handler.metadata
        fields.reserveCapacity(fields.count + 5)
        fields["purpose"] = .string(request.purpose.rawValue)
        func logger(with fields: Logger.Metadata) -> Logger {
            var log = self.logger
            log.handler.metadata = fields
            return log
        }
        switch request.purpose {
        case .verifyPhone:
            // The body reader refuses a verify_phone without a phone, or with an action or subject.
            guard let phone = request.phone else { throw .notThePhoneOnRecord }
            let phoneHash = hasher.phoneHash(phone)
            fields["phone"] = .string(SecretHasher.logReference(phoneHash: phoneHash))
            return CodeTarget(
                phone: phone, purpose: .verifyPhone, owner: "", action: nil, principal: request.principal, party: nil,
                phoneHash: phoneHash, log: logger(with: fields), budgetUser: request.principal, budgetAddress: request.address,
                locale: request.locale
            )
        case .stepUp:
            guard let principal = request.principal else { throw .notAuthenticated }
            let party = try bindingPolicy.party(principal: principal, subject: request.subject)
            fields["user"] = .string(party.user)
            if let delegate = party.delegate { fields["delegate"] = .string(delegate) }
            if let action = request.action { fields["action"] = .string(action) }
            try bindingPolicy.checkAction(request.action)
            let phone: PhoneNumber
            if phoneOnRecordLater, let requested = request.phone {
                phone = requested
            } else {
                let onRecord = try reading(logger(with: fields)) { () throws(StoreError) in try store.verifiedPhone(userID: party.user) }
                phone = try bindingPolicy.phone(onRecord: onRecord, requested: request.phone)
            }
            let phoneHash = hasher.phoneHash(phone)
            fields["phone"] = .string(SecretHasher.logReference(phoneHash: phoneHash))
            return CodeTarget(
                phone: phone, purpose: .stepUp, owner: party.user, action: request.action, principal: party.user, party: party,
                phoneHash: phoneHash, log: logger(with: fields), budgetUser: party.user,
                budgetAddress: party.delegate == nil ? request.address : nil, locale: request.locale
            )
        }
    }

    /// Why a step-up target's phone is not (or no longer) the user's verified phone, read in the
    /// transaction that uses the code; nil when it is. In the transaction, so a phone replaced
    /// after `target(of:)` read it cannot take a code of the old phone.
    func phoneOnRecordRefusal(of target: CodeTarget, in transaction: any OTPStoreTransaction) throws(StoreError) -> OTPError? {
        guard target.purpose == .stepUp else { return nil }
        let onRecord = try transaction.verifiedPhone(userID: target.owner)
        do throws(OTPError) {
            _ = try bindingPolicy.phone(onRecord: onRecord, requested: target.phone)
            return nil
        } catch {
            return error
        }
    }
}
