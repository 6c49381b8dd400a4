import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

@Suite("JSON object parser")
struct JSONObjectParserTests {
    private func parse(_ text: String) throws(JSONObjectParser.Failure) -> [JSONObjectParser.Member] {
        try JSONObjectParser.parse(Array(text.utf8))
    }

    private func failure(_ text: String) -> JSONObjectParser.Failure? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    private func member(_ name: String, _ value: JSONObjectParser.Value) -> JSONObjectParser.Member {
        JSONObjectParser.Member(name: name, value: value)
    }

    @Test func parsesAnObjectWithWhitespaceEverywhere() throws {
        let members = try parse(" \t\r\n{ \n\"phone_e164\"\t:\r\"+14155550123\" ,\n \"purpose\" : \"step_up\" } \n")
        #expect(members == [member("phone_e164", .string("+14155550123")), member("purpose", .string("step_up"))])
    }

    @Test func parsesAnEmptyObject() throws {
        #expect(try parse("{}") == [])
    }

    @Test func decodesEscapes() throws {
        let members = try parse(#"{"a": "\"\\\/\b\f\n\r\t", "b": "caf\u00e9", "c": "\ud83d\ude00", "d": "\u00E9"}"#)
        #expect(members == [
            member("a", .string("\"\\/\u{08}\u{0C}\n\r\t")), member("b", .string("café")),
            member("c", .string("😀")), member("d", .string("é")),
        ])
    }

    @Test func keepsRawUTF8InStrings() throws {
        #expect(try parse(#"{"name": "Zoë 😀"}"#) == [member("name", .string("Zoë 😀"))])
    }

    @Test func reportsDuplicatesInDocumentOrder() throws {
        let members = try parse(#"{"a": "1", "b": "2", "a": "3"}"#)
        #expect(members.map(\.name) == ["a", "b", "a"])
        #expect(members.map(\.value) == [.string("1"), .string("2"), .string("3")])
    }

    @Test func reportsTheKindOfEveryValue() throws {
        let members = try parse(#"{"s": "x", "n": -12.5e+3, "t": true, "f": false, "z": null, "a": [1, [2]], "o": {"k": {}}}"#)
        #expect(members.map(\.value) == [.string("x"), .number("-12.5e+3"), .bool, .bool, .null, .array, .object])
    }

    @Test(arguments: ["0", "-0", "12", "1.5", "1e9", "1E-9", "0.0e0"])
    func acceptsValidNumbers(number: String) throws {
        #expect(try parse(#"{"n": \#(number)}"#) == [member("n", .number(number))])
    }

    @Test(arguments: [
        #"{"a": "1"} x"#, #"{"a": "1"}{}"#, #"{"a": "1",}"#, #"{"a": ["1",]}"#, "{'a': '1'}", #"{a: "1"}"#,
        "{\"a\": \"x\ny\"}", "{\"a\": \"x\u{1}y\"}", "{\"a\": \"x\ty\"}",
        #"{"a": "\ud83d"}"#, #"{"a": "\ude00"}"#, #"{"a": "\ud83d\n"}"#, #"{"a": "\ud83d\u0041"}"#,
        #"{"a": "\x"}"#, #"{"a": "\u12"}"#, #"{"a": "\u12G4"}"#, #"{"a": "\'"}"#,
        #"{"n": 01}"#, #"{"n": +1}"#, #"{"n": .5}"#, #"{"n": 1.}"#, #"{"n": 1e}"#, #"{"n": -}"#, #"{"n": NaN}"#, #"{"n": Infinity}"#,
        #"{"a": tru}"#, #"{"a": nul}"#, #"{"a": True}"#, #"{"a" "1"}"#, #"{"a": "1" "b": "2"}"#, #"{"a": "1""#, #"{"a""#,
        "", " ", "{", "}", #"{"a": "1"}}"#, "[", "01",
    ])
    func rejectsMalformedInput(text: String) {
        #expect(failure(text) == .malformed, "accepted: \(text)")
    }

    @Test func rejectsInvalidUTF8InsideAString() throws {
        let bytes = Array(#"{"a": ""#.utf8) + [0xFF] + Array(#""}"#.utf8)
        #expect(throws: JSONObjectParser.Failure.malformed) { try JSONObjectParser.parse(bytes) }
        let overlong = Array(#"{"a": ""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8)
        #expect(throws: JSONObjectParser.Failure.malformed) { try JSONObjectParser.parse(overlong) }
        let surrogate = Array(#"{"a": ""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8)
        #expect(throws: JSONObjectParser.Failure.malformed) { try JSONObjectParser.parse(surrogate) }
        // A 4-byte sequence cut after 3 bytes is repaired into one U+FFFD, also 3 bytes: a check
        // that compares lengths only would let it through.
        let truncated = Array(#"{"a": "x"#.utf8) + [0xF0, 0x9F, 0x98] + Array(#""}"#.utf8)
        #expect(throws: JSONObjectParser.Failure.malformed) { try JSONObjectParser.parse(truncated) }
        let escaped = Array(#"{"a": "\n"#.utf8) + [0xF0, 0x9F, 0x98] + Array(#""}"#.utf8)
        #expect(throws: JSONObjectParser.Failure.malformed) { try JSONObjectParser.parse(escaped) }
        #expect(try JSONObjectParser.parse(Array(#"{"a": "x😀"}"#.utf8)) == [member("a", .string("x😀"))])
    }

    @Test func acceptsNestingOfThirtyTwoLevels() throws {
        // The top-level object and 31 arrays inside it.
        let text = #"{"a": "# + String(repeating: "[", count: 31) + String(repeating: "]", count: 31) + "}"
        #expect(try parse(text) == [member("a", .array)])
    }

    @Test func rejectsNestingDeeperThanThirtyTwoLevels() {
        let arrays = #"{"a": "# + String(repeating: "[", count: 32) + String(repeating: "]", count: 32) + "}"
        #expect(failure(arrays) == .malformed)
        let objects = String(repeating: #"{"a": "#, count: 33) + "1" + String(repeating: "}", count: 33)
        #expect(failure(objects) == .malformed)
    }

    @Test func rejectsVeryDeepNestingWithoutCrashing() {
        let text = #"{"a": "# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(failure(text) == .malformed)
    }

    @Test(arguments: [#"[{"a": "1"}]"#, "[]", #""text""#, "42", "true", "null", " [ ] "])
    func validJSONThatIsNotAnObjectIsReportedAsSuch(text: String) {
        #expect(failure(text) == .notAnObject)
    }

    @Test(arguments: ["[1,]", #""abc"#, "tru", "[] []"])
    func malformedNonObjectIsMalformed(text: String) {
        #expect(failure(text) == .malformed)
    }
}

@Suite("JSON string literals")
struct JSONTextTests {
    @Test func escapesQuotesBackslashesAndControls() {
        #expect(JSONText.quoted("a\"b\\c\nd\re\tf\u{1}g\u{7f}") == #""a\"b\\c\nd\re\tf\u0001g\u007f""#)
    }

    @Test func keepsNonASCIIAsIs() {
        #expect(JSONText.quoted("café 😀") == "\"café 😀\"")
    }

    @Test func quotedTextParsesBackToTheSameString() throws {
        let original = "x\"\\\n\u{0}\u{1f}é😀"
        let members = try JSONObjectParser.parse(Array("{\"k\": \(JSONText.quoted(original))}".utf8))
        #expect(members == [JSONObjectParser.Member(name: "k", value: .string(original))])
    }
}
