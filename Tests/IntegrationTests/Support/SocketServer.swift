import Foundation

/// The accept loop of the tests' stand-in servers (fake Twilio, the FastCGI recorder): every
/// connection on a thread of its own until `stop()`, which also shuts down the ones still open.
final class SocketServer: @unchecked Sendable {
    private let listener: Int32
    private let lock = NSLock()
    private var openConnections: Set<Int32> = []
    private var stopped = false

    /// Takes over a listening socket; nothing is accepted before `start`.
    init(listener: Int32) {
        self.listener = listener
    }

    /// Accepts connections and hands each to `serve`, closing it when `serve` returns.
    func start(_ serve: @escaping @Sendable (Int32) -> Void) {
        Thread { [self] in
            while true {
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { return }
                guard locked({ stopped ? false : openConnections.insert(fd).inserted }) else {
                    close(fd)
                    return
                }
                Thread { [self] in
                    serve(fd)
                    _ = locked { openConnections.remove(fd) }
                    close(fd)
                }.start()
            }
        }.start()
    }

    var isStopped: Bool { locked { stopped } }

    func stop() {
        let connections: [Int32]? = locked {
            defer { stopped = true }
            return stopped ? nil : Array(openConnections)
        }
        guard let connections else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in connections { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
