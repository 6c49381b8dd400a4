#if !FUZZING
#if canImport(Glibc)
import Glibc
#endif

/// The normal build: runs saved inputs through the same targets the fuzzer drives, so every
/// corpus file and every crash once found stays a regression test.
///
/// `otp-fuzz FILE…` takes the target from each file's folder (`Fuzz/regressions/body/…`), or from
/// `OTP_FUZZ_TARGET`. Exits 1 when an input breaks an invariant; a crash ends the process after
/// the line naming the input.
@main
struct Replay {
    static func main() {
        let paths = CommandLine.arguments.dropFirst()
        guard !paths.isEmpty else {
            emit("usage: otp-fuzz FILE… (target from the folder name: \(FuzzTarget.names), or OTP_FUZZ_TARGET)\n", to: 2)
            exit(2)
        }
        var failures = 0
        for path in paths {
            guard let target = target(for: path) else {
                emit("otp-fuzz: \(path): no target (folder is not one of \(FuzzTarget.names), OTP_FUZZ_TARGET unset)\n", to: 2)
                exit(2)
            }
            guard let bytes = contents(of: path) else {
                emit("otp-fuzz: \(path): cannot read\n", to: 2)
                exit(2)
            }
            emit("\(target.rawValue) \(path) ")
            do {
                try target.run(bytes)
                emit("ok\n")
            } catch {
                emit("FAILED: \(error)\n")
                failures += 1
            }
        }
        emit("otp-fuzz: \(paths.count) inputs, \(failures) failed\n")
        exit(failures == 0 ? 0 : 1)
    }

    private static func target(for path: String) -> FuzzTarget? {
        let folder = path.split(separator: "/").dropLast().last.map(String.init) ?? ""
        return FuzzTarget(rawValue: folder) ?? FuzzTarget.fromEnvironment
    }

    private static func contents(of path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = fread(&buffer, 1, buffer.count, file)
            bytes += buffer[..<got]
            if got < buffer.count { return ferror(file) == 0 ? bytes : nil }
        }
    }
}
#endif
