import Testing
@testable import NginxCheck

/// nginx's rules the findings rest on: where `auth_request` lands, what a location inherits, where
/// a variable's value comes from.
@Suite struct Resolution {
    static let upstream = "upstream otp_fcgi { server unix:/run/otp-fcgi/otp.sock; }\n"

    /// Findings as `kind line` for one server in http, written from line 3 of nginx.conf.
    static func findings(_ server: String) throws -> [String] {
        let text = Fixtures.dump([("/etc/nginx/nginx.conf", "events {}\nhttp {\n" + server + "\n" + upstream + "}\n")])
        return try Fixtures.check(nginxT: text).findings.map { "\($0.kind.rawValue) \($0.location.line)" }
    }

    @Test(arguments: [
        "= /_otp/step-up-check", "/_otp/", "^~ /_otp", "~ ^/_otp/step-up-(check)$", "~* STEP-UP",
    ])
    func authRequestLandsInTheCheckHoweverItIsMatched(_ pattern: String) throws {
        let server = """
            server {
                location \(pattern) {
                    internal;
                    fastcgi_pass_request_body off;
                    fastcgi_param OTP_ENDPOINT step-up-check;
                    fastcgi_pass otp_fcgi;
                }
                location = /close {
                    auth_request /_otp/step-up-check?from=close;
                    proxy_pass http://127.0.0.1:8080;
                }
            }
            """
        #expect(try Resolution.findings(server) == ["token-passed-to-application 12"])
    }

    @Test func anAuthRequestThatLandsElsewhereProtectsNothing() throws {
        let server = """
            server {
                location = /_otp/step-up-check { internal; fastcgi_pass_request_body off;
                    fastcgi_param OTP_ENDPOINT step-up-check; fastcgi_pass otp_fcgi; }
                location ^~ /_otp/step-up { return 204; }
                location = /sso { auth_request /_otp/step-up; proxy_pass http://127.0.0.1:8080; }
            }
            """
        #expect(try Resolution.findings(server) == [])
    }

    @Test func aNestedLocationInheritsTheAuthRequestAndTheHeaderList() throws {
        let server = """
            server {
                location = /_otp/step-up-check {
                    internal;
                    fastcgi_pass_request_body off;
                    fastcgi_param OTP_ENDPOINT step-up-check;
                    fastcgi_pass otp_fcgi;
                }
                location /admin/ {
                    auth_request /_otp/step-up-check;
                    proxy_set_header X-Step-Up-Token "";
                    location /admin/reports/ { proxy_pass http://127.0.0.1:8081; }
                    location /admin/export/ { proxy_set_header Host $host; proxy_pass http://127.0.0.1:8082; }
                }
            }
            """
        #expect(try Resolution.findings(server) == ["token-passed-to-application 14"])
    }

    @Test func aLocationsOwnSetOverridesTheServers() throws {
        let server = """
            server {
                set $otp_fcgi_user $remote_user;
                location = /api/otp/send {
                    set $otp_fcgi_user "";
                    fastcgi_param REMOTE_USER $otp_fcgi_user;
                    fastcgi_pass otp_fcgi;
                }
                location = /api/otp/verify {
                    fastcgi_param REMOTE_USER $otp_fcgi_user;
                    fastcgi_pass otp_fcgi;
                }
            }
            """
        // verify still takes the server's value.
        #expect(try Resolution.findings(server) == ["remote-user-without-auth-basic 4"])
    }

    @Test func aSetInsideIfMayHappenSoItCounts() throws {
        let server = """
            server {
                set $login "";
                if ($http_x_legacy) { set $login $remote_user; }
                set $otp_fcgi_user $login;
                location = /api/otp/send {
                    fastcgi_param REMOTE_USER $otp_fcgi_user;
                    fastcgi_pass otp_fcgi;
                }
            }
            """
        #expect(try Resolution.findings(server) == ["remote-user-without-auth-basic 5"])
    }

    @Test func authBasicOffInTheLocationIsNoAuthBasic() throws {
        let server = """
            server {
                auth_basic "portal";
                location = /api/otp/send {
                    fastcgi_param REMOTE_USER $remote_user;
                    fastcgi_pass otp_fcgi;
                }
                location = /api/otp/verify {
                    auth_basic off;
                    fastcgi_param REMOTE_USER ${remote_user};
                    fastcgi_pass otp_fcgi;
                }
            }
            """
        #expect(try Resolution.findings(server) == ["remote-user-without-auth-basic 11"])
    }

    @Test func serverParamsReachOnlyLocationsWithNoneOfTheirOwn() throws {
        let server = """
            server {
                auth_basic "portal";
                fastcgi_param REMOTE_USER $remote_user;
                location = /api/otp/send {
                    fastcgi_param REMOTE_USER $remote_user;
                    fastcgi_pass otp_fcgi;
                }
                location = /api/otp/verify {
                    fastcgi_param REMOTE_USER $remote_user;
                    fastcgi_param REMOTE_USER $remote_user;
                    fastcgi_pass otp_fcgi;
                }
            }
            """
        #expect(try Resolution.findings(server) == ["remote-user-twice 12"])
    }

    @Test func aCheckElsewhereNeedsNoUpstreamNamedOTPFCGI() throws {
        let text = Fixtures.dump([("/etc/nginx/nginx.conf", """
            events {}
            http {
                server {
                    location = /check {
                        fastcgi_param OTP_ENDPOINT step-up-check;
                        fastcgi_pass 127.0.0.1:9000;
                    }
                }
            }
            """)])
        let report = try Fixtures.check(nginxT: text)
        #expect(report.checkedLocations == 1)
        #expect(report.findings.map(\.kind) == [.checkNotInternal, .checkForwardsBody])
    }
}
