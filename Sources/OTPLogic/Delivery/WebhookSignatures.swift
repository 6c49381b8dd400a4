import Crypto

/// Twilio's `X-Twilio-Signature` (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
/// Base64(HMAC-SHA1(key: the Auth Token, data: the full URL Twilio called, then every POST
/// parameter's name and value, sorted by name, with no separators)).
public enum TwilioSignature {
    public static func expected(authToken: String, url: String, fields: [FormField]) -> String {
        var data = Array(url.utf8)
        for field in fields.sorted(by: { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }) {
            data += Array(field.name.utf8) + Array(field.value.utf8)
        }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: data, using: SymmetricKey(data: Array(authToken.utf8)))
        return Base64.encode(Array(mac))
    }

    /// Compared in constant time; an empty signature is never valid.
    public static func isValid(_ signature: String, authToken: String, url: String, fields: [FormField]) -> Bool {
        !signature.isEmpty && SecretHasher.constantTimeEquals(signature, expected(authToken: authToken, url: url, fields: fields))
    }
}

/// Vonage's signed webhooks (SMS API; "Signing Messages" in Vonage's developer docs): the `sig`
/// parameter over every other parameter, sorted by name, each as `&name=value` with `&` and `=`
/// in values replaced by `_`. `md5hash` (Vonage's default) is MD5 of that string followed by the
/// signature secret; the HMAC methods key the string with the secret. Hexadecimal, compared
/// without regard to case.
public enum VonageSignature {
    public enum Method: String, Sendable, CaseIterable {
        case md5hash, md5, sha1, sha256, sha512
    }

    public static func expected(secret: String, method: Method, fields: [FormField]) -> String {
        var text = ""
        for field in fields.filter({ $0.name != "sig" }).sorted(by: { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }) {
            let value = String(field.value.map { $0 == "&" || $0 == "=" ? "_" : $0 })
            text += "&\(field.name)=\(value)"
        }
        let data = Array(text.utf8)
        let key = SymmetricKey(data: Array(secret.utf8))
        switch method {
        case .md5hash: return Hex.encode(Insecure.MD5.hash(data: data + Array(secret.utf8)))
        case .md5: return Hex.encode(HMAC<Insecure.MD5>.authenticationCode(for: data, using: key))
        case .sha1: return Hex.encode(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key))
        case .sha256: return Hex.encode(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .sha512: return Hex.encode(HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
    }

    public static func isValid(_ signature: String, secret: String, method: Method, fields: [FormField]) -> Bool {
        !signature.isEmpty && SecretHasher.constantTimeEquals(signature.lowercased(), expected(secret: secret, method: method, fields: fields))
    }
}

/// Standard base64 (RFC 4648 §4) with padding, as Twilio's signatures are written.
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String {
        var text = String(Base64URL.encode(bytes).map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while text.utf8.count % 4 != 0 { text += "=" }
        return text
    }
}
