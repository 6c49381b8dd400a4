/// What is wrong with a request before any rule runs. Every case has no side effect.
public enum RequestError: Error, Sendable, Equatable {
    case notFound
    case methodNotAllowed(allow: String)
    case payloadTooLarge
    case unsupportedMediaType
    /// The body did not arrive within the read deadline.
    case bodyTimeout
    /// Not parseable: broken JSON, not UTF-8, or a body shorter than announced.
    case malformed(String)
    /// Parseable but not what the endpoint takes: names the field, never echoes a phone.
    case invalid(String)
    /// A provider callback whose signature is missing or wrong, or that no configured provider
    /// could have signed.
    case badSignature
    /// A form endpoint (the delivery status callbacks) got another content type.
    case notAForm
}
