/// A directive as it takes effect in a block: where it was written, and the includes that brought
/// it there (outermost first), or the `if` around it.
struct PlacedDirective {
    let directive: Directive
    /// The `include` directives, outermost first, that brought this one into the block.
    let via: [Directive]
    /// The `if` block it is in, when it is conditional.
    let condition: Directive?

    var name: String { directive.name }
    var location: SourceLocation { directive.location }
    func argument(_ index: Int) -> String? { directive.argument(index) }

    /// Where to point a reader: the include written in the block itself, or the directive.
    var writtenAt: SourceLocation { via.first?.location ?? directive.location }
}

extension Directive {
    /// What this block says at its own level: its directives with includes followed (the include
    /// itself is kept too, before what it brought), and those of its `if` and `limit_except`
    /// blocks. Nested `location` blocks appear as directives; their contents are their own level.
    var ownDirectives: [PlacedDirective] { Directive.placed(block ?? [], via: [], condition: nil) }

    static func placed(_ directives: [Directive], via: [Directive], condition: Directive?) -> [PlacedDirective] {
        var result: [PlacedDirective] = []
        for directive in directives {
            result.append(PlacedDirective(directive: directive, via: via, condition: condition))
            if directive.name == "include" {
                result += placed(directive.included, via: via + [directive], condition: condition)
            } else if directive.name == "if" || directive.name == "limit_except", let block = directive.block {
                result += placed(block, via: via, condition: directive.name == "if" ? directive : condition)
            }
        }
        return result
    }

    /// Every directive of the tree, with includes followed, in order (for `upstream` and `map`).
    static func everywhere(_ directives: [Directive]) -> [Directive] {
        directives.flatMap { directive in
            [directive] + everywhere(directive.included) + everywhere(directive.block ?? [])
        }
    }
}
