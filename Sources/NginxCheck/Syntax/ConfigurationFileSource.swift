/// Where the files an `include` names come from: an `nginx -T` dump, or the disk (the command line
/// provides that one; this target reads nothing itself).
public protocol ConfigurationFileSource {
    /// The text of the file at this path (as nginx spells it after adding the prefix), nil when there is none.
    func text(ofFile path: String) -> String?
    /// The files a pattern with `*`, `?` or `[` matches, sorted as glob(3) sorts them.
    func files(matching pattern: String) -> [String]
}
