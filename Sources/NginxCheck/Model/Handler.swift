/// How a location hands a request on: the last `*_pass` directive of its own block (nginx does
/// not inherit these into nested locations).
struct Handler {
    enum Module: String {
        case fastcgi, uwsgi, scgi, proxy, grpc

        /// Modules that send client headers as `HTTP_*` parameters rather than as headers.
        var sendsParameters: Bool { self == .fastcgi || self == .uwsgi || self == .scgi }
    }

    let module: Module
    let directive: PlacedDirective
    /// The upstream name, address or URL it passes to.
    var target: String { directive.argument(0) ?? "" }

    static func of(_ scope: LocationScope) -> Handler? {
        for entry in scope.own.reversed() where entry.name.hasSuffix("_pass") {
            if let module = Module(rawValue: String(entry.name.dropLast("_pass".count))) {
                return Handler(module: module, directive: entry)
            }
        }
        return nil
    }
}
