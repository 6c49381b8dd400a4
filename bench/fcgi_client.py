"""A minimal FastCGI client (responder role, one request per connection, like nginx without
upstream keepalive), for driving a responder straight on its unix socket: the callgrind runs of
`make bench` use it so that nginx's work is not in the count.
"""
import socket
import struct

FCGI_VERSION = 1
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER = 1


def _record(kind, content, request_id=1):
    padding = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", FCGI_VERSION, kind, request_id, len(content), padding, 0) + content + b"\0" * padding


def _length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def _pairs(params):
    out = b""
    for name, value in params:
        name, value = name.encode(), value.encode()
        out += _length(len(name)) + _length(len(value)) + name + value
    return out


def nginx_params(method, uri, body=b"", content_type="", extra=()):
    """The parameters the shipped otp-fcgi_params file makes nginx send, in its order, then extra ones."""
    return [
        ("REQUEST_METHOD", method),
        ("CONTENT_TYPE", content_type),
        ("CONTENT_LENGTH", str(len(body)) if body else ""),
        ("DOCUMENT_URI", uri),
        ("REQUEST_URI", uri),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("SERVER_NAME", "bench"),
        *extra,
    ]


def request(socket_path, params, body=b"", timeout=30.0):
    """Sends one request; returns (status, headers dict with lower-case names, body bytes)."""
    message = _record(BEGIN_REQUEST, struct.pack(">HB5x", RESPONDER, 0))
    encoded = _pairs(params)
    for start in range(0, len(encoded), 65535):
        message += _record(PARAMS, encoded[start:start + 65535])
    message += _record(PARAMS, b"")
    for start in range(0, len(body), 65535):
        message += _record(STDIN, body[start:start + 65535])
    message += _record(STDIN, b"")

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(socket_path)
        connection.sendall(message)
        buffer, stdout, ended = b"", b"", False
        while not ended:
            chunk = connection.recv(65536)
            if not chunk:
                break
            buffer += chunk
            while len(buffer) >= 8:
                _, kind, _, length, padding, _ = struct.unpack(">BBHHBB", buffer[:8])
                if len(buffer) < 8 + length + padding:
                    break
                content = buffer[8:8 + length]
                buffer = buffer[8 + length + padding:]
                if kind == STDOUT:
                    stdout += content
                elif kind == END_REQUEST:
                    ended = True
                    break
        if not ended:
            raise ConnectionError("the responder closed the connection before END_REQUEST")

    head, _, payload = stdout.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name:
            headers[name.decode().strip().lower()] = value.decode().strip()
    status = int(headers.get("status", "200").split()[0])
    return status, headers, payload
