/// A `location` block with the blocks around it, and what it effectively has under nginx's
/// inheritance rules.
struct LocationScope {
    let location: Directive
    /// The enclosing blocks, innermost first: outer locations, the server, http.
    let enclosing: [Directive]

    /// The location and its enclosing blocks, innermost first: the levels nginx inherits through.
    var levels: [Directive] { [location] + enclosing }
    var server: Directive? { enclosing.first { $0.name == "server" } }

    /// Tells two scopes apart even when one snippet's location is included in several servers.
    var key: [SourceLocation] { levels.map(\.location) }
    /// The key of the server this location is in.
    var serverKey: [SourceLocation]? {
        let outward = enclosing.drop { $0.name == "location" }
        return outward.first?.name == "server" ? outward.map(\.location) : nil
    }
    /// The key of the block this location is directly in.
    var parentKey: [SourceLocation] { enclosing.map(\.location) }

    /// `location = /api/otp/send`, for messages.
    var name: String { location.text }
    /// `location = /api/otp/send (file:line)`, for messages that point elsewhere.
    var nameAndPlace: String { "\(name) (\(location.location))" }

    /// The location's own directives (with its `if` and `limit_except` blocks): for what nginx
    /// does not inherit, such as `internal`, the `*_pass` handlers and `set`.
    var own: [PlacedDirective] { location.ownDirectives }

    /// A directive that takes one value (`auth_basic`, `fastcgi_cache`, …): the innermost level's
    /// last, since each level inherits the value of the one around it when it sets none.
    func value(of name: String) -> PlacedDirective? {
        for level in levels {
            if let found = level.ownDirectives.last(where: { $0.name == name }) { return found }
        }
        return nil
    }

    /// A directive that adds to a list (`fastcgi_param`, `proxy_set_header`, …): nginx inherits
    /// the enclosing level's whole list only when a level has none of its own. Returns the level
    /// whose list is in effect and the list; `alsoDefining` are directives that count as defining
    /// one at a level (an include of a params file that could not be read, say).
    func list(of name: String, alsoDefining: (PlacedDirective) -> Bool = { _ in false }) -> (level: Directive, entries: [PlacedDirective])? {
        for level in levels {
            let own = level.ownDirectives
            let entries = own.filter { $0.name == name }
            if !entries.isEmpty || own.contains(where: alsoDefining) { return (level, entries) }
        }
        return nil
    }

    /// Every location in the tree, nested ones included, each with its enclosing blocks.
    static func all(in directives: [Directive]) -> [LocationScope] {
        scopes(in: Directive.placed(directives, via: [], condition: nil), enclosing: [])
    }

    private static func scopes(in placed: [PlacedDirective], enclosing: [Directive]) -> [LocationScope] {
        var result: [LocationScope] = []
        for entry in placed {
            let directive = entry.directive
            switch directive.name {
            case "location":
                guard directive.block != nil else { continue }
                let scope = LocationScope(location: directive, enclosing: enclosing)
                result.append(scope)
                result += scopes(in: directive.ownDirectives, enclosing: scope.levels)
            case "http", "server":
                result += scopes(in: directive.ownDirectives, enclosing: [directive] + enclosing)
            default:
                continue
            }
        }
        return result
    }
}
