/// Where a value in one location can get `$remote_user` from: the value itself, or a variable it
/// names, followed through `set` (the location's own; where none is unconditional, the server's
/// too; where neither has one, http's `map`s).
struct VariableSources {
    /// How `$remote_user` got in: the assignment that names it (nil when the value itself does)
    /// and the variables in between, outermost first.
    struct Trace {
        let origin: SourceLocation?
        let through: [String]
    }

    /// How many variables deep to follow (`set $a $b; set $b $remote_user;` is two).
    static let maximumDepth = 4

    let scope: LocationScope
    let maps: [Directive]

    init(scope: LocationScope, configuration: LoadedConfiguration) {
        self.scope = scope
        maps = Directive.everywhere(configuration.directives).filter { $0.name == "map" && $0.block != nil }
    }

    func remoteUser(in value: String, depth: Int = 0) -> Trace? {
        let names = VariableSources.variables(in: value)
        if names.contains("remote_user") { return Trace(origin: nil, through: []) }
        guard depth < VariableSources.maximumDepth else { return nil }
        for name in names {
            for assignment in assignments(of: name) {
                if let trace = remoteUser(in: assignment.value, depth: depth + 1) {
                    return Trace(origin: trace.origin ?? assignment.location, through: [name] + trace.through)
                }
            }
        }
        return nil
    }

    /// The values `$name` may hold in this location, with where each is assigned.
    func assignments(of name: String) -> [(location: SourceLocation, value: String)] {
        func sets(_ placed: [PlacedDirective]) -> (values: [(SourceLocation, String)], final: Bool) {
            let all = placed.filter { $0.name == "set" && $0.argument(0) == "$" + name }
            let lastUnconditional = all.lastIndex { $0.condition == nil }
            return (all[(lastUnconditional ?? 0)...].map { ($0.location, $0.argument(1) ?? "") }, lastUnconditional != nil)
        }
        let own = sets(scope.own)
        if own.final { return own.values }
        let server = sets(scope.server?.ownDirectives ?? [])
        if server.final { return own.values + server.values }
        let mapped = maps.filter { $0.argument(1) == "$" + name }.flatMap { map in
            map.ownDirectives
                .filter { !["hostnames", "volatile", "include"].contains($0.name) && !$0.directive.arguments.isEmpty }
                .map { ($0.location, $0.directive.arguments.last ?? "") }
        }
        return own.values + server.values + mapped
    }

    /// The variables a value names: `$name` and `${name}`.
    static func variables(in value: String) -> [String] {
        var names: [String] = []
        var rest = Substring(value)
        while let dollar = rest.firstIndex(of: "$") {
            rest = rest[rest.index(after: dollar)...]
            let braced = rest.first == "{"
            if braced { rest = rest.dropFirst() }
            let name = rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            if !name.isEmpty { names.append(String(name)) }
            rest = rest[name.endIndex...]
            if braced && rest.first == "}" { rest = rest.dropFirst() }
        }
        return names
    }
}
