import Testing
@testable import OTPLogic
@testable import OTPSQLite
@testable import OTPSMS
@testable import OTPSystem
import TestSupport

/// An input stream that hands out at most `chunk` bytes per read.
private final class ByteSource {
    let bytes: [UInt8]
    let chunk: Int
    private(set) var offset = 0

    init(_ bytes: [UInt8], chunk: Int = 3) {
        self.bytes = bytes
        self.chunk = chunk
    }

    func read(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(buffer.count, chunk, bytes.count - offset)
        for index in 0..<count { buffer[index] = bytes[offset + index] }
        offset += count
        return count
    }
}

@Suite("CGI parameters and body")
struct CGIRequestTests {
    @Test func parametersMapOntoTheRequest() {
        let parameters = [
            "REQUEST_METHOD": "POST", "DOCUMENT_URI": "/api/otp/verify", "OTP_ENDPOINT": "health", "CONTENT_TYPE": "application/json",
            "HTTP_X_STEP_UP_TOKEN": "tok", "REMOTE_ADDR": "192.0.2.7", "SCRIPT_NAME": "/ignored",
        ]
        let request = HTTPRequest(principal: Principal(remoteUserValues: ["alice"]), body: .complete([1]), parameter: { parameters[$0.name] })
        #expect(request.role == .responder)
        #expect(request.method == "POST")
        #expect(request.documentURI == "/api/otp/verify")
        #expect(request.endpoint == "health")
        #expect(request.contentType == "application/json")
        #expect(request.stepUpToken == "tok")
        #expect(request.remoteAddress == "192.0.2.7")
        #expect(request.principal == .user("alice"))
        #expect(request.body == .complete([1]))
    }

    @Test func scriptNameAndPathInfoStandInForAMissingDocumentURI() {
        let parameters = ["REQUEST_METHOD": "POST", "SCRIPT_NAME": "/cgi-bin/otp", "PATH_INFO": "/send"]
        let request = HTTPRequest(principal: Principal(remoteUserValues: []), body: .complete([]), parameter: { parameters[$0.name] })
        #expect(request.documentURI == "/cgi-bin/otp/send")
        #expect(request.principal == .anonymous)
        #expect(request.endpoint == nil)
    }

    @Test func repeatedRemoteUserMakesTheRequestAmbiguous() {
        let request = HTTPRequest(principal: Principal(remoteUserValues: ["mallory", "alice"]), body: .complete([]), parameter: { _ in nil })
        #expect(request.principal == .ambiguous)
    }

    @Test(arguments: [nil, ""] as [String?])
    func noContentLengthIsAnEmptyBody(length: String?) {
        let source = ByteSource(Array("ignored".utf8))
        #expect(HTTPRequest.readBody(contentLength: length, read: source.read) == .complete([]))
        #expect(source.offset == 0)
    }

    @Test func bodyIsReadAcrossShortReads() {
        let json = Array(RequestJSON.send().utf8)
        let source = ByteSource(json, chunk: 3)
        #expect(HTTPRequest.readBody(contentLength: String(json.count), read: source.read) == .complete(json))
    }

    @Test func exactlyContentLengthBytesAreRead() {
        let source = ByteSource(Array("helloEXTRA".utf8))
        #expect(HTTPRequest.readBody(contentLength: "5", read: source.read) == .complete(Array("hello".utf8)))
        #expect(source.offset == 5)
    }

    @Test func bodyShorterThanContentLengthIsIncomplete() {
        #expect(HTTPRequest.readBody(contentLength: "10", read: ByteSource(Array("short".utf8)).read) == .incomplete)
    }

    @Test(arguments: ["abc", "-1", " 5", "5 ", "0x10"])
    func unreadableContentLengthIsIncomplete(length: String) {
        #expect(HTTPRequest.readBody(contentLength: length, read: ByteSource(Array("hello".utf8)).read) == .incomplete)
    }

    @Test func bodyOfExactlyTheLimitIsAccepted() {
        let bytes = [UInt8](repeating: 0x20, count: HTTPRequest.maximumBodyBytes)
        #expect(HTTPRequest.readBody(contentLength: String(bytes.count), read: ByteSource(bytes, chunk: 1000).read) == .complete(bytes))
    }

    @Test func bodyOverTheLimitIsTooLargeAndDrained() {
        let bytes = [UInt8](repeating: 0x41, count: HTTPRequest.maximumBodyBytes + 5000)
        let source = ByteSource(bytes + Array("NEXT".utf8), chunk: 700)
        #expect(HTTPRequest.readBody(contentLength: String(bytes.count), read: source.read) == .tooLarge)
        #expect(source.offset == bytes.count)
    }
}
