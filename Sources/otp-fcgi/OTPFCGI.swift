import ArgumentParser

@main
struct OTPFCGI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "otp-fcgi",
        abstract: "SMS one-time codes and one-time step-up tokens, as a FastCGI responder behind nginx.",
        discussion: """
            Configuration comes from the environment (OTP_PEPPER, OTP_DB_PATH, OTP_SMS_PROVIDER, …);
            see the README for every variable and its default. Admin commands read the same
            environment as serve.
            """,
        subcommands: [Serve.self, CheckConfig.self, CheckNginx.self, Migrate.self, Purge.self, Stats.self, ResetPhone.self, FirewallCommand.self, Explain.self, BenchMint.self],
        defaultSubcommand: Serve.self
    )
}
