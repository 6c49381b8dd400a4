/// The `fastcgi_param`s a location sends: its own, or (when it has none) those of the nearest
/// enclosing level that has some, as nginx inherits them.
struct FastCGIParameters {
    /// Debian's files that send `REMOTE_USER $remote_user` (`snippets/fastcgi-php.conf` includes `fastcgi.conf`).
    static let debianFiles: Set<String> = ["fastcgi_params", "fastcgi.conf"]

    let entries: [PlacedDirective]
    /// The includes of Debian's files at the level in effect, however deeply included.
    let debianIncludes: [PlacedDirective]

    init(_ scope: LocationScope) {
        let list = scope.list(of: "fastcgi_param", alsoDefining: FastCGIParameters.isDebianInclude)
        entries = list?.entries ?? []
        debianIncludes = list?.level.ownDirectives.filter(FastCGIParameters.isDebianInclude) ?? []
    }

    static func isDebianInclude(_ entry: PlacedDirective) -> Bool { isDebianInclude(entry.directive) }

    static func isDebianInclude(_ directive: Directive) -> Bool {
        guard directive.name == "include", let path = directive.argument(0) else { return false }
        return debianFiles.contains(String(path.split(separator: "/").last ?? ""))
    }

    /// The parameters of this name, in the order nginx sends them.
    func values(of name: String) -> [PlacedDirective] { entries.filter { $0.argument(0) == name } }

    /// True when the parameter came in through Debian's file.
    func comesFromDebian(_ entry: PlacedDirective) -> Bool { entry.via.contains(where: FastCGIParameters.isDebianInclude) }
}
