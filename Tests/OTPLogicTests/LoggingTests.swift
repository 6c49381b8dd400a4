import Foundation
import Logging
import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

@Suite("key=value log lines")
struct KeyValueLogHandlerTests {
    static let ts = "2026-11-21T06:29:00.123Z"

    @Test func fixedFieldsComeFirstThenSortedKeysAndANewline() {
        let line = KeyValueLogHandler.format(
            timestamp: KeyValueLogHandlerTests.ts, level: .info, message: "code sent",
            metadata: ["purpose": "verify_phone", "event": "otp.send", "phone": "8230f6bd440e", "outcome": "sent"]
        )
        #expect(line == "ts=2026-11-21T06:29:00.123Z level=info msg=\"code sent\" event=otp.send outcome=sent phone=8230f6bd440e purpose=verify_phone\n")
    }

    @Test func lineWithoutMetadataHasOnlyTheFixedFields() {
        #expect(KeyValueLogHandler.format(timestamp: KeyValueLogHandlerTests.ts, level: .error, message: "boom", metadata: [:])
            == "ts=2026-11-21T06:29:00.123Z level=error msg=boom\n")
    }

    @Test(arguments: [
        ("busy (sqlite 5): locked", #""busy (sqlite 5): locked""#), (#"say "hi""#, #""say \"hi\"""#), ("a=b", #""a=b""#),
        ("two\nlines", #""two\nlines""#), ("", #""""#), ("tab\tin", #""tab\tin""#), ("bell\u{7}", #""bell\u0007""#),
        ("plain_value-1.2", "plain_value-1.2"), ("café", "café"),
    ])
    func valuesAreQuotedAndEscapedOnlyWhenNeeded(value: String, expected: String) {
        let line = KeyValueLogHandler.format(timestamp: KeyValueLogHandlerTests.ts, level: .warning, message: "m", metadata: ["k": .string(value)])
        #expect(line == "ts=\(KeyValueLogHandlerTests.ts) level=warning msg=m k=\(expected)\n")
    }

    @Test func aValueCannotForgeAnotherField() {
        let line = KeyValueLogHandler.format(
            timestamp: KeyValueLogHandlerTests.ts, level: .info, message: "x\nts=forged level=error", metadata: ["user": "bob outcome=admitted"]
        )
        #expect(line.filter { $0 == "\n" }.count == 1)
        #expect(line == "ts=\(KeyValueLogHandlerTests.ts) level=info msg=\"x\\nts=forged level=error\" user=\"bob outcome=admitted\"\n")
    }

    @Test func timestampIsUTCWithMilliseconds() throws {
        let stamp = KeyValueLogHandler.timestamp()
        let pattern = try Regex(#"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#)
        #expect(stamp.wholeMatch(of: pattern) != nil, "\(stamp)")
    }

    @Test func handlerWritesOneLinePerEventAtOrAboveItsLevel() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        let logger = Logger(label: "t") { _ in KeyValueLogHandler(logLevel: .info, fileDescriptor: fds[1]) }
        var withPhone = logger
        withPhone[metadataKey: "phone"] = "8230f6bd440e"
        withPhone.debug("hidden")
        withPhone.info("code sent", metadata: ["event": "otp.send"])
        withPhone.error("db down")
        close(fds[1])
        let output = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true).readDataToEndOfFile()
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        try #require(lines.count == 3)
        #expect(lines[0].hasPrefix("ts="))
        #expect(lines[0].hasSuffix(" level=info msg=\"code sent\" event=otp.send phone=8230f6bd440e"))
        #expect(lines[1].hasSuffix(" level=error msg=\"db down\" phone=8230f6bd440e"))
        #expect(lines[2].isEmpty)
    }
}
