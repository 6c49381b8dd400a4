/// A glob(3) pattern as nginx's `include` uses it: `*` and `?` match within one path component and
/// not a leading dot; `[abc]`, `[a-z]`, `[!x]` (or `[^x]`) match one character; `\` quotes the next.
struct GlobPattern {
    private let pattern: [UInt8]

    init(_ pattern: String) { self.pattern = Array(pattern.utf8) }

    /// True when nginx's include would take this path for the pattern.
    static func isPattern(_ path: String) -> Bool { path.contains { "*?[".contains($0) } }

    func matches(_ path: String) -> Bool { match(0, Array(path.utf8), 0) }

    private func match(_ p: Int, _ path: [UInt8], _ s: Int) -> Bool {
        guard p < pattern.count else { return s == path.count }
        let atComponentStart = s == 0 || path[s - 1] == UInt8(ascii: "/")
        switch pattern[p] {
        case UInt8(ascii: "*"):
            if s < path.count && path[s] == UInt8(ascii: ".") && atComponentStart { return false }
            var end = s
            while true {
                if match(p + 1, path, end) { return true }
                guard end < path.count, path[end] != UInt8(ascii: "/") else { return false }
                end += 1
            }
        case UInt8(ascii: "?"):
            guard s < path.count, path[s] != UInt8(ascii: "/"), !(path[s] == UInt8(ascii: ".") && atComponentStart) else { return false }
            return match(p + 1, path, s + 1)
        case UInt8(ascii: "["):
            guard s < path.count, path[s] != UInt8(ascii: "/"), let (matched, next) = bracket(p, path[s]) else {
                return s < path.count && path[s] == UInt8(ascii: "[") && match(p + 1, path, s + 1)
            }
            if path[s] == UInt8(ascii: ".") && atComponentStart { return false }
            return matched && match(next, path, s + 1)
        case UInt8(ascii: "\\") where p + 1 < pattern.count:
            return s < path.count && path[s] == pattern[p + 1] && match(p + 2, path, s + 1)
        default:
            return s < path.count && path[s] == pattern[p] && match(p + 1, path, s + 1)
        }
    }

    /// Whether `byte` is in the bracket expression at `p`, and where the pattern continues; nil
    /// when the `[` is not closed (then it is an ordinary character).
    private func bracket(_ p: Int, _ byte: UInt8) -> (Bool, Int)? {
        var index = p + 1
        let negated = index < pattern.count && (pattern[index] == UInt8(ascii: "!") || pattern[index] == UInt8(ascii: "^"))
        if negated { index += 1 }
        var matched = false
        var first = true
        while index < pattern.count {
            let low = pattern[index]
            if low == UInt8(ascii: "]") && !first { return (matched != negated, index + 1) }
            first = false
            if index + 2 < pattern.count && pattern[index + 1] == UInt8(ascii: "-") && pattern[index + 2] != UInt8(ascii: "]") {
                if low <= byte && byte <= pattern[index + 2] { matched = true }
                index += 3
            } else {
                if low == byte { matched = true }
                index += 1
            }
        }
        return nil
    }
}
