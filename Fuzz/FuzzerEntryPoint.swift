#if FUZZING
import CLibFuzzer
#if canImport(Glibc)
import Glibc
#endif

/// The fuzzing build (`make fuzz`: `-DFUZZING -sanitize=fuzzer,address`): libFuzzer's driver,
/// with its usual options, over the target `OTP_FUZZ_TARGET` names.
@main
struct FuzzerMain {
    static func main() {
        guard FuzzTarget.fromEnvironment != nil else {
            emit("otp-fuzz: set OTP_FUZZ_TARGET to one of \(FuzzTarget.names)\n", to: 2)
            exit(2)
        }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
    }
}

/// One input. A broken invariant aborts, which libFuzzer reports as a crash, saving the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try selectedTarget.run(bytes)
    } catch {
        emit("otp-fuzz: invariant violated (\(selectedTarget.rawValue)): \(error)\n", to: 2)
        abort()
    }
    return 0
}

private let selectedTarget = FuzzTarget.fromEnvironment!
#endif
