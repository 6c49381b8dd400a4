import Testing
@testable import NginxCheck

/// The nginx/ files as a Debian host has them (conf.d, snippets, params, the example site), read
/// fresh from the repository so that a change to them is checked here.
@Suite struct ShippedFiles {
    static func files(site: String? = nil) throws -> [(path: String, text: String)] {
        [
            ("/etc/nginx/nginx.conf", """
                user www-data;
                events {
                    worker_connections 768;
                }
                http {
                    include /etc/nginx/conf.d/*.conf;
                    include /etc/nginx/sites-enabled/*;
                }
                """),
            ("/etc/nginx/conf.d/otp-fcgi.conf", try Fixtures.shipped("conf.d/otp-fcgi.conf")),
            ("/etc/nginx/conf.d/otp-fcgi-status.conf", try Fixtures.shipped("conf.d/otp-fcgi-status.conf")),
            ("/etc/nginx/sites-enabled/otp-fcgi-example.conf", try site ?? Fixtures.shipped("sites-available/otp-fcgi-example.conf")),
            ("/etc/nginx/snippets/otp-fcgi.conf", try Fixtures.shipped("snippets/otp-fcgi.conf")),
            ("/etc/nginx/otp-fcgi_params", try Fixtures.shipped("otp-fcgi_params")),
            ("/etc/nginx/otp-fcgi-example/protected.conf", try Fixtures.shipped("sites-available/otp-fcgi-example/protected.conf")),
        ]
    }

    @Test func theExampleSiteHasNoFinding() throws {
        let report = try Fixtures.check(nginxT: Fixtures.dump(try ShippedFiles.files()))
        #expect(report.findings.map(\.description) == [])
        // send, verify, delivery status, the check; health and metrics on the status server.
        #expect(report.checkedLocations == 6)
    }

    @Test func theSnippetInAServerWithoutLoginHasNoFinding() throws {
        let site = """
            server {
                listen 8080;
                include snippets/otp-fcgi.conf;
            }
            """
        let report = try Fixtures.check(nginxT: Fixtures.dump(try ShippedFiles.files(site: site)))
        #expect(report.findings.map(\.description) == [])
    }

    @Test func theSnippetWithRemoteUserButNoAuthBasicIsOneFindingAtTheSetLine() throws {
        let site = """
            server {
                listen 8080;
                set $otp_fcgi_user $remote_user;
                include snippets/otp-fcgi.conf;
            }
            """
        let report = try Fixtures.check(nginxT: Fixtures.dump(try ShippedFiles.files(site: site)))
        #expect(report.findings.map { "\($0.kind.rawValue) \($0.location)" } == [
            "remote-user-without-auth-basic /etc/nginx/sites-enabled/otp-fcgi-example.conf:3",
        ])
    }

    @Test func aSiteThatIncludesTheSnippetTwiceIsCheckedInEachServer() throws {
        let site = """
            server {
                listen 443 ssl;
                auth_basic "portal";
                set $otp_fcgi_user $remote_user;
                include snippets/otp-fcgi.conf;
            }
            server {
                listen 8080;
                include snippets/otp-fcgi.conf;
                location = /account/close {
                    auth_request /_otp/step-up-check;
                    proxy_pass http://127.0.0.1:8444;
                }
            }
            """
        let report = try Fixtures.check(nginxT: Fixtures.dump(try ShippedFiles.files(site: site)))
        // Four in each server, and the status server's two.
        #expect(report.checkedLocations == 10)
        #expect(report.findings.map { "\($0.kind.rawValue) \($0.location)" } == [
            "token-passed-to-application /etc/nginx/sites-enabled/otp-fcgi-example.conf:12",
        ])
    }

    @Test func anOTPFCGISocketGivenByAddressIsRecognised() throws {
        let site = """
            server {
                listen 8080;
                location = /api/otp/send {
                    include /etc/nginx/fastcgi_params;
                    fastcgi_pass backend;
                }
            }
            upstream backend {
                server unix:/srv/otp/otp.sock;
            }
            """
        var files = try ShippedFiles.files(site: site)
        files.append(("/etc/nginx/fastcgi_params", "fastcgi_param REMOTE_USER $remote_user;\n"))
        #expect(try Fixtures.check(nginxT: Fixtures.dump(files)).findings.isEmpty)
        let report = try Fixtures.check(nginxT: Fixtures.dump(files), options: .init(otpFCGITargets: ["/srv/otp/otp.sock"]))
        #expect(report.findings.map(\.kind) == [.includesFastCGIParams])
    }
}
