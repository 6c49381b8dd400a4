import Foundation
import Glibc

/// Every program the integration tests run goes through here: `run` waits for it to finish,
/// `start` leaves it running (a responder, a web server, a load generator) under the test's control.
final class ChildProcess: @unchecked Sendable {
    /// What a child reads on stdin.
    enum Input {
        /// The test runner's own stdin.
        case inherit
        /// End of file at once (/dev/null).
        case empty
        /// These bytes, then end of file.
        case bytes([UInt8])
        /// A descriptor of the test's, such as a listening socket handed over as fd 0.
        case descriptor(Int32)
    }

    /// Where a child's stdout or stderr goes.
    enum Output: Equatable {
        /// The test runner's own.
        case inherit
        case discard
        /// Appended to the file at this path, which is created when missing.
        case file(String)
        /// Kept in memory: `output` for stdout, `errors` for stderr.
        case capture
        /// For stderr only: wherever stdout goes.
        case stdout
    }

    /// How a child that was run to completion ended.
    struct Completion {
        var command: [String]
        var status: Int32
        /// Captured stdout, with stderr when it went to stdout.
        var output: String
        /// Captured stderr.
        var errors: String
        /// Still running at the timeout, so it was sent SIGTERM.
        var timedOut: Bool

        /// Itself when the child exited 0; otherwise an error naming the command, with what it captured.
        @discardableResult
        func requireSuccess() throws -> Completion {
            guard status != 0 else { return self }
            throw StackError("\(command.joined(separator: " ")) exited \(status)\n\(output)\(errors)")
        }
    }

    let command: [String]
    private let process: Process
    private let capturedStdout: Capture?
    private let capturedStderr: Capture?

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Runs `tool` to completion. With a `timeout`, a child still running then gets SIGTERM.
    static func run(
        _ tool: String, _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil,
        stdin: Input = .inherit, stdout: Output = .capture, stderr: Output = .stdout, timeout: TimeInterval? = nil
    ) throws -> Completion {
        let child = try start(tool, arguments, environment: environment, directory: directory, stdin: stdin, stdout: stdout, stderr: stderr)
        var timedOut = false
        if let timeout, !child.wait(seconds: timeout) {
            timedOut = true
            child.terminate()
        }
        let status = child.wait()
        return Completion(command: child.command, status: status, output: child.output, errors: child.errors, timedOut: timedOut)
    }

    /// Starts `tool` and returns at once. With `environment`, the child gets exactly that
    /// environment, otherwise the test runner's. `clearingSignalMask`: a child started from a test
    /// thread inherits that thread's blocked signals, and a server that never unblocks SIGTERM
    /// (Apache's parent) would ignore `terminate()`; Perl (perl-base, always on Debian) clears the
    /// mask, then execs the tool in its place.
    static func start(
        _ tool: String, _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil,
        stdin: Input = .inherit, stdout: Output = .inherit, stderr: Output = .inherit, clearingSignalMask: Bool = false
    ) throws -> ChildProcess {
        precondition(stdout != .stdout, "only stderr can follow stdout")
        let process = Process()
        if clearingSignalMask {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/perl")
            process.arguments = ["-e", "use POSIX; sigprocmask(SIG_SETMASK, POSIX::SigSet->new); exec { $ARGV[0] } @ARGV or die \"exec: $!\"", "--", tool] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
        }
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }

        var input: Pipe?
        switch stdin {
        case .inherit: break
        case .empty: process.standardInput = FileHandle.nullDevice
        case .bytes:
            input = Pipe()
            process.standardInput = input
        case .descriptor(let fd): process.standardInput = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        }
        let out = try Destination(stdout)
        let err = stderr == .stdout ? Destination(following: out) : try Destination(stderr)
        if let handle = out.handle { process.standardOutput = handle }
        if let handle = err.handle { process.standardError = handle }

        try process.run()
        try? out.file?.close()
        try? err.file?.close()
        out.capture?.startReading()
        err.capture?.startReading()
        if case .bytes(let bytes) = stdin, let input {
            try input.fileHandleForWriting.write(contentsOf: bytes)
            try input.fileHandleForWriting.close()
        }
        return ChildProcess(command: [tool] + arguments, process: process, stdout: out.capture, stderr: err.capture)
    }

    private init(command: [String], process: Process, stdout: Capture?, stderr: Capture?) {
        self.command = command
        self.process = process
        capturedStdout = stdout
        capturedStderr = stderr
    }

    /// SIGTERM.
    func terminate() {
        process.terminate()
    }

    /// SIGKILL: no chance to finish anything.
    func kill() {
        _ = Glibc.kill(pid, SIGKILL)
    }

    /// Waits for the child to end; its exit status (the signal's number when a signal ended it).
    @discardableResult
    func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Waits at most `seconds` for the child to end; false when it is still running.
    func wait(seconds: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return !process.isRunning
    }

    /// SIGTERM unless it has ended, SIGKILL when it is still running `killAfter` seconds later
    /// (never without it), then waits: its exit status.
    @discardableResult
    func stop(killAfter grace: TimeInterval? = nil) -> Int32 {
        if process.isRunning {
            terminate()
            if let grace, !wait(seconds: grace) { kill() }
        }
        return wait()
    }

    /// Captured stdout: everything once the child has ended.
    var output: String { capturedStdout?.text() ?? "" }

    /// Captured stderr: everything once the child has ended.
    var errors: String { capturedStderr?.text() ?? "" }
}

/// What `Process` gets for one output stream of a child.
private struct Destination {
    /// nil: the test runner's own stream.
    var handle: Any?
    var capture: Capture?
    /// A file the parent closes once the child has its copy.
    var file: FileHandle?

    init(_ output: ChildProcess.Output) throws {
        switch output {
        case .inherit, .stdout:
            break
        case .discard:
            handle = FileHandle.nullDevice
        case .file(let path):
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try file.seekToEnd()
            self.file = file
            handle = file
        case .capture:
            let capture = Capture()
            self.capture = capture
            handle = capture.pipe
        }
    }

    /// stderr going wherever stdout goes.
    init(following stdout: Destination) {
        handle = stdout.handle
    }
}

/// One output stream of a child kept in memory, read on a thread of its own so a chatty child
/// never blocks on a full pipe.
private final class Capture: @unchecked Sendable {
    let pipe = Pipe()
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    func startReading() {
        Thread { [self] in
            data = pipe.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }.start()
    }

    /// Everything the child wrote, once it has closed the stream.
    func text() -> String {
        done.wait()
        done.signal()
        return String(decoding: data, as: UTF8.self)
    }
}
