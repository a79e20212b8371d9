"""A small FastCGI 1.0 client (the web-server side), enough to talk to plugind without nginx.

Records follow the FastCGI specification: an 8-byte header (version 1, type, request id, content
length, padding length, reserved), the content, then padding. A request is BEGIN_REQUEST (role
RESPONDER), PARAMS records with name-value pairs (lengths of 1 byte below 128, else 4 bytes with
the high bit set) ended by an empty PARAMS record, STDIN records ended by an empty one. The
response is STDOUT/STDERR records and END_REQUEST.

The pieces are separate (`begin_request`, `params`, `stdin`, `Connection.send`) so tests can send a
request partially, pause, or hang up in the middle.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field

VERSION_1 = 1
BEGIN_REQUEST = 1
ABORT_REQUEST = 2
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
DATA = 8
GET_VALUES = 9
GET_VALUES_RESULT = 10
UNKNOWN_TYPE = 11

RESPONDER = 1
KEEP_CONN = 1

REQUEST_COMPLETE = 0

MAX_CONTENT = 0xFFFF


class FastCGIError(Exception):
    pass


def record(record_type: int, content: bytes = b"", request_id: int = 1) -> bytes:
    """One record; content longer than 65535 bytes must be split by the caller (see `stream`)."""
    if len(content) > MAX_CONTENT:
        raise ValueError("a record holds at most 65535 bytes of content")
    padding = (8 - len(content) % 8) % 8
    header = struct.pack(">BBHHBB", VERSION_1, record_type, request_id, len(content), padding, 0)
    return header + content + b"\0" * padding


def stream(record_type: int, data: bytes, request_id: int = 1, end: bool = True) -> bytes:
    """A stream (PARAMS, STDIN, ...): as many records as the data needs, plus the empty one that ends it."""
    out = bytearray()
    for offset in range(0, len(data), MAX_CONTENT):
        out += record(record_type, data[offset : offset + MAX_CONTENT], request_id)
    if end:
        out += record(record_type, b"", request_id)
    return bytes(out)


def encode_length(n: int) -> bytes:
    if n < 128:
        return bytes([n])
    if n > 0x7FFFFFFF:
        raise ValueError("name or value too long")
    return struct.pack(">I", n | 0x80000000)


def name_value(name: str | bytes, value: str | bytes) -> bytes:
    n = name.encode() if isinstance(name, str) else name
    v = value.encode() if isinstance(value, str) else value
    return encode_length(len(n)) + encode_length(len(v)) + n + v


def begin_request(request_id: int = 1, role: int = RESPONDER, keep_conn: bool = False) -> bytes:
    body = struct.pack(">HB5x", role, KEEP_CONN if keep_conn else 0)
    return record(BEGIN_REQUEST, body, request_id)


def params(values: dict[str, str], request_id: int = 1, end: bool = True) -> bytes:
    data = b"".join(name_value(k, v) for k, v in values.items())
    return stream(PARAMS, data, request_id, end)


def stdin(body: bytes, request_id: int = 1, end: bool = True) -> bytes:
    return stream(STDIN, body, request_id, end)


def cgi_params(
    method: str,
    uri: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    content_length: int | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The parameters nginx's stock fastcgi_params would send for this request."""
    path, _, query = uri.partition("?")
    values = {
        "QUERY_STRING": query,
        "REQUEST_METHOD": method,
        "CONTENT_TYPE": "",
        "CONTENT_LENGTH": "",
        "SCRIPT_NAME": path,
        "REQUEST_URI": uri,
        "DOCUMENT_URI": path,
        "DOCUMENT_ROOT": "/nonexistent",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_SCHEME": "https",
        "HTTPS": "on",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "fcgi_client.py",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "SERVER_ADDR": "127.0.0.1",
        "SERVER_PORT": "443",
        "SERVER_NAME": "127.0.0.1",
    }
    if body or content_length is not None:
        values["CONTENT_LENGTH"] = str(len(body) if content_length is None else content_length)
    for name, value in (headers or {}).items():
        if name.lower() == "content-type":
            values["CONTENT_TYPE"] = value
        else:
            values["HTTP_" + name.upper().replace("-", "_")] = value
    values.update(extra or {})
    return values


@dataclass
class CGIResponse:
    """What the application wrote to STDOUT, split into status, headers and body."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    raw: bytes
    stderr: bytes = b""
    app_status: int = 0
    protocol_status: int = REQUEST_COMPLETE
    stdout_records: tuple[int, ...] = ()  # the content length of each STDOUT record, in order

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def header_map(self) -> dict[str, str]:
        return {k: v for k, v in self.headers}


def parse_cgi(raw: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    if not sep:
        raise FastCGIError(f"no end of headers in the response: {raw[:200]!r}")
    headers: list[tuple[str, str]] = []
    status, reason = 200, "OK"
    for line in head.decode("latin-1").splitlines():
        name, colon, value = line.partition(":")
        if not colon:
            raise FastCGIError(f"a response header line without a colon: {line!r}")
        name, value = name.strip(), value.strip()
        if name.lower() == "status":
            code, _, reason = value.partition(" ")
            status = int(code)
        else:
            headers.append((name, value))
    return status, reason, headers, body


@dataclass
class Connection:
    """One FastCGI connection to a unix socket (plugind closes it after each request)."""

    path: str
    timeout: float = 10.0
    sock: socket.socket = field(init=False)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_exact(self, n: int, deadline: float) -> bytes:
        out = bytearray()
        while len(out) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete record within the time allowed ({len(out)}/{n} bytes)")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise FastCGIError(f"the server closed the connection mid-record ({len(out)}/{n} bytes)")
            out += chunk
        return bytes(out)

    def read_response(self, request_id: int = 1, timeout: float | None = None) -> CGIResponse:
        """Reads records until END_REQUEST for `request_id`; raises if the stream ends before it."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        stdout = bytearray()
        stderr = bytearray()
        records: list[int] = []
        while True:
            header = self._read_exact(8, deadline)
            version, rtype, rid, length, padding, _ = struct.unpack(">BBHHBB", header)
            if version != VERSION_1:
                raise FastCGIError(f"record version {version}, expected 1")
            content = self._read_exact(length + padding, deadline)[:length]
            if rid != request_id:
                raise FastCGIError(f"record for request {rid}, expected {request_id}")
            if rtype == STDOUT:
                stdout += content
                records.append(length)
            elif rtype == STDERR:
                stderr += content
            elif rtype == END_REQUEST:
                app_status, protocol_status = struct.unpack(">IB3x", content)
                status, reason, headers, body = parse_cgi(bytes(stdout))
                return CGIResponse(
                    status, reason, headers, body, bytes(stdout), bytes(stderr), app_status, protocol_status,
                    tuple(records),
                )
            else:
                raise FastCGIError(f"unexpected record type {rtype}")


def request(
    socket_path: str,
    method: str,
    uri: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    content_length: int | None = None,
    extra: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> CGIResponse:
    """One complete request on its own connection."""
    with Connection(socket_path, timeout) as conn:
        values = cgi_params(method, uri, headers, body, content_length, extra)
        conn.send(begin_request() + params(values) + stdin(body))
        return conn.read_response()
