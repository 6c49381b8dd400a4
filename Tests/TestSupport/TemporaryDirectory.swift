import Foundation

/// A fresh directory under /tmp, removed (with everything in it) by `remove()`.
public final class TemporaryDirectory: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let path: String

    public init(prefix: String = "otp-unit") throws(Failure) {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Failure(description: "mkdtemp failed: errno \(errno)")
        }
        path = String(cString: created)
    }

    public func file(_ name: String) -> String { path + "/" + name }
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
