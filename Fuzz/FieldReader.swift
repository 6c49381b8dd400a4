/// Splits fuzz input into CGI parameter values the way a FastCGI server could send them: values
/// separated by NUL (a parameter is a C string and cannot hold one), a lone `0xFF` meaning the
/// parameter is absent. Values are decoded as libfcgi's strings are (`String(cString:)`), invalid
/// UTF-8 repaired. Past the end of the input every parameter is absent.
struct FieldReader {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var atEnd: Bool { index >= bytes.count }

    /// The bytes not read yet: the body stream once the fields are read.
    var remaining: ArraySlice<UInt8> { bytes[min(index, bytes.count)...] }

    /// Marks `count` bytes of `remaining` as read.
    mutating func skip(_ count: Int) {
        index += count
    }

    /// The next byte, as a set of switches; 0 past the end.
    mutating func selector() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    /// The next NUL-terminated value (the last one may end with the input).
    mutating func field() -> String? {
        guard index < bytes.count else { return nil }
        let end = bytes[index...].firstIndex(of: 0) ?? bytes.count
        let value = bytes[index..<end]
        index = min(end + 1, bytes.count)
        if value.elementsEqual([0xFF]) { return nil }
        return String(decoding: value, as: UTF8.self)
    }
}
