"""A fake npm registry on 127.0.0.1, for the install end-to-end tests (issue 6).

It serves, under the path prefix `/npm/` (so plugind and npm are given
`http://127.0.0.1:PORT/npm/` as their registry, the way a private registry with a path prefix is):

| path                           | what                                                                 |
| ------------------------------ | -------------------------------------------------------------------- |
| `/npm/<name>`                  | the full packument (`name`, `versions`, `dist-tags`, `time`); a     |
|                                | scoped name as `@scope%2fname`, `@scope%2Fname` or `@scope/name`      |
| `/npm/-/<file>.tgz`            | a tarball, byte for byte as published                                |
| `/npm/-/npm/v1/keys`           | the signing keys (`{keys: [{keyid, keytype, scheme, key, expires}]}`)|
| `/registry/generated-registry.json` | a plugin registry document listing the packages `list()` names  |
| `POST /npm/-/npm/v1/security/advisories/bulk` | npm's bulk advisories: `{name: [versions]}` in, the advisories  |
|                                | `set_advisory()` recorded for those names out (`{}` when none); `set_advisories_behaviour` |

Tarballs are real: `package_tarball()` builds a `package/` tree (package.json, index.js, …) with
Python's tarfile, deterministically (fixed mtimes, owners and gzip header); `publish()` computes the
real `dist.integrity` (`sha512-<base64>`) and `dist.shasum` (sha1 hex), and for signed versions a
real ECDSA P-256 signature (SHA-256, DER, base64) over `<name>@<version>:<integrity>` with the
fake's own key, whose SPKI DER the keys endpoint serves. `hostile_tarball()` builds the archives
plugind must refuse (`../`, absolute paths, links, FIFOs, devices, 20,000 entries, a 1 GiB sparse
or declared entry, …).

Each packument, tarball and the keys endpoint can be switched to misbehave (`set_packument`,
`set_tarball`, `set_keys`): `404`, `500`, `hang` (no answer until `hang_seconds` or `stop()`),
`slow` (the body in pieces with pauses: `slow=(pieces, pause)`), `delay` (the whole answer after
`delay` seconds), `hold` (the normal answer, but only once the test calls `release()`, or after
`hang_seconds`) and, for tarballs, `tamper` (one byte flipped: the integrity no longer matches).
Every request is recorded (`seen()`), with its path and Authorization header.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

PREFIX = "/npm/"
REGISTRY_PATH = "/registry/generated-registry.json"
MTIME = 499162500  # npm pack's fixed mtime (1985-10-26T08:15:00Z)
BEHAVIOURS = ("ok", "404", "500", "hang", "slow", "delay", "hold", "tamper")


# --- tarballs ------------------------------------------------------------------------------------


def _info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    info.mode = mode
    info.mtime = MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.linkname = linkname
    return info


def gzip_bytes(raw: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as gz:
        gz.write(raw)
    return out.getvalue()


def tar_bytes(entries: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    """An uncompressed tar of `entries` ((TarInfo, data or None)), deterministic."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return out.getvalue()


def manifest(name: str, version: str, *, parameters: dict | None = None, dependencies: dict | None = None,
             extra: dict | None = None) -> dict:
    """A plugin's package.json: `main`, `exports`, and `agentConfig.pluginParameters`."""
    document = {
        "name": name,
        "version": version,
        "description": f"Test plugin {name}",
        "main": "index.js",
        "exports": {".": "./index.js", "./package.json": "./package.json"},
        "license": "MIT",
        "agentConfig": {"pluginType": "elizaos:plugin:1.0.0", "pluginParameters": parameters or {}},
    }
    if dependencies:
        document["dependencies"] = dependencies
    document.update(extra or {})
    return document


def package_tarball(name: str, version: str, *, parameters: dict | None = None, dependencies: dict | None = None,
                    files: dict[str, bytes] | None = None, package_json: dict | None = None) -> bytes:
    """A gzipped `package/` tree as `npm pack` makes it: package.json, index.js, README.md, plus `files`."""
    document = package_json if package_json is not None else manifest(name, version, parameters=parameters, dependencies=dependencies)
    tree = {
        "package.json": (json.dumps(document, indent=2) + "\n").encode(),
        "index.js": f"module.exports = {{ name: {json.dumps(name)}, version: {json.dumps(version)} }};\n".encode(),
        "README.md": f"# {name}\n\nversion {version}\n".encode(),
    }
    tree.update(files or {})
    return gzip_bytes(tar_bytes([(_info("package/" + path), data) for path, data in tree.items()]))


def _gnu_sparse_header(name: str, realsize: int, stored: bytes) -> bytes:
    """An old-GNU sparse header (type `S`): one data region of len(stored) bytes at offset 0, and a
    real size of `realsize` (what it unpacks to)."""
    header = bytearray(512)

    def put(offset: int, width: int, value: bytes) -> None:
        header[offset:offset + len(value)] = value[:width]

    def octal(value: int, width: int) -> bytes:
        return (b"%0*o" % (width - 1, value)) + b"\0"

    put(0, 100, name.encode())
    put(100, 8, octal(0o644, 8))
    put(108, 8, octal(0, 8))
    put(116, 8, octal(0, 8))
    put(124, 12, octal(len(stored), 12))
    put(136, 12, octal(MTIME, 12))
    header[156:157] = b"S"
    put(257, 8, b"ustar  \0")  # the old GNU magic
    # The sparse map: (offset, numbytes) pairs of 12 bytes each, from 386; isextended at 482; realsize at 483.
    put(386, 12, octal(0, 12))
    put(398, 12, octal(len(stored), 12))
    header[482] = 0
    put(483, 12, octal(realsize, 12))
    header[148:156] = b" " * 8
    checksum = sum(header)
    header[148:156] = b"%06o\0 " % checksum
    return bytes(header)


def _declared_header(name: str, size: int) -> bytes:
    """A ustar header for a regular file declaring `size` bytes (its data never follows)."""
    info = _info(name, size=size)
    return info.tobuf(format=tarfile.USTAR_FORMAT)


HOSTILE_KINDS = (
    "dotdot", "absolute", "outside", "symlink", "hardlink", "fifo", "chardev", "many-entries",
    "sparse-1g", "declared-1g", "pax-sparse-1g", "other-name", "duplicate-package-json",
)


def hostile_tarball(kind: str, name: str, version: str) -> bytes:
    """A tarball with a valid `package/package.json` for name@version first (so only the hostile part
    is at fault), then the hostile entry."""
    good = (json.dumps(manifest(name, version), indent=2) + "\n").encode()
    first = [(_info("package/package.json"), good), (_info("package/index.js"), b"module.exports = {};\n")]
    if kind == "dotdot":
        return gzip_bytes(tar_bytes(first + [(_info("package/../../evil.js"), b"owned\n")]))
    if kind == "absolute":
        return gzip_bytes(tar_bytes(first + [(_info("/tmp/plugind-e2e-evil.js"), b"owned\n")]))
    if kind == "outside":
        return gzip_bytes(tar_bytes(first + [(_info("elsewhere/evil.js"), b"owned\n")]))
    if kind == "symlink":
        return gzip_bytes(tar_bytes(first + [(_info("package/link", kind=tarfile.SYMTYPE, mode=0o777, linkname="/etc/passwd"), None)]))
    if kind == "hardlink":
        return gzip_bytes(tar_bytes(first + [(_info("package/hard.js", kind=tarfile.LNKTYPE, linkname="package/index.js"), None)]))
    if kind == "fifo":
        return gzip_bytes(tar_bytes(first + [(_info("package/fifo", kind=tarfile.FIFOTYPE), None)]))
    if kind == "chardev":
        info = _info("package/null", kind=tarfile.CHRTYPE)
        info.devmajor, info.devminor = 1, 3
        return gzip_bytes(tar_bytes(first + [(info, None)]))
    if kind == "many-entries":
        entries = first + [(_info(f"package/f/{i:05d}.js"), b"") for i in range(20_000)]
        return gzip_bytes(tar_bytes(entries))
    if kind == "sparse-1g":
        raw = _strip_end(tar_bytes(first))
        stored = b"x" * 512
        raw += _gnu_sparse_header("package/sparse.bin", 1 << 30, stored) + stored + b"\0" * 1024
        return gzip_bytes(raw)
    if kind == "declared-1g":
        # A header claiming 1 GiB, and the archive ends soon after: the size alone must refuse it.
        raw = _strip_end(tar_bytes(first)) + _declared_header("package/huge.bin", 1 << 30) + b"\0" * 4096
        return gzip_bytes(raw)
    if kind == "pax-sparse-1g":
        # GNU sparse format 1.0 in pax records: a small stored file that claims to unpack to 1 GiB.
        info = _info("package/GNUSparseFile.0/sparse.bin")
        info.pax_headers = {
            "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "package/sparse.bin",
            "GNU.sparse.realsize": str(1 << 30),
        }
        sparse_map = b"1\n0\n512\n".ljust(512, b"\0") + b"x" * 512
        return gzip_bytes(tar_bytes(first + [(info, sparse_map)], fmt=tarfile.PAX_FORMAT))
    if kind == "other-name":
        other = (json.dumps(manifest("left-pad", version), indent=2) + "\n").encode()
        return gzip_bytes(tar_bytes([(_info("package/package.json"), other), (_info("package/index.js"), b"1;\n")]))
    if kind == "duplicate-package-json":
        # Node's tar extracts both: the second one wins on disk.
        other = (json.dumps(manifest("left-pad", version), indent=2) + "\n").encode()
        return gzip_bytes(tar_bytes(first + [(_info("package/package.json"), other)]))
    raise ValueError(kind)


def _strip_end(raw: bytes) -> bytes:
    """A tar without its end-of-archive blocks (and the record padding), to append entries by hand."""
    offset = 0
    while offset + 512 <= len(raw):
        block = raw[offset:offset + 512]
        if block == b"\0" * 512:
            return raw[:offset]
        size = int(block[124:136].rstrip(b"\0 ") or b"0", 8)
        offset += 512 + (size + 511) // 512 * 512
    return raw


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def shasum_of(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# --- signing -------------------------------------------------------------------------------------


class SigningKey:
    """A P-256 key as npm's registry publishes it: keyid `SHA256:<base64 of the SPKI digest>`."""

    def __init__(self, expires: str | None = None):
        self.private = ec.generate_private_key(ec.SECP256R1())
        der = self.private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.spki = base64.b64encode(der).decode()
        self.keyid = "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
        self.expires = expires

    def sign(self, message: str) -> str:
        return base64.b64encode(self.private.sign(message.encode(), ec.ECDSA(hashes.SHA256()))).decode()

    def document(self) -> dict:
        return {"expires": self.expires, "keyid": self.keyid, "keytype": "ecdsa-sha2-nistp256",
                "scheme": "ecdsa-sha2-nistp256", "key": self.spki}


# --- the registry --------------------------------------------------------------------------------


@dataclass
class Published:
    name: str
    version: str
    tarball: bytes
    filename: str
    integrity: str
    shasum: str
    manifest: dict
    signatures: list[dict] = field(default_factory=list)
    published_at: str = ""
    deprecated: str | None = None
    tarball_url: str | None = None  # instead of the fake's own URL
    publish_integrity: bool = True  # False: only `shasum` is published


@dataclass
class Behaviour:
    kind: str = "ok"
    pieces: int = 1
    pause: float = 0.0
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    authorization: str | None
    accept: str | None
    at: float = field(default_factory=time.monotonic)


class FakeNpm:
    """The fake registry. `base` is what plugind and npm are given; `publish()` adds a version."""

    def __init__(self, hang_seconds: float = 60.0):
        self.hang_seconds = hang_seconds
        self.key = SigningKey()
        self.other_key = SigningKey()  # signs "unknown-key" versions; never published
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._held = threading.Event()  # set: `hold` answers go out
        self._held.set()
        self._packages: dict[str, dict[str, Published]] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._tarballs: dict[str, Published] = {}
        self._packument_behaviour: dict[str, Behaviour] = {}
        self._tarball_behaviour: dict[str, Behaviour] = {}
        self._keys_behaviour = Behaviour()
        self._listed: dict[str, dict] = {}
        self._advisories: dict[str, list[dict]] = {}
        self.extra_registry: dict[str, dict] = {}  # more registry entries (a real snapshot's), listed as they are
        self._advisories_behaviour = Behaviour()
        self.advisory_requests: list[dict] = []
        self._clock = 1_700_000_000
        self.requests: list[Seen] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> "FakeNpm":
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-npm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._held.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> "FakeNpm":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    @property
    def registry_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{REGISTRY_PATH}"

    # --- publishing -----------------------------------------------------------------------------

    def _next_time(self) -> str:
        with self._lock:
            self._clock += 3600
            stamp = self._clock
        return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(stamp))

    def publish(self, name: str, version: str, tarball: bytes | None = None, *, parameters: dict | None = None,
                dependencies: dict | None = None, files: dict[str, bytes] | None = None, sign: str | None = None,
                tag: str | None = "latest", deprecated: str | None = None, published_at: str | None = None,
                tarball_url: str | None = None, publish_integrity: bool = True, extra: dict | None = None,
                packument_extra: dict | None = None) -> Published:
        """Adds name@version. `tarball` defaults to `package_tarball(...)`. `sign`: None (unsigned),
        `good`, `bad` (a valid signature over another message), `unknown-key` (signed by a key the
        registry does not publish). `tag` moves that dist-tag to this version (None: no tag).
        `tarball_url` replaces `dist.tarball`; `publish_integrity=False` publishes only `dist.shasum`.
        `extra` adds fields to the package.json, in the tarball and the packument alike (`peerDependencies`,
        `bundleDependencies`, …); `packument_extra` only to the packument (`_hasShrinkwrap`, as the registry adds it)."""
        document = manifest(name, version, parameters=parameters, dependencies=dependencies, extra=extra)
        if tarball is None:
            tarball = package_tarball(name, version, files=files, package_json=document)
        integrity = integrity_of(tarball)
        short = name.split("/")[-1]
        filename = f"{name.replace('/', '-').lstrip('@')}-{version}.tgz" if name.startswith("@") else f"{short}-{version}.tgz"
        document = {**document, **(packument_extra or {})}
        published = Published(name, version, tarball, filename, integrity, shasum_of(tarball), document,
                              published_at=published_at or self._next_time(), deprecated=deprecated,
                              tarball_url=tarball_url, publish_integrity=publish_integrity)
        if sign == "good":
            published.signatures = [{"keyid": self.key.keyid, "sig": self.key.sign(f"{name}@{version}:{integrity}")}]
        elif sign == "bad":
            published.signatures = [{"keyid": self.key.keyid, "sig": self.key.sign(f"{name}@{version}:sha512-forged")}]
        elif sign == "unknown-key":
            published.signatures = [{"keyid": self.other_key.keyid, "sig": self.other_key.sign(f"{name}@{version}:{integrity}")}]
        elif sign is not None:
            raise ValueError(sign)
        with self._lock:
            self._packages.setdefault(name, {})[version] = published
            self._tarballs[filename] = published
            if tag is not None:
                self._tags.setdefault(name, {})[tag] = version
            else:
                self._tags.setdefault(name, {})
        return published

    def set_tags(self, name: str, tags: dict[str, str]) -> None:
        with self._lock:
            self._tags[name] = dict(tags)

    def packument(self, name: str) -> dict | None:
        with self._lock:
            versions = self._packages.get(name)
            if versions is None:
                return None
            tags = dict(self._tags.get(name, {}))
            items = list(versions.values())
        document_versions = {}
        times = {"created": items[0].published_at, "modified": items[-1].published_at}
        for item in items:
            entry = dict(item.manifest)
            entry["_id"] = f"{item.name}@{item.version}"
            dist = {"shasum": item.shasum, "tarball": item.tarball_url or self.tarball_url(item)}
            if item.publish_integrity:
                dist["integrity"] = item.integrity
            if item.signatures:
                dist["signatures"] = item.signatures
            entry["dist"] = dist
            if item.deprecated:
                entry["deprecated"] = item.deprecated
            document_versions[item.version] = entry
            times[item.version] = item.published_at
        return {"_id": name, "name": name, "dist-tags": tags, "versions": document_versions, "time": times}

    def tarball_url(self, item: Published) -> str:
        return f"{self.base}{item.name}/-/{item.filename}"

    def get(self, name: str, version: str) -> Published:
        with self._lock:
            return self._packages[name][version]

    # --- behaviours -----------------------------------------------------------------------------

    @staticmethod
    def _behaviour(kind: str, slow: tuple[int, float] | None, delay: float) -> Behaviour:
        if kind not in BEHAVIOURS:
            raise ValueError(kind)
        pieces, pause = slow or (1, 0.0)
        return Behaviour(kind, pieces, pause, delay)

    def release(self) -> None:
        """Lets every `hold` answer go out (those waiting and those to come)."""
        self._held.set()

    def set_packument(self, name: str, kind: str = "ok", *, slow: tuple[int, float] | None = None, delay: float = 0.0) -> None:
        with self._lock:
            self._packument_behaviour[name] = self._behaviour(kind, slow, delay)

    def set_tarball(self, name: str, version: str, kind: str = "ok", *, slow: tuple[int, float] | None = None,
                    delay: float = 0.0) -> None:
        filename = self.get(name, version).filename
        with self._lock:
            self._tarball_behaviour[filename] = self._behaviour(kind, slow, delay)
            if kind == "hold":
                self._held.clear()

    def set_keys(self, kind: str = "ok", expires: str | None = None) -> None:
        """How the keys endpoint answers, and the `expires` of the key it publishes."""
        with self._lock:
            self._keys_behaviour = self._behaviour(kind, None, 0.0)
            self.key.expires = expires

    def reset(self) -> None:
        """Every path answers normally again."""
        self._held.set()
        with self._lock:
            self._packument_behaviour.clear()
            self._tarball_behaviour.clear()
            self._keys_behaviour = Behaviour()
            self._advisories_behaviour = Behaviour()
            self.key.expires = None

    def seen(self, contains: str = "", since: float = 0.0) -> list[Seen]:
        with self._lock:
            return [s for s in self.requests if contains in s.path and s.at >= since]

    # --- the plugin registry document ----------------------------------------------------------

    # --- security advisories ----------------------------------------------------------------------

    def set_advisory(self, name: str, vulnerable_versions: str, severity: str, title: str) -> None:
        """Adds an advisory for `name` (npm's bulk format: id, url, title, severity, vulnerable_versions)."""
        with self._lock:
            items = self._advisories.setdefault(name, [])
            items.append({"id": 1000 + len(items), "url": f"https://github.com/advisories/GHSA-fake-{len(items)}",
                          "title": title, "severity": severity, "vulnerable_versions": vulnerable_versions,
                          "cwe": [], "cvss": {"score": 0, "vectorString": None}})

    def set_advisories_behaviour(self, kind: str = "ok") -> None:
        with self._lock:
            self._advisories_behaviour = self._behaviour(kind, None, 0.0)

    def _bulk_advisories(self, asked: dict) -> bytes:
        with self._lock:
            self.advisory_requests.append(asked)
            return json.dumps({name: self._advisories[name] for name in asked if name in self._advisories}).encode()

    # --- the plugin registry document ----------------------------------------------------------

    def list(self, name: str, version: str, description: str = "", core_range: str | None = None) -> None:
        """Lists `name` in the plugin registry document with `version` as its v1 channel version (and
        `core_range` as its `v1CoreRange`)."""
        short = name.split("/")[-1]
        with self._lock:
            self._listed[name] = {
                "git": {"repo": f"fake-org/{short}", "v1": {"version": f"v{version}", "branch": "main"}},
                "npm": {"repo": name, "v1": version, "v1CoreRange": core_range},
                "supports": {"v0": False, "v1": True, "v2": False},
                "description": description or f"Test plugin {name}",
            }

    def registry_document(self) -> bytes:
        with self._lock:
            return json.dumps({"lastUpdatedAt": "2026-01-01T00:00:00.000Z", "registry": {**self.extra_registry, **self._listed}}).encode()

    # --- serving --------------------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "fake-npm/1"

            def log_message(self, format, *args):
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                with fake._lock:
                    fake.requests.append(Seen(path, self.headers.get("Authorization"), self.headers.get("Accept")))
                try:
                    self._route(path)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_POST(self):
                path = self.path.split("?", 1)[0]
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.requests.append(Seen(path, self.headers.get("Authorization"), self.headers.get("Accept")))
                    behaviour = fake._advisories_behaviour
                try:
                    if path != PREFIX + "-/npm/v1/security/advisories/bulk":
                        return self._send(404, b'{"error":"Not found"}')
                    try:
                        asked = json.loads(raw or b"{}")
                    except ValueError:
                        return self._send(400, b'{"error":"bad json"}')
                    return self._send(200, fake._bulk_advisories(asked), behaviour=behaviour)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json", behaviour: Behaviour | None = None) -> None:
                behaviour = behaviour or Behaviour()
                if behaviour.delay:
                    fake._released.wait(behaviour.delay)
                if behaviour.kind == "hold":
                    fake._held.wait(fake.hang_seconds)
                if behaviour.kind == "hang":
                    fake._released.wait(fake.hang_seconds)
                    status, body = 503, b'{"error":"too late"}'
                elif behaviour.kind == "404":
                    status, body = 404, b'{"error":"Not found"}'
                elif behaviour.kind == "500":
                    status, body = 500, b'{"error":"internal server error"}'
                elif behaviour.kind == "tamper" and status == 200:
                    body = bytearray(body)
                    body[len(body) // 2] ^= 0xFF
                    body = bytes(body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                if behaviour.kind == "slow" and behaviour.pieces > 1:
                    size = max(1, -(-len(body) // behaviour.pieces))
                    for offset in range(0, len(body), size):
                        self.wfile.write(body[offset:offset + size])
                        self.wfile.flush()
                        if offset + size < len(body):
                            fake._released.wait(behaviour.pause)
                else:
                    self.wfile.write(body)

            def _route(self, path: str) -> None:
                if path == REGISTRY_PATH:
                    return self._send(200, fake.registry_document())
                if not path.startswith(PREFIX):
                    return self._send(404, b'{"error":"Not found"}')
                rest = path[len(PREFIX):]
                if rest == "-/npm/v1/keys":
                    with fake._lock:
                        behaviour = fake._keys_behaviour
                    body = json.dumps({"keys": [fake.key.document()]}).encode()
                    return self._send(200, body, behaviour=behaviour)
                if "/-/" in rest or rest.startswith("-/"):
                    filename = rest.rsplit("/", 1)[-1]
                    with fake._lock:
                        item = fake._tarballs.get(filename)
                        behaviour = fake._tarball_behaviour.get(filename, Behaviour())
                    if item is None:
                        return self._send(404, b'{"error":"Not found"}')
                    return self._send(200, item.tarball, "application/octet-stream", behaviour)
                name = unquote(rest)  # @scope%2fname, @scope%2Fname and @scope/name alike
                with fake._lock:
                    behaviour = fake._packument_behaviour.get(name, Behaviour())
                document = fake.packument(name)
                if document is None:
                    return self._send(404, b'{"error":"Not found"}', behaviour=behaviour)
                return self._send(200, json.dumps(document).encode(), behaviour=behaviour)

        return Handler
