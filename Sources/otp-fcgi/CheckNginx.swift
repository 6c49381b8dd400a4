import ArgumentParser
import NginxCheck

struct CheckNginx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-nginx",
        abstract: "Check nginx's configuration for otp-fcgi mistakes (client-chosen principal, reusable or leaked step-up tokens).",
        discussion: """
            Runs `nginx -T` (or reads --file) and reports, as file:line: problem: …, every location that passes \
            to otp-fcgi and includes Debian's fastcgi_params, sends REMOTE_USER twice or from $remote_user \
            where no auth_basic checks it; a step-up check that is not internal, forwards the request body \
            or is cached; and every location protected by the check that passes X-Step-Up-Token on to the \
            application. Needs no otp-fcgi environment.

            Exits 0 when there is no problem, 1 when there are problems, 2 when the configuration could \
            not be read.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Read this instead of running nginx: `nginx -T` output (- for stdin), or a configuration file whose includes are read from disk.", valueName: "path"))
    var file: String?

    @Option(name: .long, help: ArgumentHelp("nginx's configuration file, as nginx -c takes it.", valueName: "path"))
    var nginxConf: String?

    @Option(name: .long, help: ArgumentHelp("nginx's prefix, as nginx -p takes it.", valueName: "directory"))
    var nginxPrefix: String?

    @Option(name: .long, help: ArgumentHelp("The nginx program that prints the configuration.", valueName: "path"))
    var nginx = "/usr/sbin/nginx"

    @Option(
        name: .customLong("fastcgi-pass"),
        help: ArgumentHelp("An upstream name or address that is otp-fcgi, as fastcgi_pass names it; repeatable (default: otp_fcgi and unix:/run/otp-fcgi/otp.sock).", valueName: "target")
    )
    var fastCGIPass: [String] = []

    func validate() throws {
        if file != nil && (nginxConf != nil || nginxPrefix != nil) {
            throw ValidationError("--file reads a file instead of running nginx: leave out --nginx-conf and --nginx-prefix")
        }
    }

    func run() throws {
        let configuration: LoadedConfiguration
        do {
            configuration = try load()
        } catch {
            StartupFailure.report("otp-fcgi check-nginx: cannot check: \(error)")
            throw ExitCode(2)
        }
        let targets = fastCGIPass.isEmpty ? ConfigurationCheck.Options.defaultTargets : fastCGIPass
        let report = ConfigurationCheck.check(configuration, options: ConfigurationCheck.Options(otpFCGITargets: targets))
        for finding in report.findings { say(finding.description) }
        let locations = "\(report.checkedLocations) otp-fcgi location\(report.checkedLocations == 1 ? "" : "s")"
        guard report.findings.isEmpty else {
            say("nginx configuration: \(report.findings.count) problem\(report.findings.count == 1 ? "" : "s") in \(locations)")
            throw ExitCode(1)
        }
        say("nginx configuration: no problems found in \(locations)")
        if report.checkedLocations == 0 {
            say("note: no location passes to otp-fcgi: is snippets/otp-fcgi.conf included, and does fastcgi_pass name \(targets.joined(separator: " or ")) (else --fastcgi-pass)?")
        }
    }

    private func load() throws -> LoadedConfiguration {
        guard let file else {
            let dump = try NginxConfigurationReader.runNginxT(nginx, prefix: nginxPrefix, configurationFile: nginxConf)
            return try ConfigurationLoader.load(mainFile: dump.mainFile, from: dump)
        }
        guard let text = file == "-" ? NginxConfigurationReader.readStandardInput() : NginxConfigurationReader.read(file) else {
            throw CheckNginxError("cannot read \(file)")
        }
        if let dump = ConfigurationDump(nginxT: text) {
            return try ConfigurationLoader.load(mainFile: dump.mainFile, from: dump)
        }
        guard file != "-" else { throw CheckNginxError("standard input is not nginx -T output (no \"# configuration file …:\" line)") }
        return try ConfigurationLoader.load(mainFile: NginxConfigurationReader.absolute(file), from: DiskConfigurationFiles())
    }
}

struct CheckNginxError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
