"""A fake agent registry on 127.0.0.1 speaking the protocol of `docs/agent-registry.md`, for the
agent registry end-to-end tests. It follows the reference fake (`Tests/AgentRegistryTests/FakeAgentRegistry.swift`):

    POST /v1/agents                      register  → 201 {agentId: "agt-<n>", secret: "sec_<64 hex>"}
    PUT  /v1/agents/{agentId}            {uri}     → 200 {agentId, uri}        (Bearer secret)
    POST /v1/agents/{agentId}/heartbeat  the state → 200 {ok: true}            (Bearer secret)

`404` for an unknown agent before `401` for a missing or wrong secret, `400` for a body missing a
field, errors as `{"error": "…"}`. It can be told to misbehave (`set(mode, …)`):

| mode        | every call answers                                                                  |
| ----------- | ----------------------------------------------------------------------------------- |
| `normal`    | as the protocol says                                                                |
| `fail`      | `status` (default 500) with an error sentence, and `Retry-After` when given           |
| `slow`      | normally, after sleeping `delay` seconds (released early by `stop()`/`set()`)         |
| `garbage`   | `200` with an HTML page (not a JSON object)                                          |
| `bad-credentials` | registrations answer `201` with a secret too short to be one                   |
| `echo`      | `status` with an error that repeats the `Authorization` header and every secret      |

`forget_all()` drops every agent (their next calls answer `404`); `down()` closes the port (connection
refused) until `up()` opens it again on the same port. Every request is recorded (`requests`:
method, path, headers, parsed body, arrival time, the status answered), and every secret handed out
is kept (`secrets`) so a test can look for it where it must never appear.
"""

from __future__ import annotations

import json
import secrets as random_secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MODES = ("normal", "fail", "slow", "garbage", "bad-credentials", "echo")


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: object  # the parsed JSON, or the raw bytes when it was not JSON
    at: float = field(default_factory=time.monotonic)
    status: int | None = None  # what the fake answered

    @property
    def agent_id(self) -> str | None:
        parts = self.path.split("?")[0].strip("/").split("/")
        return parts[2] if len(parts) >= 3 and parts[:2] == ["v1", "agents"] else None

    @property
    def is_register(self) -> bool:
        return self.method == "POST" and self.path.split("?")[0].rstrip("/") == "/v1/agents"

    @property
    def is_heartbeat(self) -> bool:
        return self.method == "POST" and self.path.split("?")[0].endswith("/heartbeat")

    @property
    def is_update(self) -> bool:
        return self.method == "PUT"


@dataclass
class Agent:
    secret: str
    uri: str
    name: str


def is_http_url(text) -> bool:
    if not isinstance(text, str):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def heartbeat_problem(body) -> str | None:
    """Why a heartbeat (or registration) body does not follow the protocol, or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if not isinstance(body.get("name"), str) or not isinstance(body.get("version"), str):
        return "name and version are required"
    runtime = body.get("runtime")
    if not isinstance(runtime, dict) or not isinstance(runtime.get("state"), str):
        return "runtime.state is required"
    plugins = body.get("plugins")
    if not isinstance(plugins, list):
        return "plugins is required"
    for plugin in plugins:
        if not (isinstance(plugin, dict) and isinstance(plugin.get("name"), str)
                and all(isinstance(plugin.get(k), bool) for k in ("installed", "enabled", "loaded"))
                and (plugin.get("version") is None or isinstance(plugin.get("version"), str))):
            return "each plugin needs name, version, installed, enabled and loaded"
    if body.get("uri") is not None and not is_http_url(body.get("uri")):
        return "uri must be an absolute http(s) URL or null"
    return None


class FakeAgentRegistry:
    """The fake registry. `url` is what plugind is given as `agentRegistryUrl`."""

    def __init__(self, port: int = 0):
        self._lock = threading.Lock()
        self._release = threading.Event()  # wakes every `slow` sleeper
        self.mode = "normal"
        self.status = 500
        self.retry_after: int | None = None
        self.delay = 0.0
        self.agents: dict[str, Agent] = {}
        self.requests: list[Seen] = []
        self.secrets: list[str] = []
        self._counter = 0
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- control --------------------------------------------------------------------------------

    def start(self) -> "FakeAgentRegistry":
        self.up()
        return self

    def up(self) -> None:
        """Listens (again) on the same port."""
        if self._server is not None:
            return
        self._release.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler())
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-agent-registry", daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Closes the port: plugind's calls are refused at connect time."""
        if self._server is None:
            return
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        self._server = None
        self._thread = None

    stop = down

    def __enter__(self) -> "FakeAgentRegistry":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def set(self, mode: str, *, status: int = 500, retry_after: int | None = None, delay: float = 5.0) -> None:
        assert mode in MODES, mode
        with self._lock:
            if self.mode == "slow":
                self._release.set()  # let the sleepers of the previous mode go
            self.mode, self.status, self.retry_after, self.delay = mode, status, retry_after, delay
            if mode == "slow":
                self._release.clear()

    def reset(self) -> None:
        """Back to answering normally (agents, secrets and the record are kept)."""
        self.set("normal")

    def forget_all(self) -> None:
        """The registry loses every agent (a reset database): their next calls answer 404."""
        with self._lock:
            self.agents.clear()

    # --- what it saw ------------------------------------------------------------------------------

    def seen(self, since: float = 0.0, what=None) -> list[Seen]:
        with self._lock:
            out = [r for r in self.requests if r.at >= since]
        return [r for r in out if what is None or what(r)]

    def heartbeats(self, since: float = 0.0, agent_id: str | None = None, accepted: bool | None = None) -> list[Seen]:
        return self.seen(since, lambda r: r.is_heartbeat and (agent_id is None or r.agent_id == agent_id)
                         and (accepted is None or (r.status == 200) == accepted))

    def registrations(self, since: float = 0.0, accepted: bool | None = None) -> list[Seen]:
        return self.seen(since, lambda r: r.is_register and (accepted is None or (r.status in (200, 201)) == accepted))

    def updates(self, since: float = 0.0) -> list[Seen]:
        return self.seen(since, lambda r: r.is_update)

    def agent_ids(self) -> list[str]:
        with self._lock:
            return list(self.agents)

    # --- the protocol -----------------------------------------------------------------------------

    def _answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            mode, status, retry_after, delay = self.mode, self.status, self.retry_after, self.delay
        if mode == "fail":
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return self._json(status, {"error": "the registry is down for maintenance"}, headers)
        if mode == "slow":
            self._release.wait(delay)
        if mode == "garbage":
            return 200, {"Content-Type": "text/html"}, b"<html><body>captive portal</body></html>"
        if mode == "echo":
            with self._lock:
                known = ", ".join(agent.secret for agent in self.agents.values())
            header = seen.headers.get("authorization", "none")
            return self._json(status, {"error": f"token rejected: {header}; known secrets: {known}"})

        path = seen.path.split("?")[0]
        segments = [s for s in path.split("/") if s]
        if len(segments) < 2 or segments[:2] != ["v1", "agents"]:
            return self._error(404, "no such route")
        body = seen.body
        if seen.method == "POST" and len(segments) == 2:
            return self._register(body, bad_credentials=mode == "bad-credentials")
        if seen.method == "PUT" and len(segments) == 3:
            return self._with_agent(segments[2], seen, lambda agent_id: self._update(agent_id, body))
        if seen.method == "POST" and len(segments) == 4 and segments[3] == "heartbeat":
            return self._with_agent(segments[2], seen, lambda agent_id: self._heartbeat(agent_id, body))
        return self._error(405, "method not allowed")

    def _register(self, body, bad_credentials: bool):
        if not isinstance(body, dict):
            return self._error(400, "the body must be a JSON object")
        if not isinstance(body.get("name"), str) or not body["name"]:
            return self._error(400, "name is required")
        if not is_http_url(body.get("uri")):
            return self._error(400, "uri must be an absolute http(s) URL")
        problem = heartbeat_problem(body)
        if problem:
            return self._error(400, problem)
        if bad_credentials:
            return self._json(201, {"agentId": "agt-1", "secret": "short"})
        with self._lock:
            self._counter += 1
            agent_id = f"agt-{self._counter}"
            secret = "sec_" + random_secrets.token_hex(32)
            self.agents[agent_id] = Agent(secret=secret, uri=body["uri"], name=body["name"])
            self.secrets.append(secret)
        return self._json(201, {"agentId": agent_id, "secret": secret})

    def _update(self, agent_id: str, body):
        uri = body.get("uri") if isinstance(body, dict) else None
        if not is_http_url(uri):
            return self._error(400, "uri must be an absolute http(s) URL")
        with self._lock:
            if agent_id in self.agents:
                self.agents[agent_id].uri = uri
        return self._json(200, {"agentId": agent_id, "uri": uri})

    def _heartbeat(self, agent_id: str, body):
        problem = heartbeat_problem(body)
        if problem:
            return self._error(400, problem)
        return self._json(200, {"ok": True})

    def _with_agent(self, agent_id: str, seen: Seen, then):
        with self._lock:
            agent = self.agents.get(agent_id)
        if agent is None:
            return self._error(404, f"no agent {agent_id}")
        if seen.headers.get("authorization") != f"Bearer {agent.secret}":
            return self._error(401, "missing or wrong secret")
        return then(agent_id)

    @staticmethod
    def _json(status: int, value, headers: dict[str, str] | None = None):
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(value).encode()

    @classmethod
    def _error(cls, status: int, message: str):
        return cls._json(status, {"error": message})

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with fake._lock:
                    fake.requests.append(seen)
                status, headers, payload = fake._answer(seen)
                seen.status = status
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # plugind gave up (a timeout)
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        return Handler

