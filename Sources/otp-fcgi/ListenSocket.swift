import Glibc

/// Where to accept FastCGI connections: `unix:/path`, `HOST:PORT`, or the socket inherited on fd 0.
enum ListenAddress: Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: UInt16)

    var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): "\(host):\(port)"
        }
    }

    /// Parses `--listen`. A TCP host must be given: libfcgi's `":9000"` would bind every interface.
    init(parsing text: String) throws(ListenError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard path.hasPrefix("/"), path.utf8.count < 108 else {
                throw ListenError("--listen unix: needs an absolute socket path shorter than 108 bytes")
            }
            self = .unix(path: path)
            return
        }
        guard let colon = text.lastIndex(of: ":") else {
            throw ListenError("--listen must be unix:/path or HOST:PORT, e.g. 127.0.0.1:9000")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
            throw ListenError("--listen must be unix:/path or HOST:PORT with a host and a port from 1 to 65535")
        }
        self = .tcp(host: host, port: port)
    }
}

struct ListenError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A listening socket and whether otp-fcgi made it (and so may shut it down and remove its file).
struct ListenSocket {
    let fileDescriptor: Int32
    let ownedPath: String?
    let isOwned: Bool

    static let backlog: Int32 = 1024

    /// The socket inherited on fd 0 (spawn-fcgi, systemd socket activation).
    static func inherited() throws(ListenError) -> ListenSocket {
        guard isListening(0) else {
            throw ListenError("no --listen given and fd 0 is not a listening socket; pass --listen unix:/path or HOST:PORT")
        }
        return ListenSocket(fileDescriptor: 0, ownedPath: nil, isOwned: false)
    }

    static func isListening(_ fd: Int32) -> Bool {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 && accepting == 1
    }

    /// Binds and listens. A unix socket gets `mode` (nginx usually runs as another user).
    static func open(_ address: ListenAddress, mode: mode_t) throws(ListenError) -> ListenSocket {
        switch address {
        case .unix(let path):
            return try openUnix(path: path, mode: mode)
        case .tcp(let host, let port):
            return try openTCP(host: host, port: port)
        }
    }

    private static func openUnix(path: String, mode: mode_t) throws(ListenError) -> ListenSocket {
        var status = stat()
        if lstat(path, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFSOCK else {
                throw ListenError("\(path) exists and is not a socket; refusing to replace it")
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError("socket(AF_UNIX) failed: \(errnoText())") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        // Create the file with no access for others, then open it up to exactly `mode`.
        let previousMask = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previousMask)
        guard bound == 0 else {
            let reason = errnoText()
            close(fd)
            throw ListenError("cannot bind \(path): \(reason)")
        }
        guard chmod(path, mode) == 0, listen(fd, backlog) == 0 else {
            let reason = errnoText()
            close(fd)
            unlink(path)
            throw ListenError("cannot listen on \(path): \(reason)")
        }
        return ListenSocket(fileDescriptor: fd, ownedPath: path, isOwned: true)
    }

    private static func openTCP(host: String, port: UInt16) throws(ListenError) -> ListenSocket {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let info = list else {
            throw ListenError("--listen host must be a numeric IP address such as 127.0.0.1 or [::1], not \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError("socket() failed: \(errnoText())") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0, listen(fd, backlog) == 0 else {
            let reason = errnoText()
            close(fd)
            throw ListenError("cannot listen on \(host):\(port): \(reason)")
        }
        return ListenSocket(fileDescriptor: fd, ownedPath: nil, isOwned: true)
    }

    /// Stops accepting: wakes every thread blocked in accept. Only for a socket we made; an
    /// inherited one is shared with whoever passed it (systemd keeps it for the next start).
    func stopAccepting() {
        guard isOwned else { return }
        shutdown(fileDescriptor, Int32(SHUT_RDWR))
    }

    func removeFile() {
        if let ownedPath { unlink(ownedPath) }
    }
}

func errnoText() -> String {
    String(cString: strerror(errno))
}
