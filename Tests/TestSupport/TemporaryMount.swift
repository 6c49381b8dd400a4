#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs of the test's own, to fill up (`mount(2)` needs root: the tests run as root, as
/// CI does).
public final class TemporaryMount: @unchecked Sendable {
    public typealias Failure = TemporaryDirectory.Failure

    public let path: String
    private var filler: String { path + "/filler" }

    public init(sizeKilobytes: Int, readOnly: Bool = false) throws(Failure) {
        path = try TemporaryDirectory(prefix: "otp-mount").path
        let flags = readOnly ? UInt(MS_RDONLY) : 0
        guard mount("tmpfs", path, "tmpfs", flags, "size=\(sizeKilobytes)k,mode=0755") == 0 else {
            let error = errno
            rmdir(path)
            throw Failure(description: "mount tmpfs on \(path): errno \(error)")
        }
    }

    /// Writes a file until the file system refuses another byte.
    public func fill() throws(Failure) {
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create \(filler)") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5a, count: 4096)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        var byte: UInt8 = 0
        while write(fd, &byte, 1) > 0 {}
    }

    public func free() {
        unlink(filler)
    }

    /// Unmounts (lazily: a process may still hold a file open there) and removes the directory.
    public func remove() {
        umount2(path, Int32(MNT_DETACH))
        rmdir(path)
    }
}
