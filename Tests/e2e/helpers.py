"""Shared helpers of the end-to-end suite: processes we start (and stop by PID), HTTPS sessions
whose every response is checked against docs/openapi.yaml."""

from __future__ import annotations

import http.client
import os
import ssl
import signal
import socket
import stat
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import urlsplit

import requests
import urllib3

from openapi_check import OpenAPIChecker

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO / "docs" / "openapi.yaml"

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)


def plugind_binary() -> Path:
    """The binary under test: $PLUGIND_BINARY, else the debug build."""
    path = Path(os.environ.get("PLUGIND_BINARY") or REPO / ".build" / "debug" / "plugind").resolve()
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"no plugind binary at {path}: run `swift build --product plugind` or set PLUGIND_BINARY"
        )
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def can_connect(path: str | Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


def is_socket(path: str | Path) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def thread_count(pid: int) -> int:
    """plugind's own threads: the main thread and the FastCGI workers. libdispatch's pool threads
    (named like "com.apple.root.default-qos", started lazily and retired when idle) do not count."""
    main = open(f"/proc/{pid}/comm").read().strip()
    count = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            comm = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
        except FileNotFoundError:
            continue
        if comm == main or comm.startswith("fcgi-"):
            count += 1
    return count


def thread_states(pid: int) -> list[str]:
    """Each thread's id, name and kernel wait channel, for assertion messages."""
    out = []
    for tid in sorted(os.listdir(f"/proc/{pid}/task")):
        try:
            comm = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            wchan = open(f"/proc/{pid}/task/{tid}/wchan").read().strip()
        except FileNotFoundError:
            continue
        out.append(f"{tid}:{comm}:{wchan}")
    return out


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        # Reaped between the open and the read: the read fails with ESRCH.
        return False


@dataclass
class Process:
    """A process this suite started. Stopped by its own PID (never by name)."""

    argv: Sequence[str]
    log_path: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    new_session: bool = False
    popen: subprocess.Popen = field(init=False)

    def __post_init__(self) -> None:
        self.log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            list(map(str, self.argv)),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=self.new_session,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def send_signal(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            os.kill(self.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Sends `sig` to the process and waits; SIGKILLs it (and its group when it leads one) after
        the timeout and raises. Returns the exit status."""
        if self.popen.poll() is None:
            os.kill(self.pid, sig)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.argv[0]} (pid {self.pid}) did not exit within {timeout}s of signal {sig}\n{self.output()[-4000:]}"
            ) from None
        finally:
            self.log.close()

    def kill(self) -> None:
        """Last resort for cleanup: SIGKILL the process (its group, if we made one)."""
        if self.popen.poll() is None:
            try:
                if self.new_session:
                    os.killpg(self.pid, signal.SIGKILL)
                else:
                    os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(10)


class CheckedSession(requests.Session):
    """requests.Session for the dev stack: trusts its certificate, sends the token, and holds every
    response to docs/openapi.yaml (a failure raises from the request call)."""

    def __init__(self, base_url: str, checker: OpenAPIChecker, token: str | None = None, ca: str | bool = False):
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.verify = ca
        self.trust_env = False  # no proxies for loopback
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.checker = checker
        self.hooks["response"].append(self._check)

    def _check(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        self.checker.check(
            response.request.method,
            response.request.url,
            response.status_code,
            dict(response.headers),
            response.content,
        )
        return response

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, url, *args, **kwargs)

    def raw(self, method: str, path: str, headers: dict | None = None, data: bytes | None = None,
            timeout: float = 30) -> requests.Response:
        """Sends the request target exactly as written. requests and urllib3 would re-quote it
        (`%2e` → `.`, `%zz` → `%25zz`), so this goes through http.client; the response is checked
        against the spec like every other."""
        parts = urlsplit(self.base_url)
        context = ssl.create_default_context(cafile=self.verify) if isinstance(self.verify, str) else None
        if context is None:
            context = ssl._create_unverified_context()
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
        all_headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization",)}
        all_headers.update(headers or {})
        try:
            connection.request(method, path, body=data, headers=all_headers)
            reply = connection.getresponse()
            content = reply.read()
        finally:
            connection.close()
        response = requests.Response()
        response.status_code = reply.status
        response.reason = reply.reason
        response.headers = requests.structures.CaseInsensitiveDict(reply.getheaders())
        response._content = content
        response.encoding = "utf-8"
        response.url = self.base_url + path
        response.request = requests.Request(method, response.url, headers=all_headers).prepare()
        response.request.url = response.url
        self._check(response)
        return response


def secret_guarded_session(stack, token, secrets):
    """A session of `stack` that fails any response whose body holds one of `secrets` in plain text."""

    def no_secret_leaks(response, *args, **kwargs):
        body = response.content or b""
        for secret in secrets:
            assert secret.encode() not in body, (
                f"{response.request.method} {response.request.url} answered with a plain secret ({secret[:6]}…): {body[:600]!r}"
            )
        return response

    session = stack.client(token)
    session.hooks["response"].append(no_secret_leaks)
    return session


def caught_up_log(stack) -> str:
    """plugind's log once every line logged so far is in it. Lines below warning level reach the file
    in batches a few milliseconds apart, so this asks for a fresh request and waits until that
    request's own line shows: everything logged before it is then on disk too."""
    marker = stack.client().get("/api/health").headers["X-Request-Id"]
    path = stack.stateDir / "logs" / "plugind.log"
    wait_until(lambda: marker in path.read_text(errors="replace"), 10, "plugind's log to catch up")
    return path.read_text(errors="replace")


def expect(response, status: int) -> dict:
    """The JSON body of a response that must have `status`."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: expected {status}, got {response.status_code}: {response.text[:600]}"
    )
    return response.json() if response.content else {}


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, …), from /proc."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:
            continue
        for tid in tasks:
            try:
                children = open(f"/proc/{current}/task/{tid}/children").read().split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            for child in map(int, children):
                out.append(child)
                todo.append(child)
    return out


# --- the installer identity (issue 16) -------------------------------------------------------------

INSTALLER_USER = "plugind-install"


def ensure_user(name: str) -> tuple[int, int]:
    """A system user `scripts/run` would create (it does so itself; a fixture may need it first): (uid, gid)."""
    import pwd
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True, timeout=60)
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def ensure_installer_user() -> None:
    """The user `scripts/run` runs `plugind runner` as."""
    ensure_user(INSTALLER_USER)


def give_to_installer(*paths: Path) -> None:
    """What the installer works on (git fixtures, ejected checkouts a test edited as root) becomes its own again,
    as it would be had the installer user made the edits: git refuses a repository owned by another user."""
    for path in paths:
        if Path(path).exists():
            subprocess.run(["chown", "-R", f"{INSTALLER_USER}:{INSTALLER_USER}", str(path)], check=True, timeout=120)


def let_installer_pass(directory: Path) -> None:
    """The installer may pass through `directory` (a test's 0700 temporary folder) to what it holds."""
    subprocess.run(["setfacl", "-m", f"u:{INSTALLER_USER}:--x", str(directory)], check=True, timeout=30)
