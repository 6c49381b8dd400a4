import CFastCGI
import Glibc
import OTPLogic
import OTPSystem

/// Reads a request body from libfcgi within one deadline for the whole body, so a client that
/// trickles its body (a web server forwards it as it arrives) cannot hold a worker — and with
/// it the step-up check the worker would otherwise answer — for longer than `timeoutMilliseconds`.
/// Bytes libfcgi already holds are taken without waiting; when it holds none, one read of the
/// socket waits at most for the time left (`SO_RCVTIMEO`).
struct BodyReader {
    let stream: UnsafeMutablePointer<FCGX_Stream>
    let socket: Int32
    let timeoutMilliseconds: Int
    let clock = SystemClock()

    func read(contentLength: String?) -> HTTPRequest.Body {
        let deadline = clock.milliseconds() + timeoutMilliseconds
        var timedOut = false
        let body = HTTPRequest.readBody(contentLength: contentLength) { buffer in
            let buffered = stream.pointee.stop - stream.pointee.rdNext
            var wanted = min(buffer.count, max(buffered, 0))
            if wanted == 0 {
                let left = deadline - clock.milliseconds()
                guard left > 0 else {
                    timedOut = true
                    return 0
                }
                var limit = timeval(tv_sec: left / 1000, tv_usec: (left % 1000) * 1000)
                setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                wanted = 1
            }
            let got = Int(FCGX_GetStr(buffer.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(wanted), stream))
            if got == 0 && (stream.pointee.FCGI_errno == EAGAIN || clock.milliseconds() >= deadline) { timedOut = true }
            return got
        }
        if timedOut, body != .tooLarge { return .timedOut }
        return body
    }
}
