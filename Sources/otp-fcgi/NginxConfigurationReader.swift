import Glibc
import NginxCheck
import OTPSystem

/// Gets nginx's configuration for `check-nginx`: runs `nginx -T` (no shell) or reads files.
enum NginxConfigurationReader {
    /// More than this is not a configuration.
    static let maximumBytes = 64 << 20

    /// `nginx -T [-p prefix] [-c file]`'s output; an error with nginx's stderr when it fails.
    static func runNginxT(_ nginx: String, prefix: String?, configurationFile: String?) throws -> ConfigurationDump {
        var arguments = ["-T"]
        if let prefix { arguments += ["-p", prefix] }
        if let configurationFile { arguments += ["-c", configurationFile] }
        let (status, output, errors) = try run(nginx, arguments)
        let said = String(decoding: errors, as: UTF8.self).split(separator: "\n").joined(separator: "; ")
        guard status == 0 else {
            throw CheckNginxError("\(([nginx] + arguments).joined(separator: " ")) exited \(status)\(said.isEmpty ? "" : ": " + said)")
        }
        guard let dump = ConfigurationDump(nginxT: String(decoding: output, as: UTF8.self)) else {
            throw CheckNginxError("\(nginx) -T printed no configuration file")
        }
        return dump
    }

    /// Runs a program with stdin from /dev/null and returns its exit status, stdout and stderr.
    static func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: [UInt8], errors: [UInt8]) {
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        guard pipe(&output) == 0, pipe(&errors) == 0 else {
            throw CheckNginxError("pipe: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        for descriptor in output + errors { posix_spawn_file_actions_addclose(&actions, descriptor) }
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        close(output[1])
        close(errors[1])
        guard spawned == 0 else {
            close(output[0])
            close(errors[0])
            throw CheckNginxError("cannot run \(program): \(String(cString: strerror(spawned)))")
        }
        let (stdout, stderr) = drain(output[0], errors[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), stdout, stderr)
    }

    /// Reads two descriptors to their end at once (a child blocked on a full stderr pipe would
    /// never finish its stdout), then closes them.
    private static func drain(_ first: Int32, _ second: Int32) -> ([UInt8], [UInt8]) {
        var descriptors = [pollfd(fd: first, events: Int16(POLLIN), revents: 0), pollfd(fd: second, events: Int16(POLLIN), revents: 0)]
        var bytes: [[UInt8]] = [[], []]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while descriptors.contains(where: { $0.fd >= 0 }) {
            if poll(&descriptors, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in descriptors.indices where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
                let count = Glibc.read(descriptors[index].fd, &buffer, buffer.count)
                if count > 0 && bytes[index].count < maximumBytes {
                    bytes[index] += buffer[0..<count]
                } else if count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN) {
                    close(descriptors[index].fd)
                    descriptors[index].fd = -1
                }
            }
        }
        descriptors.filter { $0.fd >= 0 }.forEach { close($0.fd) }
        return (bytes[0], bytes[1])
    }

    /// A file's text (bytes that are not UTF-8 replaced), or nil when it cannot be read.
    static func read(_ path: String) -> String? { TextFile.read(path, maximumBytes: maximumBytes, repairingUTF8: true) }

    static func readStandardInput() -> String? { TextFile.read(descriptor: 0, maximumBytes: maximumBytes, repairingUTF8: true) }

    /// `path` from the working directory, when it is relative (nginx's includes resolve against it).
    static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/"), let directory = getcwd(nil, 0) else { return path }
        defer { free(directory) }
        return String(cString: directory) + "/" + path
    }
}

/// Included files read from the disk, for a configuration file given with --file.
struct DiskConfigurationFiles: ConfigurationFileSource {
    func text(ofFile path: String) -> String? { NginxConfigurationReader.read(path) }

    func files(matching pattern: String) -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        guard glob(pattern, 0, nil, &matches) == 0 else { return [] }
        return (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }
    }
}
