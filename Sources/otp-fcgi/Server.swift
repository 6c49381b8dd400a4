import ArgumentParser
import CFastCGI
import Glibc
import Logging
import OTPLogic
import CoreMetrics
import Prometheus

/// The process: opens the database and the socket, starts the workers, purges expired rows
/// while it waits for a signal, and shuts down cleanly.
struct Server {
    let configuration: Configuration
    let listen: ListenAddress?
    let workers: Int
    let socketMode: mode_t
    let logger: Logger

    /// How often expired rows are deleted.
    static let purgeIntervalSeconds = 60
    /// How long an inherited-socket shutdown waits for requests in flight.
    static let drainLimitSeconds = 30

    func run() throws {
        if case .file(let path) = configuration.sms.provider {
            logger.warning(
                "OTP_SMS_PROVIDER=file: codes are written to a local file and NOT sent by SMS. Development and tests only.",
                metadata: ["event": "startup", "sms_file": "\(path)"]
            )
        }

        let smsLimit: SMSInFlightLimit
        do {
            smsLimit = SMSInFlightLimit(maximum: try configuration.sms.maxInFlight(workers: workers))
        } catch {
            StartupFailure.report("otp-fcgi: \(error.description)")
            throw ExitCode(78)
        }

        // Opening here first gives one clear error (and runs migrations once) before any worker starts.
        let maintenanceStore: SQLiteOTPStore
        do {
            maintenanceStore = try SQLiteOTPStore(configuration: configuration.database)
        } catch {
            StartupFailure.report("otp-fcgi: OTP_DB_PATH=\(configuration.database.path): cannot open the database: \(error.description)")
            throw ExitCode(74)
        }

        // Block the signals we handle in every thread before libfcgi or any worker exists: the main
        // thread takes them with sigtimedwait, and libfcgi's own SIGTERM handler never runs.
        var handled = sigset_t()
        sigemptyset(&handled)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGUSR1] { sigaddset(&handled, signal) }
        pthread_sigmask(SIG_BLOCK, &handled, nil)
        signal(SIGPIPE, SIG_IGN)

        let socket: ListenSocket
        do {
            if let listen {
                socket = try ListenSocket.open(listen, mode: socketMode)
            } else {
                socket = try ListenSocket.inherited()
            }
        } catch {
            StartupFailure.report("otp-fcgi: \(error.description)")
            throw ExitCode(71)
        }
        guard FCGX_Init() == 0 else {
            StartupFailure.report("otp-fcgi: FCGX_Init failed")
            throw ExitCode(71)
        }

        TwilioSMSSender.initializeProcess()
        let state = ServerState()
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let inFlightGauge = Gauge(label: "otp_requests_in_flight")
        let exposition: @Sendable () -> String = {
            inFlightGauge.record(state.requestsInFlight)
            return registry.emitToString()
        }
        let configuration = self.configuration
        let logger = self.logger
        let threads = (0..<workers).map { index in
            NativeThread {
                var workerLogger = logger
                workerLogger[metadataKey: "worker"] = "\(index)"
                let handler: APIHandler
                do {
                    handler = try WorkerComponents.makeHandler(
                        configuration: configuration, smsLimit: smsLimit, logger: workerLogger, metricsExposition: exposition
                    )
                } catch {
                    workerLogger.critical("worker cannot open the database", metadata: ["event": "startup", "error": "\(error)"])
                    exit(74)
                }
                FastCGIWorker(listenFileDescriptor: socket.fileDescriptor, handler: handler, state: state, logger: workerLogger).run()
            }
        }
        logger.info("serving", metadata: [
            "event": "startup", "listen": "\(listen.map(describe) ?? "fd 0")", "workers": "\(workers)",
            "db": "\(configuration.database.path)", "sms_provider": "\(providerName)", "sms_max_inflight": "\(smsLimit.maximum)",
        ])

        purge(maintenanceStore)
        while true {
            var timeout = timespec(tv_sec: Server.purgeIntervalSeconds, tv_nsec: 0)
            let received = sigtimedwait(&handled, nil, &timeout)
            if received < 0 {
                if errno == EAGAIN { purge(maintenanceStore) }
                continue
            }
            if received == SIGHUP || received == SIGUSR1 {
                logger.info("signal ignored", metadata: ["event": "signal", "signal": "\(received)"])
                continue
            }
            logger.info("stopping: finishing requests in flight", metadata: ["event": "shutdown", "signal": "\(received)"])
            break
        }

        state.beginShutdown()
        FCGX_ShutdownPending()
        if socket.isOwned {
            socket.stopAccepting()
            threads.forEach { $0.join() }
        } else {
            // An inherited socket cannot be shut down (its owner reuses it), so idle workers stay
            // blocked in accept: wait for the busy ones, then leave.
            var waited = 0
            while state.requestsInFlight > 0 && waited < Server.drainLimitSeconds * 100 {
                var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
                nanosleep(&pause, nil)
                waited += 1
            }
        }
        socket.removeFile()
        logger.info("stopped", metadata: ["event": "shutdown"])
    }

    private var providerName: String {
        switch configuration.sms.provider {
        case .file: "file"
        case .twilio: "twilio"
        }
    }

    private func describe(_ address: ListenAddress) -> String {
        switch address {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): "\(host):\(port)"
        }
    }

    private func purge(_ store: SQLiteOTPStore) {
        do {
            let counts = try store.purgeExpired(at: SystemUnixClock().now(), rules: configuration.rules)
            if counts.codes + counts.tokens > 0 {
                logger.info("purged expired rows", metadata: ["event": "purge", "codes": "\(counts.codes)", "tokens": "\(counts.tokens)"])
            }
        } catch {
            logger.error("purge failed", metadata: ["event": "purge", "error": "\(error)"])
        }
    }
}
