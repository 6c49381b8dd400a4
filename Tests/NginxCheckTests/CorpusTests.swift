import Testing
@testable import NginxCheck

/// Each bad configuration in the corpus has exactly the findings listed here: kind, file, line.
struct Expected: Sendable, CustomTestStringConvertible {
    let fixture: String
    let findings: [(kind: Finding.Kind, file: String, line: Int)]
    var testDescription: String { fixture }
}

private let site = "/etc/nginx/sites-enabled/portal"

let badConfigurations: [Expected] = [
    Expected(fixture: "includes-fastcgi_params.conf", findings: [(.includesFastCGIParams, site, 12)]),
    Expected(fixture: "includes-fastcgi-php-snippet.conf", findings: [(.includesFastCGIParams, site, 12)]),
    Expected(fixture: "includes-fastcgi_params-in-server.conf", findings: [(.includesFastCGIParams, site, 12)]),
    Expected(fixture: "remote-user-twice.conf", findings: [(.remoteUserTwice, site, 14)]),
    Expected(fixture: "remote-user-without-auth-basic.conf", findings: [(.remoteUserWithoutAuthBasic, site, 7)]),
    Expected(fixture: "remote-user-where-auth-basic-off.conf", findings: [(.remoteUserWithoutAuthBasic, site, 43)]),
    Expected(fixture: "remote-user-map-default.conf", findings: [(.remoteUserWithoutAuthBasic, "/etc/nginx/conf.d/otp-fcgi.conf", 8)]),
    Expected(fixture: "check-not-internal.conf", findings: [(.checkNotInternal, site, 19)]),
    Expected(fixture: "check-forwards-body.conf", findings: [(.checkForwardsBody, site, 19)]),
    Expected(fixture: "check-cached-fastcgi.conf", findings: [(.checkCached, site, 19)]),
    Expected(fixture: "check-cached-proxy.conf", findings: [(.checkCached, site, 16)]),
    Expected(fixture: "token-passed-to-application.conf", findings: [(.tokenPassedToApplication, site, 35)]),
    Expected(fixture: "token-passed-to-fastcgi-application.conf", findings: [(.tokenPassedToApplication, site, 34)]),
    Expected(fixture: "token-passed-when-own-headers-replace-the-server-clear.conf", findings: [(.tokenPassedToApplication, site, 37)]),
]

@Suite struct Corpus {
    @Test(arguments: Fixtures.names(in: "good"))
    func goodConfigurationHasNoFinding(_ fixture: String) throws {
        let report = try Fixtures.check(nginxT: try Fixtures.text("good/\(fixture)"))
        #expect(report.findings.map(\.description) == [])
        #expect(report.checkedLocations > 0)
    }

    @Test(arguments: badConfigurations)
    func badConfigurationHasExactlyItsFinding(_ expected: Expected) throws {
        let report = try Fixtures.check(nginxT: try Fixtures.text("bad/\(expected.fixture)"))
        let found = report.findings.map { "\($0.kind.rawValue) \($0.location)" }
        #expect(found == expected.findings.map { "\($0.kind.rawValue) \($0.file):\($0.line)" }, "\(report.findings)")
        for finding in report.findings {
            #expect(!finding.message.contains("\n"), "one line: \(finding.message)")
            #expect(finding.description.hasPrefix("\(finding.location): problem: "))
        }
    }

    @Test func everyBadConfigurationHasItsExpectations() {
        #expect(Fixtures.names(in: "bad") == badConfigurations.map(\.fixture).sorted())
        #expect(Set(badConfigurations.flatMap { $0.findings.map(\.kind) }) == Set(Finding.Kind.allCases))
    }

    @Test func aFindingSaysWhatIsWrongTheRiskAndTheFix() throws {
        let report = try Fixtures.check(nginxT: try Fixtures.text("bad/token-passed-when-own-headers-replace-the-server-clear.conf"))
        #expect(report.findings.map(\.description) == [
            "\(site):37: problem: location = /account/close is protected by the step-up check location = /_otp/step-up-check but "
                + "passes the client's X-Step-Up-Token header on to the application (proxy_pass http://127.0.0.1:8080) (its own "
                + "proxy_set_header lines replace the X-Step-Up-Token \"\" at \(site):11: nginx inherits the list only into a block "
                + "that sets none): the spent token reaches the application and its logs, which should see only X-Step-Up-User; "
                + "add proxy_set_header X-Step-Up-Token \"\";",
        ])
    }

    @Test func theHTTPLevelCacheIsNamedWhereItIsSet() throws {
        let report = try Fixtures.check(nginxT: try Fixtures.text("bad/check-cached-fastcgi.conf"))
        #expect(report.findings.first?.message.contains("fastcgi_cache micro (inherited from /etc/nginx/nginx.conf:12)") == true)
    }

    @Test func aParamsFileIncludedThroughAnotherIsNamedWithTheWayItCame() throws {
        let report = try Fixtures.check(nginxT: try Fixtures.text("bad/includes-fastcgi-php-snippet.conf"))
        #expect(report.findings.first?.message.contains("Debian's fastcgi.conf (through include snippets/fastcgi-php.conf)") == true)
    }
}
