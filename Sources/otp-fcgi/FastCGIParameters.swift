import CFastCGI
import Glibc
import OTPLogic

/// The parameters of one FastCGI request, found in one pass over libfcgi's `NAME=value` list.
/// (`FCGX_GetParam` scans the whole list again for every name it is asked for.) The first value of
/// a repeated name wins, as with `FCGX_GetParam`, except `REMOTE_USER`: every value is kept.
///
/// The request's parameters stay where libfcgi keeps them until one is asked for (a request asks
/// for most of them once; `SCRIPT_NAME` and `PATH_INFO` only without `DOCUMENT_URI`): use it
/// before `FCGX_Finish_r`, which frees them.
struct FastCGIParameters {
    private var values = [UnsafePointer<CChar>?](repeating: nil, count: contentLengthIndex)
    private(set) var contentLength: String?
    /// Every `REMOTE_USER`, in order, as bytes: `FCGX_GetParam` returns only the first, which is
    /// how a repeated `REMOTE_USER` would let a client choose its principal.
    private(set) var remoteUsers: [[UInt8]] = []

    /// The names looked for: the request's parameters (by `CGIParameter` raw value), then these two.
    private static let names: [StaticString] = CGIParameter.allCases.map(\.staticName) + ["CONTENT_LENGTH", "REMOTE_USER"]
    private static let contentLengthIndex = CGIParameter.allCases.count
    private static let remoteUserIndex = CGIParameter.allCases.count + 1
    /// Bit n set when some name is n bytes long: most of the list (nginx's other parameters, the
    /// client's headers) is passed over on its name's length alone.
    private static let lengths: UInt64 = names.reduce(0) { $0 | 1 << UInt64($1.utf8CodeUnitCount) }

    /// Copies out `CONTENT_LENGTH` and `REMOTE_USER`; the others on demand, by subscript.
    init(environment: FCGX_ParamArray?) {
        guard var cursor = environment else { return }
        let names = Self.names
        let lengths = Self.lengths
        while let entry = cursor.pointee {
            cursor += 1
            guard let equals = strchr(entry, Int32(UInt8(ascii: "="))) else { continue }
            let length = entry.distance(to: equals)
            guard length < 64, lengths & 1 << UInt64(length) != 0 else { continue }
            let value = equals + 1
            var index = 0
            while index < names.count {
                if names[index].utf8CodeUnitCount == length && memcmp(entry, names[index].utf8Start, length) == 0 { break }
                index += 1
            }
            switch index {
            case names.count: continue
            case Self.remoteUserIndex:
                remoteUsers.append(Array(UnsafeRawBufferPointer(start: value, count: strlen(value))))
            case Self.contentLengthIndex:
                if contentLength == nil { contentLength = String(cString: value) }
            default:
                if values[index] == nil { values[index] = UnsafePointer(value) }
            }
        }
    }

    /// A copy of the value, out of libfcgi's buffers.
    subscript(parameter: CGIParameter) -> String? { values[parameter.rawValue].map { String(cString: $0) } }
}
