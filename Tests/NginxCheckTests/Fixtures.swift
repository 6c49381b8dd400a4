import Foundation
@testable import NginxCheck

/// The corpus in Tests/Fixtures/nginx-check/ (each file is `nginx -T` output) and the shipped
/// nginx/ files.
enum Fixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let corpus = repositoryRoot.appendingPathComponent("Tests/Fixtures/nginx-check")

    static func names(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.appendingPathComponent(folder).path)) ?? []).sorted()
    }

    static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: corpus.appendingPathComponent(relativePath), encoding: .utf8)
    }

    static func shipped(_ path: String) throws -> String {
        try String(contentsOf: repositoryRoot.appendingPathComponent("nginx/\(path)"), encoding: .utf8)
    }

    /// Checks `nginx -T` text; fails the test when it is not `nginx -T` text.
    static func check(nginxT text: String, options: ConfigurationCheck.Options = .init()) throws -> ConfigurationCheck.Report {
        guard let report = try ConfigurationCheck.check(nginxT: text, options: options) else { throw FixtureError("not nginx -T output") }
        return report
    }

    /// What nginx -T prints for these files: each after its `# configuration file …:` line, with
    /// the line feed nginx adds after each.
    static func dump(_ files: [(path: String, text: String)]) -> String {
        files.map { "# configuration file \($0.path):\n\($0.text)\n" }.joined()
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
