"""Fixtures of the end-to-end suite.

`stack` starts the development stack the way a user does (`scripts/run`, nginx + plugind with TLS
on a free loopback port) once per session and stops it with SIGTERM at the end. Sessions made with
`client()` (and the `anon`, `admin`, `reader` fixtures) check EVERY response they receive against
docs/openapi.yaml; the transport tests check the FastCGI responses they read the same way.
The end of the run prints which (method, path, status) combinations were validated.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import REPO, SPEC_PATH, CheckedSession, Process, free_port, pid_alive, plugind_binary  # noqa: E402
from openapi_check import OpenAPIChecker  # noqa: E402

STACK_TIMEOUT = 120.0
# A secret the stack's plugind is given; no response may ever contain it.
NPM_TOKEN_SECRET = "sekret-value-123"

_checker: OpenAPIChecker | None = None

# Every temporary file of the session, the tests' own and those of every process they start (plugind, npm,
# node, nginx, Chromium, the fakes), goes under one directory that the session removes at its end; nothing
# is left in the system's temp directory. PLUGIND_E2E_KEEP keeps it (its path is printed).
_session_tmp: Path | None = None


def pytest_configure(config):
    global _session_tmp
    if _session_tmp is not None:
        return
    # A short name: unix socket paths under it (STATE/agent/bridge.sock) must stay under 108 bytes. Inside
    # scripts/test's own temporary directory, one level is enough.
    given = os.environ.get("PLUGIND_TEST_TMP")
    _session_tmp = Path(tempfile.mkdtemp(prefix="e2e-", dir=given)) if given else Path(tempfile.mkdtemp(prefix="pe2e-"))
    _session_tmp.chmod(0o1777)  # as /tmp is: the stacks' own users make their files here too
    os.environ["TMPDIR"] = str(_session_tmp)
    tempfile.tempdir = None  # tempfile reads TMPDIR again
    # pytest's own tmp_path right under it: the default (TMPDIR/pytest-of-root/pytest-N/<test name>) made
    # STATE/plugind.sock of a long test name longer than a unix socket path may be. (This hook runs before
    # pytest's tmpdir plugin reads the option.)
    if not config.option.basetemp:
        config.option.basetemp = str(_session_tmp / "b")


def pytest_unconfigure(config):
    if _session_tmp is None:
        return
    if os.environ.get("PLUGIND_E2E_KEEP"):
        print(f"\nthe session's temporary files are kept in {_session_tmp}")
        return
    shutil.rmtree(_session_tmp, ignore_errors=True)


def get_checker() -> OpenAPIChecker:
    global _checker
    if _checker is None:
        _checker = OpenAPIChecker(SPEC_PATH)
    return _checker


@pytest.fixture(scope="session")
def openapi() -> OpenAPIChecker:
    return get_checker()


@dataclass
class Stack:
    url: str
    adminToken: str
    readToken: str
    stateDir: Path
    port: int
    pids: dict
    ca: str | bool

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def client(self, token: str | None = None) -> CheckedSession:
        return CheckedSession(self.url, get_checker(), token=token, ca=self.ca)


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"({path} does not exist)"
    return f"----- {path} (last {lines} lines) -----\n" + "\n".join(text[-lines:])


def _ca_for(cert: Path) -> str | bool:
    """The stack's self-signed certificate is its own CA (names localhost and 127.0.0.1)."""
    return str(cert) if cert.exists() else False


def _run_stack(extra_env: dict[str, str] | None = None, prepare=None, plugind_args=None, state_dir: Path | None = None,
               plugind_may_die: bool = False, examples: bool = False):
    """Starts `scripts/run` on a fresh state directory and a free port, yields the ready `Stack`,
    then stops it with SIGTERM and checks that nothing of it outlives it. `extra_env` is added to
    the environment plugind gets; `prepare(state_dir)` runs before the stack starts (to seed files
    such as the agent config); `plugind_args(state_dir)` returns extra `plugind serve` arguments
    (given to scripts/run after `--`). `state_dir`, when given, is used instead of a fresh one (a
    restart on the state an earlier stack left); it belongs to the caller and is never removed.
    `plugind_may_die`: the test kills plugind itself (a crash), so scripts/run exiting non-zero
    (it stops nginx and exits 1 when plugind dies) is expected rather than a failure. `examples`: the
    stack a newcomer gets, with examples/plugins as the dev agent's plugins and core sets; off, the
    suite's stacks keep Milady's core sets (`--no-examples`)."""
    binary = plugind_binary()
    run_script = REPO / "scripts" / "run"
    deadline = time.monotonic() + STACK_TIMEOUT
    while not os.access(run_script, os.X_OK):  # another helper may still be writing it
        if time.monotonic() > deadline:
            pytest.fail(f"{run_script} does not exist")
        time.sleep(1)

    base = Path(tempfile.mkdtemp(prefix="plugind-e2e-"))
    state = base / "state" if state_dir is None else Path(state_dir)
    if state_dir is not None:
        state.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The earlier stack's run.json: readiness below must come from this start.
        (state / "run.json").unlink(missing_ok=True)
    if prepare is not None:
        state.mkdir(mode=0o700, exist_ok=True)
        prepare(state)
    port = free_port()
    env = dict(os.environ)
    env["PLUGIND_NPM_REGISTRY_TOKEN"] = NPM_TOKEN_SECRET
    env.update(extra_env or {})
    argv = [run_script, "--no-build", "--binary", binary, "--state", state, "--port", str(port)]
    if not examples:
        argv.append("--no-examples")
    if plugind_args is not None:
        argv += ["--", *plugind_args(state)]
    process = Process(
        argv,
        log_path=base / "run.out",
        env=env,
        cwd=REPO,
        new_session=True,  # its own process group: nothing of it outlives the session
    )

    def diagnostics(why: str) -> str:
        return "\n".join(
            [
                f"scripts/run: {why}",
                _tail(base / "run.out", 80),
                _tail(state / "logs" / "plugind.log"),
                _tail(state / "nginx" / "logs" / "error.log"),
            ]
        )

    run_json = state / "run.json"
    info = None
    deadline = time.monotonic() + STACK_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if not process.alive():
                pytest.fail(diagnostics(f"exited with status {process.popen.returncode} before it was ready"))
            if run_json.exists():
                try:
                    candidate = json.loads(run_json.read_text())
                except (json.JSONDecodeError, OSError):
                    candidate = None
                # run.json is first written without pids (tokens only); ready means pids are set.
                if candidate and (candidate.get("pids") or {}).get("plugind"):
                    info = candidate
                    break
            time.sleep(0.2)
        if info is None:
            pytest.fail(diagnostics(f"no ready run.json within {STACK_TIMEOUT:.0f}s"))
    except BaseException:
        process.kill()
        raise

    the_stack = Stack(
        url=info["url"].rstrip("/"),
        adminToken=info["adminToken"],
        readToken=info["readToken"],
        stateDir=Path(info["stateDir"]),
        port=int(info["port"]),
        pids=info["pids"],
        ca=_ca_for(state / "tls" / "cert.pem"),
    )
    failed = True
    try:
        yield the_stack
        failed = False
    finally:
        try:
            status = process.stop(signal.SIGTERM, timeout=60)
        except AssertionError as error:
            pytest.fail(f"scripts/run did not stop on SIGTERM: {error}")
        if status != 0 and not (plugind_may_die and not pid_alive(info["pids"]["plugind"])):
            pytest.fail(diagnostics(f"exited with status {status} after SIGTERM (expected 0)"))
        for name, pid in (info.get("pids") or {}).items():
            if pid and os.path.exists(f"/proc/{pid}") and _not_zombie(pid):
                pytest.fail(f"{name} (pid {pid}) still runs after scripts/run stopped")
        if not failed and not os.environ.get("PLUGIND_E2E_KEEP"):
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def stack() -> Stack:
    yield from _run_stack()


# Milady's own plugins.json (104 entries, `count` 99); CI has ../shared beside the clone.
MILADY_CATALOGUE = (REPO / ".." / "shared" / "data" / "catalogue" / "milady-plugins.json").resolve()
# The agent config the Milady stack starts with: packages named only in the config, so that a short
# id is shared (`discord`: @elizaos/plugin-discord and @acme/plugin-discord) and one is ambiguous
# (`foo`: @x/plugin-foo and @y/plugin-foo, neither from @elizaos/).
MILADY_SEED_CONFIG = {
    "plugins": {
        "entries": {
            "@acme/plugin-discord": {"enabled": False},
            "@x/plugin-foo": {"enabled": False},
            "@y/plugin-foo": {"enabled": False},
        }
    }
}


def _seed_milady_config(state: Path) -> None:
    path = state / "milady.json"
    path.write_text(json.dumps(MILADY_SEED_CONFIG, indent=2) + "\n")
    path.chmod(0o600)


@pytest.fixture(scope="module")
def milady_stack() -> Stack:
    """A second stack with Milady's catalogue (`PLUGIND_CATALOGUE`), no runtime bridge, and the
    agent config `MILADY_SEED_CONFIG` written before plugind first reads it."""
    if not MILADY_CATALOGUE.is_file():
        pytest.fail(f"Milady's catalogue is not at {MILADY_CATALOGUE} (../shared beside the clone)")
    yield from _run_stack(
        {"PLUGIND_CATALOGUE": str(MILADY_CATALOGUE), "PLUGIND_RUNTIME_BRIDGE": "none"},
        prepare=_seed_milady_config,
    )


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.fixture
def anon(stack: Stack) -> CheckedSession:
    with stack.client() as session:
        yield session


@pytest.fixture
def admin(stack: Stack) -> CheckedSession:
    with stack.client(stack.adminToken) as session:
        yield session


@pytest.fixture
def reader(stack: Stack) -> CheckedSession:
    with stack.client(stack.readToken) as session:
        yield session


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _checker is None or not _checker.seen:
        return
    tr = terminalreporter
    tr.section("responses validated against docs/openapi.yaml")
    for (method, template, status), count in sorted(_checker.seen.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
        tr.write_line(f"{method:8} {template:32} {status}  ×{count}")
    exercised = {(m, t, s) for (m, t, s) in _checker.seen}
    exercised |= {("GET", t, s) for (m, t, s) in exercised if m == "HEAD"}
    # The statuses every route shares (gates, nginx, bugs) are left out: only route-specific ones.
    shared = {400, 401, 403, 413, 414, 500, 502, 503, 504, 507}
    missing = sorted(
        (op for op in set(_checker.documented_operations()) - exercised if op[2] not in shared and op[0] != "OPTIONS"),
        key=lambda x: (x[1], x[0], x[2]),
    )
    if missing:
        tr.write_line(f"documented but not exercised ({len(missing)}): " + ", ".join(f"{m} {t} {s}" for m, t, s in missing))
