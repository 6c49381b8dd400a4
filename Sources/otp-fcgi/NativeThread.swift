import Glibc

/// A joinable POSIX thread running a closure. Threads are started from here, a non-isolated
/// type, because a closure literal written in top-level code inherits `@MainActor` and traps
/// when it runs on another thread.
final class NativeThread {
    private let thread: pthread_t

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    init(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var made = pthread_t()
        let rc = pthread_create(&made, nil, nativeThreadEntry, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = made
    }

    func join() {
        pthread_join(thread, nil)
    }

    fileprivate static func enter(_ context: UnsafeMutableRawPointer?) {
        guard let context else { return }
        Unmanaged<Body>.fromOpaque(context).takeRetainedValue().run()
    }
}

private func nativeThreadEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    NativeThread.enter(context)
    return nil
}
