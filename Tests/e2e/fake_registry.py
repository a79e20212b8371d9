"""A fake community plugin registry upstream on 127.0.0.1, for the registry end-to-end tests.

It serves the real snapshots of `../shared/data/registry/` (beside the clone; never copied into the
repository) as `/generated-registry.json` (from `generated-registry.next.json`) and `/index.json`
(from `index.next.json`), and each path can be switched to misbehave:

| behaviour      | what the path answers                                                                 |
| -------------- | ------------------------------------------------------------------------------------- |
| `ok`           | `200` with `ETag` and `Last-Modified`; `304` to a matching `If-None-Match` or to an    |
|                | `If-Modified-Since` not older than `Last-Modified` (as a real server does)             |
| `404`, `500`   | that status with a small JSON body                                                     |
| `invalid-json` | `200` with a body that is not JSON                                                     |
| `hang`         | the headers never come: the handler sleeps until `hang_seconds` or `stop()`            |
| `huge`         | `200` with a valid JSON document of `HUGE_BYTES` (100 MB), streamed, `Content-Length`  |
| `huge-chunked` | the same document sent chunked, with no `Content-Length` to refuse it by               |
| `deep`         | `200` with an entry nested `DEEP_LEVELS` levels deep                                   |
| `wrong-types`  | `200` with the real names, every entry's value of the wrong type (none usable)         |
| `document`     | `200` with bytes given to `set()` (also with `ETag`/`Last-Modified`, honouring them)   |

Every request is recorded (`requests`: path, behaviour, status, the conditional headers), so a test
can see what plugind asked for. The server runs in a daemon thread; `stop()` ends it and releases
any `hang` in progress.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REGISTRY_DATA = (REPO / ".." / "shared" / "data" / "registry").resolve()
GENERATED_SNAPSHOT = REGISTRY_DATA / "generated-registry.next.json"
INDEX_SNAPSHOT = REGISTRY_DATA / "index.next.json"

GENERATED_PATH = "/generated-registry.json"
INDEX_PATH = "/index.json"

HUGE_BYTES = 100 * 1000 * 1000
DEEP_LEVELS = 100_000
BEHAVIOURS = ("ok", "404", "500", "invalid-json", "hang", "huge", "huge-chunked", "deep", "wrong-types", "document")


@dataclass
class Seen:
    """One request the fake received."""

    path: str
    behaviour: str
    status: int | None
    if_none_match: str | None
    if_modified_since: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Route:
    behaviour: str
    body: bytes
    etag: str
    last_modified: str
    delay: float = 0.0


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def wrong_types_document(generated: bytes) -> bytes:
    """The real registry's names with values no registry entry has: numbers, strings, arrays, null,
    booleans; the top-level fields of the wrong types too. Nothing in it is usable."""
    names = list(json.loads(generated)["registry"])
    wrong = [42, "github:elizaos/eliza", ["npm", "git"], None, True, 3.5, -1, "", [], False]
    return json.dumps(
        {
            "lastUpdatedAt": 1700000000,
            "schemaVersion": ["registry-v2"],
            "counts": "many",
            "registry": {name: wrong[i % len(wrong)] for i, name in enumerate(names)},
        }
    ).encode()


def deep_document(levels: int = DEEP_LEVELS) -> bytes:
    """A well-formed document whose one entry holds arrays nested `levels` deep."""
    return (
        b'{"lastUpdatedAt":"2025-01-01T00:00:00Z","registry":{"@fake/plugin-deep":'
        b'{"description":"deep","topics":' + b"[" * levels + b"]" * levels + b"}}}"
    )


def huge_parts(total: int = HUGE_BYTES) -> tuple[bytes, int, bytes]:
    """(prefix, padding length, suffix) of a valid JSON document of exactly `total` bytes: one entry
    whose description is a very long run of `a`."""
    prefix = b'{"lastUpdatedAt":"2025-01-01T00:00:00Z","registry":{"@fake/plugin-huge":{"description":"'
    suffix = b'"}}}'
    return prefix, total - len(prefix) - len(suffix), suffix


class FakeRegistry:
    """The fake upstream. `url(path)` is what plugind is given; `set(path, behaviour)` switches a path."""

    def __init__(self, generated: Path = GENERATED_SNAPSHOT, index: Path = INDEX_SNAPSHOT, hang_seconds: float = 30.0,
                 port: int = 0):
        if not generated.is_file() or not index.is_file():
            raise FileNotFoundError(
                f"the real registry snapshots are not at {REGISTRY_DATA} (../shared beside the clone)"
            )
        self.generated_bytes = generated.read_bytes()
        self.index_bytes = index.read_bytes()
        self.hang_seconds = hang_seconds
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.reset()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    # --- control --------------------------------------------------------------------------------

    def start(self) -> "FakeRegistry":
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-registry", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()  # let every `hang` go
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> "FakeRegistry":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def urls(self) -> str:
        """The value of `PLUGIND_PLUGIN_REGISTRY_URLS`: the generated registry, then the index."""
        return f"{self.url(GENERATED_PATH)},{self.url(INDEX_PATH)}"

    def reset(self) -> None:
        """Both paths back to the real snapshots, answering normally."""
        self.set(GENERATED_PATH, "ok", body=self.generated_bytes)
        self.set(INDEX_PATH, "ok", body=self.index_bytes)

    def set(self, path: str, behaviour: str, body: bytes | None = None, last_modified: float | None = None,
            delay: float = 0.0) -> None:
        """Switches `path` to `behaviour`. `body` replaces what `ok`/`document` serve (its ETag follows
        it); `last_modified` (a Unix time) sets `Last-Modified` (default: a minute before the body was
        first set); `delay` seconds pass before any answer."""
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        with self._lock:
            current = self._routes.get(path)
            if body is None:
                body = current.body if current else b"{}"
            if last_modified is None and current is not None and current.body == body:
                stamp = current.last_modified
            else:
                stamp = formatdate(last_modified if last_modified is not None else time.time() - 60, usegmt=True)
            self._routes[path] = Route(behaviour, body, _etag(body), stamp, delay)

    def route(self, path: str) -> Route:
        with self._lock:
            return self._routes[path]

    def seen(self, path: str | None = None, since: float = 0.0) -> list[Seen]:
        with self._lock:
            return [s for s in self.requests if (path is None or s.path == path) and s.at >= since]

    # --- serving --------------------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "fake-registry/1"

            def log_message(self, format, *args):  # quiet
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                with fake._lock:
                    route = fake._routes.get(path)
                    seen = Seen(path, route.behaviour if route else "-", None,
                                self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"))
                    fake.requests.append(seen)
                self._seen = seen
                try:
                    seen.status = self._answer(route, seen)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # plugind hung up (a size limit or a timeout): that is the point

            def send_response(self, code, message=None):
                # Recorded before the answer leaves: plugind may act on it (and the test look) before this
                # thread runs again.
                self._seen.status = code
                super().send_response(code, message)

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> int:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return status

            def _answer(self, route: Route | None, seen: Seen) -> int:
                if route is None:
                    return self._send(404, b'{"error":"no such document"}')
                behaviour = route.behaviour
                if route.delay:
                    fake._released.wait(route.delay)
                if behaviour in ("ok", "document"):
                    validators = {"ETag": route.etag, "Last-Modified": route.last_modified}
                    if self._not_modified(route, seen):
                        self.send_response(304)
                        for name, value in validators.items():
                            self.send_header(name, value)
                        self.end_headers()
                        return 304
                    return self._send(200, route.body, validators)
                if behaviour == "404":
                    return self._send(404, b'{"error":"not found"}')
                if behaviour == "500":
                    return self._send(500, b'{"error":"internal server error"}')
                if behaviour == "invalid-json":
                    return self._send(200, b'{"lastUpdatedAt": "2025-01-01", "registry": {"@x/plugin-a": {"npm": ')
                if behaviour == "hang":
                    fake._released.wait(fake.hang_seconds)
                    return self._send(500, b'{"error":"too late"}')
                if behaviour == "huge":
                    prefix, padding, suffix = huge_parts()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(prefix) + padding + len(suffix)))
                    self.end_headers()
                    self.wfile.write(prefix)
                    chunk = b"a" * (1 << 20)
                    left = padding
                    while left > 0:
                        self.wfile.write(chunk[: min(left, len(chunk))])
                        left -= min(left, len(chunk))
                    self.wfile.write(suffix)
                    return 200
                if behaviour == "huge-chunked":
                    prefix, padding, suffix = huge_parts()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()

                    def chunk(data: bytes) -> None:
                        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")

                    chunk(prefix)
                    block = b"a" * (1 << 20)
                    left = padding
                    while left > 0:
                        chunk(block[: min(left, len(block))])
                        left -= min(left, len(block))
                    chunk(suffix)
                    self.wfile.write(b"0\r\n\r\n")
                    return 200
                if behaviour == "deep":
                    return self._send(200, deep_document())
                if behaviour == "wrong-types":
                    return self._send(200, wrong_types_document(fake.generated_bytes))
                raise AssertionError(behaviour)

            @staticmethod
            def _not_modified(route: Route, seen: Seen) -> bool:
                if seen.if_none_match is not None:
                    tags = [t.strip() for t in seen.if_none_match.split(",")]
                    return "*" in tags or route.etag in tags or ("W/" + route.etag) in tags
                if seen.if_modified_since is not None:
                    try:
                        since = parsedate_to_datetime(seen.if_modified_since)
                        modified = parsedate_to_datetime(route.last_modified)
                    except (TypeError, ValueError):
                        return False
                    return modified <= since
                return False

        return Handler
