import ArgumentParser
import CFastCGI
import Glibc
import Logging
import OTPLogic
import OTPSystem

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the OTP API over FastCGI.",
        discussion: """
            With no --listen, serves the FastCGI socket inherited on fd 0 (spawn-fcgi, systemd socket
            activation); started as a CGI program (GATEWAY_INTERFACE set, no socket on fd 0), answers
            the one request in its environment and stdin, then exits. Each worker thread has its own database connection and SMS client. SIGTERM or
            SIGINT lets requests in flight finish, then exits 0.
            """
    )

    @Option(
        name: .long, help: ArgumentHelp("unix:/path/to.sock or HOST:PORT (e.g. 127.0.0.1:9000).", valueName: "address"),
        transform: { text in
            do throws(ListenError) { return try ListenAddress(parsing: text) } catch { throw ValidationError(error.description) }
        }
    )
    var listen: ListenAddress?

    @Option(name: .long, help: "Worker threads, each serving one request at a time.")
    var workers: Int = 16

    @Option(
        name: .long, help: ArgumentHelp("File mode of a unix socket, in octal (nginx must be able to connect).", valueName: "mode"),
        transform: { text in
            guard let mode = mode_t(text, radix: 8), mode <= 0o777 else {
                throw ValidationError("--socket-mode must be an octal file mode such as 0660")
            }
            return mode
        }
    )
    var socketMode: mode_t = 0o660

    @Option(name: .long, help: ArgumentHelp("Seconds a request's whole body may take to arrive; then 408 (a trickling client would hold a worker).", valueName: "seconds"))
    var bodyTimeout: Int = 5

    @Flag(name: .long, help: "Answer only the step-up check (the FastCGI Authorizer role, OTP_ENDPOINT=step-up-check); every other endpoint is 404. For an instance on a TCP port, which any local process can reach.")
    var stepUpCheckOnly = false

    func validate() throws {
        guard (1...512).contains(workers) else { throw ValidationError("--workers must be from 1 to 512") }
        guard (1...300).contains(bodyTimeout) else { throw ValidationError("--body-timeout must be from 1 to 300 seconds") }
    }

    func run() throws {
        let environment = ProcessEnvironment.current()
        let configuration: Configuration
        do {
            configuration = try Configuration.load(from: environment, files: .system)
        } catch {
            StartupFailure.report("otp-fcgi: \(error.description)")
            if listen == nil && CGIRequestRunner.isCGI(environment: environment) {
                CGIRequestRunner.write(ErrorResponses.internalError)
            }
            throw ExitCode(78)
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { _ in KeyValueLogHandler(logLevel: level) }
        let logger = Logger(label: "otp-fcgi")

        if listen == nil && CGIRequestRunner.isCGI(environment: environment) {
            CGIRequestRunner.run(configuration: configuration, environment: environment, logger: logger)
            return
        }

        try Server(
            configuration: configuration, listen: listen, workers: workers, socketMode: socketMode,
            exposure: stepUpCheckOnly ? .stepUpCheckOnly : .everything, bodyTimeoutMilliseconds: bodyTimeout * 1000, logger: logger
        ).run()
    }
}

/// Reads the process environment without Foundation.
enum ProcessEnvironment {
    static func current() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                let key = String(text[..<equals])
                // The first definition wins, as getenv does.
                if result[key] == nil { result[key] = String(text[text.index(after: equals)...]) }
            }
            cursor += 1
        }
        return result
    }
}

/// Messages written before logging is set up.
enum StartupFailure {
    static func report(_ message: String) {
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
