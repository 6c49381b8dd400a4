import ArgumentParser
import Glibc

@main
struct OTPFCGI: ParsableCommand {
    /// Before any command runs: files otp-fcgi creates are its own (the database holds raw phone
    /// numbers in `users`), and no core dump is written (it would hold the pepper and provider
    /// credentials), also where no systemd unit says so.
    static func main() {
        umask(0o077)
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "otp-fcgi",
        abstract: "SMS one-time codes and one-time step-up tokens, as a FastCGI responder behind nginx.",
        discussion: """
            Configuration comes from the environment (OTP_PEPPER, OTP_DB_PATH or OTP_DB_URL, OTP_SMS_PROVIDER, …);
            see the README for every variable and its default. Admin commands read the same
            environment as serve.
            """,
        subcommands: [Serve.self, CheckConfig.self, CheckNginx.self, Migrate.self, Purge.self, Stats.self, ResetPhone.self, FirewallCommand.self, Explain.self, BenchMint.self],
        defaultSubcommand: Serve.self
    )
}
