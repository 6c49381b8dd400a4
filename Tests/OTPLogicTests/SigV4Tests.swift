import Foundation
import Testing
@testable import OTPSMS

/// The signer against AWS's published Signature Version 4 test suite (the cases in
/// Tests/Fixtures/aws-sigv4-test-suite.txt, source named there): canonical request, string to
/// sign and Authorization header, byte for byte.
@Suite("AWS Signature Version 4")
struct SigV4Tests {
    struct Case: CustomStringConvertible {
        var name: String
        var sections: [String: String]
        var description: String { name }
    }

    static let cases: [Case] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/aws-sigv4-test-suite.txt").path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var cases: [Case] = []
        var section: String?
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("#") && cases.isEmpty { continue }
            if line.hasPrefix("=== ") {
                cases.append(Case(name: String(line.dropFirst(4)), sections: [:]))
                section = nil
            } else if line.hasPrefix("--- ") {
                section = String(line.dropFirst(4))
            } else if let section, !cases.isEmpty {
                let old = cases[cases.count - 1].sections[section]
                cases[cases.count - 1].sections[section] = old.map { $0 + "\n" + line } ?? line
            }
        }
        // The blank line that separates cases belongs to none.
        return cases.map { item in
            var item = item
            for (key, value) in item.sections where key != "creq" && key != "req" {
                item.sections[key] = value.trimmingCharacters(in: .newlines)
            }
            item.sections["req"] = item.sections["req"].map { $0.hasSuffix("\n") ? String($0.dropLast()) : $0 }
            item.sections["creq"] = item.sections["creq"].map { $0.hasSuffix("\n") ? String($0.dropLast()) : $0 }
            return item
        }
    }()

    static let signer = SigV4Signer(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1", service: "service")

    /// `.req` as a request: the request line, `Name:value` headers, a blank line and the body.
    static func request(_ text: String) -> SigV4Signer.Request {
        let (head, body) = text.components(separatedBy: "\n\n").count > 1
            ? (text.components(separatedBy: "\n\n")[0], text.components(separatedBy: "\n\n").dropFirst().joined(separator: "\n\n"))
            : (text, "")
        var lines = head.components(separatedBy: "\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        let target = String(requestLine[1])
        let parts = target.split(separator: "?", maxSplits: 1)
        let query = parts.count > 1 ? parts[1].split(separator: "&").map { pair -> (String, String) in
            let kv = pair.split(separator: "=", maxSplits: 1)
            return (String(kv[0]), kv.count > 1 ? String(kv[1]) : "")
        } : []
        let headers = lines.map { line -> (String, String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
        return SigV4Signer.Request(method: String(requestLine[0]), path: String(parts[0]), query: query, headers: headers, body: Array(body.utf8))
    }

    @Test func theFixtureHoldsTheFourPublishedCases() {
        #expect(SigV4Tests.cases.map(\.name) == ["get-vanilla", "post-vanilla", "get-vanilla-query-order-key-case", "post-x-www-form-urlencoded"])
        for item in SigV4Tests.cases { #expect(item.sections.keys.sorted() == ["authz", "creq", "req", "sts"], "\(item.name)") }
    }

    @Test(arguments: SigV4Tests.cases)
    func canonicalRequestMatchesTheSuite(_ item: Case) throws {
        let request = SigV4Tests.request(try #require(item.sections["req"]))
        #expect(SigV4Tests.signer.canonicalRequest(request) == item.sections["creq"])
    }

    @Test(arguments: SigV4Tests.cases)
    func stringToSignMatchesTheSuite(_ item: Case) throws {
        let canonical = try #require(item.sections["creq"])
        #expect(SigV4Tests.signer.stringToSign(canonicalRequest: canonical, amzDate: "20150830T123600Z") == item.sections["sts"])
    }

    @Test(arguments: SigV4Tests.cases)
    func authorizationHeaderMatchesTheSuite(_ item: Case) throws {
        let request = SigV4Tests.request(try #require(item.sections["req"]))
        #expect(SigV4Tests.signer.authorization(request, amzDate: "20150830T123600Z") == item.sections["authz"])
    }

    @Test func amzDateIsUTC() {
        #expect(SigV4Signer.amzDate(1_440_938_160) == "20150830T123600Z")
        #expect(SigV4Signer.amzDate(0) == "19700101T000000Z")
        #expect(SigV4Signer.amzDate(951_782_400) == "20000229T000000Z")
        #expect(SigV4Signer.amzDate(1_798_761_599) == "20261231T235959Z")
    }

    @Test func uriEncodingKeepsOnlyUnreservedCharacters() {
        #expect(SigV4Signer.uriEncode("+14155550123 a/b~_.-") == "%2B14155550123%20a%2Fb~_.-")
        #expect(SigV4Signer.uriEncode("ü") == "%C3%BC")
    }
}
