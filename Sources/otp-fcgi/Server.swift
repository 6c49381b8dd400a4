import ArgumentParser
import CFastCGI
import CoreMetrics
import Glibc
import Logging
import OTPLogic
import OTPSMS
import OTPSQLite
import OTPSystem
import Prometheus

/// The process: opens the database and the socket, starts the workers, purges expired rows
/// while it waits for a signal, and shuts down cleanly. `run` reads as the steps it takes.
struct Server {
    let configuration: Configuration
    let listen: ListenAddress?
    let workers: Int
    let socketMode: mode_t
    let exposure: APIHandler.Exposure
    let bodyTimeoutMilliseconds: Int
    let logger: Logger

    /// How often expired rows are deleted.
    static let purgeIntervalSeconds = 60
    /// How long an inherited-socket shutdown waits for requests in flight.
    static let drainLimitSeconds = 30

    func run() throws {
        warnIfSMSGoesToAFile()
        let smsLimit = try inFlightLimit()
        let maintenanceStore = try openMaintenanceStore()
        let state = ServerState()
        let exposition = bootstrapMetrics(state: state, store: maintenanceStore)
        reportCheckpointFailures()
        let handlers = try openWorkers(smsLimit: smsLimit, exposition: exposition)
        let signals = blockHandledSignals()
        let socket = try openSocket()
        let threads = startWorkers(handlers, socket: socket, state: state)
        logger.info("serving", metadata: [
            "event": "startup", "listen": "\(listen.map(\.description) ?? "fd 0")", "workers": "\(workers)",
            "db": "\(configuration.database.displayName)", "sms_provider": "\(configuration.sms.providerName)",
            "sms_max_inflight": "\(smsLimit.maximum)", "exposure": "\(exposure)",
        ])
        waitForStopSignal(signals, purging: maintenanceStore)
        drain(socket: socket, threads: threads, state: state)
        logger.info("stopped", metadata: ["event": "shutdown"])
    }

    /// The SQLite store checkpoints its write-ahead log on a thread of its own, outside any request.
    private func reportCheckpointFailures() {
        let logger = logger
        SQLiteOTPStore.reportCheckpointFailures { error in
            logger.error("write-ahead log checkpoint failed; the log grows until one succeeds", metadata: ["event": "storage", "error": "\(error)"])
            OTPMetrics().storageError(error.kind)
        }
    }

    private func warnIfSMSGoesToAFile() {
        guard case .file(let path) = configuration.sms.provider else { return }
        logger.warning(
            "OTP_SMS_PROVIDER=file: codes are written to a local file and NOT sent by SMS. Development and tests only.",
            metadata: ["event": "startup", "sms_file": "\(path)"]
        )
    }

    private func inFlightLimit() throws -> SMSInFlightLimit {
        do {
            return SMSInFlightLimit(maximum: try configuration.sms.maxInFlight(workers: workers))
        } catch {
            StartupFailure.report("otp-fcgi: \(error.description)")
            throw ExitCode(78)
        }
    }

    /// Opening here first gives one clear error (and runs migrations once) before any worker starts.
    private func openMaintenanceStore() throws -> any VersionedStore {
        do {
            return try WorkerComponents.openStore(configuration)
        } catch {
            throw cannotOpenDatabase(error)
        }
    }

    /// Prometheus behind swift-metrics, and the text the metrics endpoint serves. `store` shares
    /// the workers' group commit, whose counts are read at each scrape.
    private func bootstrapMetrics(state: ServerState, store: any VersionedStore) -> @Sendable () -> String {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let inFlightGauge = Gauge(label: "otp_requests_in_flight")
        let batching = store.writeBatches.map { (read: $0, metrics: WriteBatchMetrics()) }
        return {
            inFlightGauge.record(state.requestsInFlight)
            if let batching { batching.metrics.publish(batching.read()) }
            return registry.emitToString()
        }
    }

    /// Every worker's handler, each with its own database connection and SMS client, made on this
    /// thread so a database that cannot be opened stops the start before any thread runs.
    private func openWorkers(smsLimit: SMSInFlightLimit, exposition: @escaping @Sendable () -> String) throws -> [WorkerHandoff] {
        TwilioSMSSender.initializeProcess()
        return try (0..<workers).map { index in
            var workerLogger = logger
            workerLogger[metadataKey: "worker"] = "\(index)"
            do throws(StoreError) {
                let handler = try WorkerComponents.makeHandler(
                    configuration: configuration, smsLimit: smsLimit, exposure: exposure, logger: workerLogger, metricsExposition: exposition
                )
                return WorkerHandoff(handler: handler, logger: workerLogger)
            } catch {
                throw cannotOpenDatabase(error)
            }
        }
    }

    private func cannotOpenDatabase(_ error: StoreError) -> ExitCode {
        StartupFailure.report("otp-fcgi: \(configuration.database.displayName): cannot open the database: \(error.description)")
        return ExitCode(74)
    }

    /// Blocks the signals we handle in every thread before libfcgi or any worker exists: the main
    /// thread takes them with sigtimedwait, and libfcgi's own SIGTERM handler never runs.
    private func blockHandledSignals() -> sigset_t {
        var handled = sigset_t()
        sigemptyset(&handled)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGUSR1] { sigaddset(&handled, signal) }
        pthread_sigmask(SIG_BLOCK, &handled, nil)
        signal(SIGPIPE, SIG_IGN)
        return handled
    }

    private func openSocket() throws -> ListenSocket {
        let socket: ListenSocket
        do throws(ListenError) {
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
        return socket
    }

    private func startWorkers(_ handoffs: [WorkerHandoff], socket: ListenSocket, state: ServerState) -> [NativeThread] {
        handoffs.map { handoff in
            NativeThread {
                FastCGIWorker(
                    listenFileDescriptor: socket.fileDescriptor, handler: handoff.handler, state: state,
                    bodyTimeoutMilliseconds: bodyTimeoutMilliseconds, logger: handoff.logger
                ).run()
            }
        }
    }

    /// Purges every `purgeIntervalSeconds` until SIGTERM or SIGINT; SIGHUP and SIGUSR1 are ignored.
    private func waitForStopSignal(_ handled: sigset_t, purging store: any VersionedStore) {
        var handled = handled
        let clock = SystemClock()
        let retention = RetentionPolicy(rules: configuration.rules)
        func purge() {
            do {
                let counts = try store.purge(retention.purgeCutoffs(at: clock.now()))
                if counts.codes + counts.tokens + counts.deliveries > 0 {
                    logger.info("purged expired rows", metadata: [
                        "event": "purge", "codes": "\(counts.codes)", "tokens": "\(counts.tokens)", "deliveries": "\(counts.deliveries)",
                    ])
                }
            } catch {
                logger.error("purge failed", metadata: ["event": "purge", "error": "\(error)"])
            }
        }
        purge()
        while true {
            var timeout = timespec(tv_sec: Server.purgeIntervalSeconds, tv_nsec: 0)
            let received = sigtimedwait(&handled, nil, &timeout)
            if received < 0 {
                if errno == EAGAIN { purge() }
                continue
            }
            if received == SIGHUP || received == SIGUSR1 {
                logger.info("signal ignored", metadata: ["event": "signal", "signal": "\(received)"])
                continue
            }
            logger.info("stopping: finishing requests in flight", metadata: ["event": "shutdown", "signal": "\(received)"])
            return
        }
    }

    /// Lets requests in flight finish. An inherited socket cannot be shut down (its owner reuses
    /// it), so idle workers stay blocked in accept: wait for the busy ones, then leave.
    private func drain(socket: ListenSocket, threads: [NativeThread], state: ServerState) {
        state.beginShutdown()
        FCGX_ShutdownPending()
        if socket.isOwned {
            socket.stopAccepting()
            threads.forEach { $0.join() }
        } else {
            let clock = SystemClock()
            var waited = 0
            while state.requestsInFlight > 0 && waited < Server.drainLimitSeconds * 100 {
                clock.sleep(milliseconds: 10)
                waited += 1
            }
        }
        socket.removeFile()
    }
}

/// One worker's handler, made on the main thread and handed to the worker's thread, which is
/// then its only user.
struct WorkerHandoff: @unchecked Sendable {
    let handler: APIHandler
    let logger: Logger
}
