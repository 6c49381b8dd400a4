/// Which location of a server a URI (an `auth_request` target) lands in, by nginx's order: an
/// exact match; else the longest prefix, then its nested locations; then, unless that prefix is
/// `^~`, the first regular expression in order that matches; else the longest prefix.
/// Regular expressions are Swift's, which read the usual PCRE patterns the same way.
struct LocationMatcher {
    let scopes: [LocationScope]

    /// The location `uri` lands in among the locations of the server `scope` is in.
    func match(_ uri: String, inServerOf scope: LocationScope) -> LocationScope? {
        guard let server = scope.serverKey else { return nil }
        return find(uri, among: children(of: server)).scope
    }

    private func children(of key: [SourceLocation]) -> [LocationScope] {
        scopes.filter { $0.parentKey == key }
    }

    /// The location found, and whether the search is over (exact, `^~`, or a regex).
    private func find(_ uri: String, among candidates: [LocationScope]) -> (scope: LocationScope?, final: Bool) {
        let patterns = candidates.map { LocationPattern($0.location) }
        if let exact = candidates.indices.first(where: { patterns[$0].kind == .exact && patterns[$0].path == uri }) {
            return (candidates[exact], true)
        }
        var found: LocationScope?
        var foundLength = -1
        var noRegex = false
        for index in candidates.indices where patterns[index].kind == .prefix || patterns[index].kind == .prefixNoRegex {
            if uri.hasPrefix(patterns[index].path) && patterns[index].path.count > foundLength {
                found = candidates[index]
                foundLength = patterns[index].path.count
                noRegex = patterns[index].kind == .prefixNoRegex
            }
        }
        if let prefix = found {
            let nested = find(uri, among: children(of: prefix.key))
            if let inner = nested.scope {
                if nested.final { return (inner, true) }
                found = inner
            }
            if noRegex { return (found, true) }
        }
        for index in candidates.indices where patterns[index].matchesAsRegex(uri) {
            let nested = find(uri, among: children(of: candidates[index].key))
            return (nested.final ? nested.scope : candidates[index], true)
        }
        return (found, false)
    }
}

/// A `location` directive's modifier and path: `= /x`, `^~ /x`, `/x`, `~ re`, `~* re`, `@name`
/// (the modifier may also be written against the path, as in `=/x`).
struct LocationPattern {
    enum Kind { case exact, prefix, prefixNoRegex, regex, regexIgnoringCase, named }
    let kind: Kind
    let path: String

    init(_ location: Directive) {
        let arguments = location.arguments
        if arguments.count >= 2 {
            path = arguments[1]
            switch arguments[0] {
            case "=": kind = .exact
            case "^~": kind = .prefixNoRegex
            case "~": kind = .regex
            case "~*": kind = .regexIgnoringCase
            default: kind = .prefix
            }
            return
        }
        let written = arguments.first ?? ""
        if written.hasPrefix("=") {
            (kind, path) = (.exact, String(written.dropFirst()))
        } else if written.hasPrefix("~*") {
            (kind, path) = (.regexIgnoringCase, String(written.dropFirst(2)))
        } else if written.hasPrefix("~") {
            (kind, path) = (.regex, String(written.dropFirst()))
        } else if written.hasPrefix("@") {
            (kind, path) = (.named, written)
        } else {
            (kind, path) = (.prefix, written)
        }
    }

    /// True for a regex location whose expression matches somewhere in `uri`; false for the
    /// others, and for an expression Swift cannot read.
    func matchesAsRegex(_ uri: String) -> Bool {
        guard kind == .regex || kind == .regexIgnoringCase, let regex = try? Regex(path) else { return false }
        return uri.contains(kind == .regexIgnoringCase ? regex.ignoresCase() : regex)
    }
}
