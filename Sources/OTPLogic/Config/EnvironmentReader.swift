/// Reads typed values out of an environment dictionary and collects every problem it finds,
/// so a bad start reports all offending variables at once instead of the first one.
struct EnvironmentReader {
    let environment: [String: String]
    private(set) var problems: [String] = []

    init(_ environment: [String: String]) {
        self.environment = environment
    }

    /// The raw value, with surrounding whitespace removed; nil when unset or empty.
    func value(_ name: String) -> String? {
        guard let raw = environment[name] else { return nil }
        let trimmed = raw.trimmingASCIIWhitespace()
        return trimmed.isEmpty ? nil : trimmed
    }

    mutating func problem(_ name: String, _ message: String) {
        problems.append("\(name): \(message)")
    }

    mutating func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) -> Int {
        guard let text = value(name) else { return defaultValue }
        guard let number = Int(text), range.contains(number) else {
            problem(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return defaultValue
        }
        return number
    }

    mutating func string(_ name: String, default defaultValue: String) -> String {
        value(name) ?? defaultValue
    }

    mutating func required(_ name: String, because reason: String) -> String? {
        guard let text = value(name) else {
            problem(name, "is required \(reason)")
            return nil
        }
        return text
    }

    mutating func choice<T: RawRepresentable>(_ name: String, default defaultValue: T, allowed: [T]) -> T
    where T.RawValue == String {
        guard let text = value(name) else { return defaultValue }
        guard let parsed = T(rawValue: text.lowercased()), allowed.contains(where: { $0.rawValue == parsed.rawValue }) else {
            problem(name, "must be one of \(allowed.map(\.rawValue).joined(separator: ", "))")
            return defaultValue
        }
        return parsed
    }
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
