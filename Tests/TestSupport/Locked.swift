import Synchronization

/// A value threads share: read it whole, change it under the lock.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: sending Value) { mutex = Mutex(value) }

    public var value: Value { mutex.withLock { $0 } }

    public func update(_ change: (inout Value) -> Void) { mutex.withLock { change(&$0) } }
}
