import Testing
@testable import NginxCheck

@Suite struct Syntax {
    static func parse(_ text: String) throws -> [Directive] {
        try Parser.directives(of: text, file: "f")
    }

    @Test func quotesEscapesCommentsAndVariablesAreReadAsNginxReadsThem() throws {
        let directives = try Syntax.parse(#"""
            # a comment
            return 200 "a; {b} # not a comment \"q\" \\ \t"; # comment
            set $x ${host}suffix;
            add_header X 'it''s';
            log_format main a#b\ c;
            """#)
        #expect(directives.map(\.name) == ["return", "set", "add_header", "log_format"])
        #expect(directives[0].arguments == ["200", "a; {b} # not a comment \"q\" \\ \t"])
        #expect(directives[1].arguments == ["$x", "${host}suffix"])
        #expect(directives[2].arguments == ["X", "it", "s"])
        #expect(directives[3].arguments == ["main", #"a#b\ c"#])
        #expect(directives.map(\.location.line) == [2, 3, 4, 5])
    }

    @Test func blocksNestAndEveryDirectiveKeepsItsLine() throws {
        let directives = try Syntax.parse("http {\r\n  server { listen 80;\n\n    location = /x {\n      return 204; }\n  }\n}\nevents {}\n")
        let server = try #require(directives.first?.block?.first)
        let location = try #require(server.block?.last)
        #expect(server.location.line == 2)
        #expect(location.text == "location = /x")
        #expect(location.location.line == 4)
        #expect(location.block?.first?.location == SourceLocation(file: "f", line: 5))
        #expect(directives.last?.block?.isEmpty == true)
    }

    @Test func aQuotedStringOverSeveralLinesCountsThem() throws {
        let directives = try Syntax.parse("return 200 'one\ntwo\nthree';\ninternal;")
        #expect(directives.map(\.location.line) == [1, 4])
    }

    @Test(arguments: [
        ("server { listen 80 }", "f:1: unexpected \"}\": \"listen\" has no \";\""),
        ("server {\n listen 80;\n", "f:1: unexpected end of file: the block opened here has no \"}\""),
        ("listen 80;\n}", "f:2: unexpected \"}\""),
        ("internal", "f:1: unexpected end of file: \"internal\" has no \";\""),
        ("return 200 \"open;\n", "f:1: unexpected end of file: a quoted string that starts here is never closed"),
        ("\n;", "f:2: unexpected \";\""),
    ])
    func textNginxWouldRejectIsAnErrorWithItsLine(_ text: String, _ message: String) {
        #expect(Syntax.error(of: { try Syntax.parse(text) }) == message)
    }

    /// The description of the error `work` throws, nil when it throws none.
    static func error(of work: () throws -> Any) -> String? {
        do {
            _ = try work()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func nginxTOutputSplitsIntoItsFiles() throws {
        let text = "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
            + "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { include a.conf; }\n\n"
            + "# configuration file /etc/nginx/a.conf:\nserver {}\n"
        let dump = try #require(ConfigurationDump(nginxT: text))
        #expect(dump.files.map(\.path) == ["/etc/nginx/nginx.conf", "/etc/nginx/a.conf"])
        #expect(dump.mainFile == "/etc/nginx/nginx.conf")
        #expect(dump.text(ofFile: "/etc/nginx/a.conf") == "server {}\n")
        #expect(ConfigurationDump(nginxT: "events {}\n") == nil)
    }

    @Test func includesAreFollowedFromTheMainFilesFolderAndGlobsInSortedOrder() throws {
        let text = Fixtures.dump([
            ("/etc/nginx/nginx.conf", "http {\n    include conf.d/*.conf;\n    include /etc/nginx/params;\n}"),
            ("/etc/nginx/conf.d/b.conf", "b;"),
            ("/etc/nginx/conf.d/a.conf", "a;\ninclude /etc/nginx/params;"),
            ("/etc/nginx/conf.d/.hidden.conf", "hidden;"),
            ("/etc/nginx/conf.d/sub/c.conf", "c;"),
            ("/etc/nginx/params", "\n\nparam;"),
        ])
        let dump = try #require(ConfigurationDump(nginxT: text))
        let loaded = try ConfigurationLoader.load(mainFile: dump.mainFile, from: dump)
        let http = try #require(loaded.directives.first)
        let placed = http.ownDirectives.filter { $0.name != "include" }
        #expect(placed.map(\.name) == ["a", "param", "b", "param"])
        #expect(placed[1].location == SourceLocation(file: "/etc/nginx/params", line: 3))
        #expect(placed[1].via.map(\.location.description) == ["/etc/nginx/nginx.conf:2", "/etc/nginx/conf.d/a.conf:2"])
        #expect(placed[1].writtenAt.description == "/etc/nginx/nginx.conf:2")
    }

    @Test func anIncludeOfAFileThatIsNotThereIsAnErrorAtTheInclude() throws {
        let dump = try #require(ConfigurationDump(nginxT: Fixtures.dump([("/etc/nginx/nginx.conf", "events {}\n\ninclude missing.conf;")])))
        #expect(Syntax.error(of: { try ConfigurationLoader.load(mainFile: dump.mainFile, from: dump) })
            == "/etc/nginx/nginx.conf:3: include names /etc/nginx/missing.conf, which is not in the configuration read")
    }

    @Test func anIncludeLoopIsAnError() throws {
        let dump = try #require(ConfigurationDump(nginxT: Fixtures.dump([("/etc/nginx/nginx.conf", "include nginx.conf;")])))
        #expect(Syntax.error(of: { try ConfigurationLoader.load(mainFile: dump.mainFile, from: dump) })?.contains("an include loop?") == true)
    }

    @Test(arguments: [
        ("/etc/nginx/sites-enabled/*", "/etc/nginx/sites-enabled/default", true),
        ("/etc/nginx/sites-enabled/*", "/etc/nginx/sites-enabled/.default", false),
        ("/etc/nginx/sites-enabled/*", "/etc/nginx/sites-enabled/a/b", false),
        ("/etc/nginx/conf.d/*.conf", "/etc/nginx/conf.d/otp-fcgi.conf", true),
        ("/etc/nginx/conf.d/*.conf", "/etc/nginx/conf.d/otp-fcgi.conf.bak", false),
        ("/etc/nginx/site-?.conf", "/etc/nginx/site-a.conf", true),
        ("/etc/nginx/site-[a-c].conf", "/etc/nginx/site-b.conf", true),
        ("/etc/nginx/site-[!a-c].conf", "/etc/nginx/site-b.conf", false),
        ("/etc/nginx/site-[!a-c].conf", "/etc/nginx/site-d.conf", true),
    ])
    func globsMatchAsGlob3Does(_ pattern: String, _ path: String, _ matches: Bool) {
        #expect(GlobPattern(pattern).matches(path) == matches)
    }
}
