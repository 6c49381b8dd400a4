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

    @Test func manyKeysComeOutSortedWhateverOrderTheyArriveIn() {
        let keys = ["zone", "a", "k10", "k2", "event", "Z", "k1", "user", "b", "outcome", "k02", "phone", "a0", "worker"]
        for rotation in keys.indices {
            let arriving = Array(keys[rotation...] + keys[..<rotation])
            var metadata: Logger.Metadata = [:]
            for key in arriving { metadata[key] = .string("v-" + key) }
            let line = KeyValueLogHandler.format(timestamp: KeyValueLogHandlerTests.ts, level: .info, message: "m", metadata: metadata)
            let expected = keys.sorted().map { " \($0)=v-\($0)" }.joined()
            #expect(line == "ts=\(KeyValueLogHandlerTests.ts) level=info msg=m" + expected + "\n")
        }
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

    @Test func timestampAgreesWithGmtimeAcrossLeapYearsAndCenturies() throws {
        // Every day from 1970 to 2200, a second later each day (leap days, 2000, 2100), and the
        // ends of a few days and years.
        var probes = Array(stride(from: 0, to: 7_258_118_400, by: 86_401))
        probes += [951_782_399, 951_782_400, 951_868_800, 4_107_542_399, 4_107_542_400, 1_767_225_599, 1_767_225_600]
        for seconds in probes {
            var time = time_t(seconds)
            var parts = tm()
            try #require(gmtime_r(&time, &parts) != nil)
            let expected = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.042Z", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
                parts.tm_min, parts.tm_sec
            )
            let stamp = KeyValueLogHandler.timestamp(seconds: seconds, nanoseconds: 42_999_999)
            guard stamp == expected else {
                Issue.record("\(seconds): \(stamp), gmtime_r says \(expected)")
                return
            }
        }
        #expect(KeyValueLogHandler.timestamp(seconds: 1_795_242_540, nanoseconds: 123_000_000) == KeyValueLogHandlerTests.ts)
    }

    @Test func aKeyGivenAgainByTheEventIsWrittenOnceWithTheEventsValue() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        var logger = Logger(label: "t") { _ in KeyValueLogHandler(logLevel: .info, fileDescriptor: fds[1]) }
        logger[metadataKey: "outcome"] = "pending"
        logger[metadataKey: "phone"] = "8230f6bd440e"
        logger.info("code sent", metadata: ["outcome": "sent", "event": "otp.send"])
        close(fds[1])
        let output = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true).readDataToEndOfFile()
        let line = String(decoding: output, as: UTF8.self)
        #expect(line.hasSuffix(" level=info msg=\"code sent\" event=otp.send outcome=sent phone=8230f6bd440e\n"), "\(line)")
    }

    /// The handler's metadata, the provider's and the event's are merged into one sorted list of
    /// keys; of a key given by several, the later source's value is written, once.
    @Test func theEventOverridesTheProviderWhichOverridesTheHandler() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        let provider = Logger.MetadataProvider { ["request": "r-7", "outcome": "provided", "zone": "z"] }
        var logger = Logger(label: "t") { _ in
            var handler = KeyValueLogHandler(logLevel: .info, fileDescriptor: fds[1])
            handler.metadataProvider = provider
            return handler
        }
        logger[metadataKey: "outcome"] = "pending"
        logger[metadataKey: "request"] = "r-1"
        logger[metadataKey: "alpha"] = "a"
        logger.info("m", metadata: ["outcome": "sent", "beta": "b"])
        logger.info("n")
        close(fds[1])
        let output = FileHandle(fileDescriptor: fds[0], closeOnDealloc: true).readDataToEndOfFile()
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
        try #require(lines.count == 2)
        #expect(lines[0].hasSuffix(" level=info msg=m alpha=a beta=b outcome=sent request=r-7 zone=z"), "\(lines[0])")
        #expect(lines[1].hasSuffix(" level=info msg=n alpha=a outcome=provided request=r-7 zone=z"), "\(lines[1])")
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
