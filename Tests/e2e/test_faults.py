"""Faults (issue 10): plugind killed mid-write and mid-install, a full disk, a config edited by hand
or not strict JSON, and every upstream down at once.

Most tests run plugind themselves (`plugind serve --state-dir D --socket D/s.sock`) and talk FastCGI
to it with fcgi_client.py, so a SIGKILL is plugind's alone (scripts/run would stop nginx when plugind
dies) and a restart costs a fifth of a second. Every FastCGI response is still held to
docs/openapi.yaml. The upstreams test runs the whole stack through nginx (conftest's `_run_stack`).

The kill moments come from a seeded random generator (PLUGIND_FAULT_SEED, default fixed), so a run
is repeatable; PLUGIND_FAULT_ROUNDS raises the number of kills for a longer soak.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fcgi_client as fcgi  # noqa: E402
from conftest import _run_stack, get_checker  # noqa: E402
from helpers import Process, can_connect, descendants, is_socket, plugind_binary, wait_until  # noqa: E402

SEED = int(os.environ.get("PLUGIND_FAULT_SEED", "20261129"))
ROUNDS = int(os.environ.get("PLUGIND_FAULT_ROUNDS", "30"))
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there, connections are refused at once

# The plugin whose settings the writes change: two plain string parameters of the bundled catalogue.
PLUGIN = "matrix"
KEY_A, KEY_B = "MATRIX_USER_ID", "MATRIX_DEVICE_ID"

# What a person wrote into the agent config: keys plugind does not own, with number literals that a
# dictionary round trip would change. Every write must keep them byte for byte.
HAND_WRITTEN = (
    '{\n  "agent": {"name": "Eliza", "temperature": 0.70, "big": 12345678901234567890, "ratio": 1e3},\n'
    '  "env": {"OTHER_SETTING": "kept"}\n}\n'
)
LITERALS = ("0.70", "12345678901234567890", "1e3")


def temp_files(directory: Path, config: Path) -> list[str]:
    """What an interrupted atomic write of `config` can leave beside it (`.<name>.tmp-*`, `<name>.tmp*`)."""
    name = config.name
    return sorted(entry for entry in os.listdir(directory)
                  if entry.startswith(f".{name}.tmp") or entry.startswith(f"{name}.tmp"))


def integrity(db: Path) -> str:
    result = subprocess.run(["sqlite3", str(db), "PRAGMA integrity_check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"sqlite3 failed: {result.stderr}"
    return result.stdout.strip()


# --- plugind run directly ------------------------------------------------------------------------


@dataclass
class Plugind:
    """plugind serving FastCGI on `state/s.sock`, started and killed by this test (by PID)."""

    state: Path
    env: dict[str, str]
    args: list[str] = field(default_factory=list)
    process: Process | None = None
    token: str = ""

    @property
    def sock(self) -> Path:
        return self.state / "s.sock"

    @property
    def config(self) -> Path:
        return self.state / "milady.json"

    def make_token(self) -> str:
        result = subprocess.run([str(plugind_binary()), "token", "create", "--role", "admin", "--state-dir", str(self.state)],
                                capture_output=True, text=True, timeout=60, env=self.full_env())
        assert result.returncode == 0, result.stderr
        self.token = result.stdout.strip()
        return self.token

    def full_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGIND_", "LISTEN_"))}
        env.update({
            "PLUGIND_RUNTIME_BRIDGE": "none",
            "PLUGIND_PLUGIN_REGISTRY_URLS": f"{CLOSED}/generated-registry.json",
            "PLUGIND_NPM_REGISTRY": f"{CLOSED}/npm/",
            "PLUGIND_AGENT_REGISTRY_URL": CLOSED,
            "PLUGIND_GIT_BASE_URL": "file:///nonexistent/",
            "PLUGIND_TIMEOUT_CONNECT_MS": "1000",
            "PLUGIND_TIMEOUT_FETCH_MS": "3000",
        })
        env.update(self.env)
        return env

    def start(self, timeout: float = 20.0) -> "Plugind":
        if not self.token:
            self.make_token()
        self.process = Process(
            [plugind_binary(), "serve", "--state-dir", self.state, "--socket", self.sock, *self.args],
            log_path=self.state.parent / f"{self.state.name}.plugind.log", env=self.full_env())

        def ready() -> bool:
            if not self.process.alive():
                raise AssertionError(f"plugind exited early ({self.process.popen.returncode}):\n{self.process.output()[-3000:]}")
            if not (is_socket(self.sock) and can_connect(self.sock)):
                return False
            with contextlib.suppress(OSError, fcgi.FastCGIError):
                return self.request("GET", "/api/health", token=None).status in (200, 503)
            return False

        wait_until(ready, timeout, "plugind to answer GET /api/health", interval=0.01)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL plugind, then whatever it had started (npm and git run in their own process groups)."""
        if self.process is None:
            return
        children = descendants(self.pid)
        self.process.send_signal(signal.SIGKILL)
        self.process.popen.wait(10)
        for child in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getpgid(child) == child:
                    os.killpg(child, signal.SIGKILL)
                else:
                    os.kill(child, signal.SIGKILL)
        self.process.log.close()
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(signal.SIGTERM, timeout=30)
            self.process = None

    def request(self, method: str, uri: str, body: object = None, token: str | None | bool = True,
                timeout: float = 30.0, headers: dict | None = None, check: bool = True) -> fcgi.CGIResponse:
        all_headers = dict(headers or {})
        if token is True:
            token = self.token
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        response = fcgi.request(str(self.sock), method, uri, headers=all_headers, body=data, timeout=timeout)
        if check:
            get_checker().check(method, uri, response.status, response.header_map, response.body)
        return response

    def json(self, method: str, uri: str, body: object = None, **kwargs) -> tuple[int, dict]:
        response = self.request(method, uri, body, **kwargs)
        return response.status, json.loads(response.body or b"null")


@pytest.fixture
def base_dir():
    base = Path(tempfile.mkdtemp(prefix="pld-f-"))  # short: unix socket paths are limited
    yield base
    if not os.environ.get("PLUGIND_E2E_KEEP"):
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def plugind_factory(base_dir):
    started: list[Plugind] = []

    def make(state: Path | None = None, env: dict | None = None, args: list[str] | None = None) -> Plugind:
        state = state or base_dir / "state"
        state.mkdir(mode=0o700, parents=True, exist_ok=True)
        instance = Plugind(state, dict(env or {}), list(args or []))
        started.append(instance)
        return instance

    yield make
    for instance in started:
        with contextlib.suppress(Exception):
            instance.kill()


def put_plugin(plugind: Plugind, body: dict, **kwargs) -> fcgi.CGIResponse:
    return plugind.request("PUT", f"/api/plugins/{PLUGIN}", body, **kwargs)


def write_body(n: int) -> dict:
    """Write number n: both keys to the same value, and `enabled` by its parity."""
    return {"enabled": n % 2 == 0, "config": {KEY_A: f"v{n}", KEY_B: f"v{n}"}}


def written_state(config: Path) -> int | None:
    """Which write the file holds (None: none yet); fails when the file is not JSON or mixes two writes."""
    raw = config.read_bytes()
    document = json.loads(raw)  # raises on a torn or half-written file
    for literal in LITERALS:
        assert literal.encode() in raw, f"the hand-written literal {literal} was lost:\n{raw.decode()}"
    assert document["agent"]["name"] == "Eliza" and document["env"]["OTHER_SETTING"] == "kept", raw.decode()
    env = document.get("env", {})
    a, b = env.get(KEY_A), env.get(KEY_B)
    if a is None and b is None:
        return None
    assert a == b, f"the file mixes two writes: {KEY_A}={a!r}, {KEY_B}={b!r}"
    n = int(a[1:])
    enabled = document.get("plugins", {}).get("entries", {}).get(PLUGIN, {}).get("enabled")
    # No entry means disabled (the one enabled rule): a write of `false` over an absent entry changes nothing.
    assert (enabled or False) == (n % 2 == 0), f"write {n}: {KEY_A} is from it but enabled is {enabled!r}"
    return n


# --- SIGKILL during agent-config writes ---------------------------------------------------------


def test_sigkill_during_agent_config_writes_leaves_the_old_or_the_new_state(plugind_factory):
    """Many PUTs in a row while plugind is SIGKILLed at random moments: after each kill the agent
    config parses, holds the last acknowledged write or the one in flight (never a mix), keeps the
    hand-written keys; the database passes its integrity check; after each restart no temp file of
    an interrupted write is left beside the config."""
    rng = random.Random(SEED)
    plugind = plugind_factory()
    plugind.config.write_text(HAND_WRITTEN)
    plugind.config.chmod(0o600)
    counter = 0
    stats = {"kills": 0, "in_flight": 0, "temp_after_kill": 0, "writes": 0}
    problems: list[str] = []
    for round_ in range(ROUNDS):
        plugind.start()
        acknowledged = written_state(plugind.config)
        in_flight: list[int] = []
        stop = threading.Event()

        def writer() -> None:
            nonlocal counter, acknowledged
            while not stop.is_set():
                counter += 1
                n = counter
                in_flight.append(n)
                try:
                    response = put_plugin(plugind, write_body(n), timeout=10)
                except (OSError, fcgi.FastCGIError, TimeoutError):
                    return  # plugind died under the request
                if response.status != 200:
                    problems.append(f"write {n}: {response.status} {response.body[:300]!r}")
                    return
                acknowledged = n
                in_flight.remove(n)
                stats["writes"] += 1

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        time.sleep(rng.uniform(0.002, 0.15))
        plugind.kill()
        stop.set()
        thread.join(15)
        assert not thread.is_alive(), "the writer did not notice plugind's death"
        stats["kills"] += 1
        stats["in_flight"] += bool(in_flight)
        left = temp_files(plugind.state, plugind.config)
        stats["temp_after_kill"] += bool(left)
        try:
            held = written_state(plugind.config)
        except (ValueError, AssertionError) as error:
            pytest.fail(f"round {round_}: after SIGKILL the agent config is broken: {error}")
        allowed = {acknowledged, *in_flight}
        assert held in allowed, f"round {round_}: the file holds write {held}, expected one of {sorted(map(str, allowed))}"
        check = integrity(plugind.state / "state.db")
        assert check == "ok", f"round {round_}: PRAGMA integrity_check says {check!r}"
    plugind.start()
    leftover = temp_files(plugind.state, plugind.config)
    if leftover:
        problems.append(f"after {ROUNDS} kills and restarts, temp files of interrupted writes remain beside the config "
                        f"(start-up does not remove them): {leftover}")
    held = written_state(plugind.config)
    if held is not None:
        status, body = plugind.json("GET", f"/api/plugins/{PLUGIN}")
        values = {p["key"]: p["currentValue"] for p in body["plugin"]["parameters"]}
        assert values[KEY_A] == values[KEY_B] == f"v{held}", values
    plugind.stop()
    print(f"\nconfig writes under SIGKILL: {stats} (seed {SEED})")
    assert stats["writes"] > ROUNDS, f"too few writes were acknowledged to mean anything: {stats}"
    assert not problems, "\n".join(problems)


def test_a_temp_file_a_killed_write_left_is_removed_at_the_next_start(plugind_factory):
    """The deterministic form of the window above: a SIGKILL between creating the temp file and the
    rename leaves `.milady.json.tmp-<pid>-<n>` (mode 0600, the full config: secrets included). The
    next start must remove it (its writer's pid is dead), and must not touch the config itself."""
    plugind = plugind_factory()
    plugind.config.write_text(HAND_WRITTEN)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = plugind.state / f".milady.json.tmp-{dead.pid}-12345"
    stale.write_text('{"env": {"OLD_SECRET": "sk-a-secret-that-was-rotated"}}')
    stale.chmod(0o600)
    plugind.start()
    assert plugind.config.read_text() == HAND_WRITTEN
    assert temp_files(plugind.state, plugind.config) == [], \
        "a temp file left by a killed write (holding an old copy of the config and its secrets) survives the restart"


# --- SIGKILL during an install -----------------------------------------------------------------


INSTALL_NAME = "@e2e-fault/plugin-killed"


def noise(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture(scope="module")
def fake_npm():
    fake_npm = pytest.importorskip("fake_npm")
    with fake_npm.FakeNpm(hang_seconds=60) as fake:
        for i, version in enumerate(("1.0.0", "2.0.0")):
            fake.publish(INSTALL_NAME, version, files={"blob.bin": noise(i, 512 << 10)}, tag=None)
        fake.set_tags(INSTALL_NAME, {"latest": "2.0.0"})
        fake.list(INSTALL_NAME, "2.0.0")
        yield fake


def installed_version(state: Path) -> str | None:
    directory = state / "plugins" / "installed" / re.sub(r"[^A-Za-z0-9._-]", "_", INSTALL_NAME)
    manifest = directory / "node_modules" / INSTALL_NAME / "package.json"
    if not directory.exists():
        return None
    return json.loads(manifest.read_text())["version"]


def install_leftovers(state: Path) -> list[str]:
    found = []
    for sub in ("plugins/.staging", "plugins/.aside", "tmp"):
        directory = state / sub
        if directory.exists():
            found += [f"{sub}/{entry}" for entry in os.listdir(directory)]
    return found


def test_sigkill_during_an_install_settles_the_operation_and_the_tree(plugind_factory, fake_npm):
    """Upgrades and downgrades between 1.0.0 and 2.0.0, each SIGKILLed while it is downloading or
    while npm installs: after the restart the operation is failed or succeeded, the install root
    holds exactly the version the agent config records (the old one unless the commit happened),
    and no staging folder, set-aside tree or download is left."""
    shutil.which("npm") or pytest.fail("npm is not installed")
    rng = random.Random(SEED + 1)
    plugind = plugind_factory(env={
        "PLUGIND_NPM_REGISTRY": fake_npm.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake_npm.registry_url,
        "PLUGIND_TIMEOUT_TARBALL_MS": "60000", "PLUGIND_TIMEOUT_TARBALL_IDLE_MS": "20000", "PLUGIND_TIMEOUT_NPM_MS": "120000",
    })
    plugind.start()
    wait_until(lambda: plugind.request("GET", "/api/registry/plugins?limit=1").status == 200, 20, "the registry snapshot")
    status, body = plugind.json("POST", "/api/plugins/install", {"name": INSTALL_NAME, "version": "1.0.0"}, timeout=180)
    assert status == 200, body
    current = "1.0.0"
    outcomes = []
    for round_, phase in enumerate(["downloading", "installing", "downloading", "installing"]):
        other = "2.0.0" if current == "1.0.0" else "1.0.0"
        # Downloads crawl (8 pieces, 0.15 s apart), so the kill lands inside the phase it aims at.
        fake_npm.set_tarball(INSTALL_NAME, other, "slow" if phase == "downloading" else "ok", slow=(8, 0.15))
        op = str(uuid.uuid4())

        def post() -> None:
            with contextlib.suppress(OSError, fcgi.FastCGIError, TimeoutError):
                plugind.request("POST", "/api/plugins/install", {"name": INSTALL_NAME, "version": other}, timeout=180,
                                headers={"X-Operation-Id": op}, check=False)

        thread = threading.Thread(target=post, daemon=True)
        thread.start()

        def reached() -> bool:
            response = plugind.request("GET", f"/api/operations/{op}")
            if response.status != 200:
                return False
            record = json.loads(response.body)["operation"]
            assert record["state"] == "running", f"the install finished before the kill: {record}"
            return record["phase"] == phase

        wait_until(reached, 60, f"the install to reach {phase}", interval=0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        plugind.kill()
        thread.join(30)
        plugind.start()
        status, body = plugind.json("GET", f"/api/operations/{op}")
        assert status == 200, body
        record = body["operation"]
        assert record["state"] in ("failed", "succeeded"), record
        document = json.loads(plugind.config.read_text())
        recorded = document["plugins"]["installs"][INSTALL_NAME]["version"]
        on_disk = installed_version(plugind.state)
        assert on_disk == recorded, f"round {round_}: the config records {recorded}, the install root holds {on_disk}"
        expected = other if record["state"] == "succeeded" else current
        assert on_disk == expected, f"round {round_}: operation {record['state']} but {on_disk} is installed"
        assert install_leftovers(plugind.state) == [], install_leftovers(plugind.state)
        assert integrity(plugind.state / "state.db") == "ok"
        outcomes.append((phase, record["state"], on_disk))
        current = on_disk
    print(f"\ninstalls under SIGKILL (phase, outcome, version): {outcomes}")


# --- disk full -----------------------------------------------------------------------------------


@contextlib.contextmanager
def small_filesystem(mountpoint: Path, size_mb: int = 2):
    """A tmpfs of `size_mb` at `mountpoint`, else a loop-mounted ext4 image; skips with both errors."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    errors = []
    tmpfs = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(mountpoint)],
                           capture_output=True, text=True)
    image = None
    if tmpfs.returncode != 0:
        errors.append(f"mount -t tmpfs: {tmpfs.stderr.strip() or tmpfs.returncode}")
        image = mountpoint.parent / "fs.img"
        subprocess.run(["truncate", "-s", f"{max(size_mb, 4)}M", str(image)], check=True)
        mkfs = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True)
        loop = subprocess.run(["mount", "-o", "loop", str(image), str(mountpoint)], capture_output=True, text=True) \
            if mkfs.returncode == 0 else mkfs
        if loop.returncode != 0:
            errors.append(f"loop-mounted ext4: {loop.stderr.strip() or loop.returncode}")
            pytest.skip("cannot mount a small file system here: " + "; ".join(errors))
        mountpoint.chmod(0o700)
    try:
        yield mountpoint
    finally:
        result = subprocess.run(["umount", str(mountpoint)], capture_output=True, text=True)
        if result.returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
        if image is not None:
            image.unlink(missing_ok=True)


def fill(directory: Path) -> Path:
    """Writes a file until the file system is full; returns it."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
                break
        with contextlib.suppress(OSError):
            while True:  # the last pages, byte by byte
                f.write(b"\0" * 512)
    return filler


def test_disk_full_on_the_state_directory_is_a_clear_error_and_nothing_is_corrupted(plugind_factory, base_dir):
    with small_filesystem(base_dir / "small") as state:
        plugind = plugind_factory(state=state)
        plugind.config.write_text(HAND_WRITTEN)
        plugind.config.chmod(0o600)
        plugind.start()
        assert put_plugin(plugind, write_body(2)).status == 200
        before = plugind.config.read_bytes()
        filler = fill(state)
        try:
            outcomes = []
            for body in ({"config": {KEY_A: "v3", KEY_B: "v3"}}, write_body(3)):  # env only; env and enablement
                response = put_plugin(plugind, body)
                outcomes.append(response.status)
                assert response.status in (507, 503), f"a PUT on a full disk: {response.status} {response.body[:500]!r}"
                error = json.loads(response.body)["error"]
                assert "space" in error.lower(), f"the error does not say the disk is full: {error!r}"
                assert plugind.config.read_bytes() == before, "a refused write changed the agent config"
                assert temp_files(state, plugind.config) == [], temp_files(state, plugind.config)
            # Reads still answer.
            assert plugind.request("GET", f"/api/plugins/{PLUGIN}").status == 200
            assert plugind.request("GET", "/api/plugins").status == 200
            print(f"\nPUT on a full state directory: {outcomes}")
        finally:
            filler.unlink()
        assert written_state(plugind.config) == 2
        assert integrity(state / "state.db") == "ok"
        response = put_plugin(plugind, write_body(3))
        assert response.status == 200, response.body
        assert written_state(plugind.config) == 3
        plugind.kill()


# --- the agent config edited by hand ----------------------------------------------------------------


def test_a_hand_edit_while_plugind_runs_is_picked_up_and_kept(plugind_factory):
    plugind = plugind_factory()
    plugind.config.write_text(HAND_WRITTEN)
    plugind.start()
    assert put_plugin(plugind, {"config": {KEY_A: "from-api"}}).status == 200
    # Warm every cache that could hold the old file.
    status, before = plugind.json("GET", f"/api/plugins/{PLUGIN}")
    listing = plugind.request("GET", "/api/plugins")
    assert status == 200 and listing.status == 200
    etag = listing.header("ETag")

    # A person edits the file in place (same inode), the way an editor without atomic saves does: a
    # text edit (a JSON round trip here would itself turn 0.70 into 0.7).
    text = plugind.config.read_text()
    assert text.startswith("{\n") and f'"{KEY_B}"' not in text, text
    text = '{\n  "handAdded": {"note": "typed by a person", "weight": 2.50},\n' + text[2:]
    text = text.replace('"OTHER_SETTING": "kept"', f'"OTHER_SETTING": "kept", "{KEY_B}": "from-hand"')
    json.loads(text)
    with open(plugind.config, "r+") as f:
        f.seek(0)
        f.write(text)
        f.truncate()

    status, after = plugind.json("GET", f"/api/plugins/{PLUGIN}")
    values = {p["key"]: p["currentValue"] for p in after["plugin"]["parameters"]}
    assert values[KEY_B] == "from-hand", f"GET /api/plugins/{PLUGIN} still shows the old file: {values}"
    listing = plugind.request("GET", "/api/plugins", headers={"If-None-Match": etag} if etag else None)
    assert listing.status == 200, "the list answered 304 (or worse) for a changed agent config"
    entry = next(p for p in json.loads(listing.body)["plugins"] if p["id"] == PLUGIN)
    assert {p["key"]: p["currentValue"] for p in entry["parameters"]}[KEY_B] == "from-hand"

    # A later write through the API keeps the hand edit (a fresh read-modify-write, never a stale copy).
    assert put_plugin(plugind, {"config": {KEY_A: "from-api-2"}}).status == 200
    raw = plugind.config.read_text()
    document = json.loads(raw)
    assert document["env"][KEY_B] == "from-hand" and document["env"][KEY_A] == "from-api-2", raw
    assert document["handAdded"]["note"] == "typed by a person" and '"weight": 2.50' in raw, raw
    for literal in LITERALS:
        assert literal in raw, raw

    # The editor that saves atomically (a new inode) is seen as well.
    replacement = plugind.config.with_name("milady.json.editor-save")
    replacement.write_text(raw.replace('"from-hand"', '"from-hand-2"'))
    os.replace(replacement, plugind.config)
    status, after = plugind.json("GET", f"/api/plugins/{PLUGIN}")
    assert {p["key"]: p["currentValue"] for p in after["plugin"]["parameters"]}[KEY_B] == "from-hand-2"
    assert put_plugin(plugind, {"enabled": True}).status == 200
    assert json.loads(plugind.config.read_text())["env"][KEY_B] == "from-hand-2"


def test_a_same_size_rewrite_right_after_a_write_is_seen(plugind_factory):
    """A program (the agent, a script) rewriting the file in place within the same clock tick as
    plugind's own write, to the same length: mtime, size and inode all match the cached copy's.
    GET must still show what the file says."""
    plugind = plugind_factory()
    plugind.config.write_text(HAND_WRITTEN)
    plugind.start()
    misses = []
    for i in range(20):
        assert put_plugin(plugind, {"config": {KEY_B: f"api-{i:03d}"}}).status == 200
        status, _ = plugind.json("GET", f"/api/plugins/{PLUGIN}")  # cache the file as plugind wrote it
        text = plugind.config.read_text()
        edited = text.replace(f'"api-{i:03d}"', f'"ext-{i:03d}"')
        assert len(edited) == len(text)
        with open(plugind.config, "r+") as f:
            f.write(edited)
        status, after = plugind.json("GET", f"/api/plugins/{PLUGIN}")
        shown = {p["key"]: p["currentValue"] for p in after["plugin"]["parameters"]}[KEY_B]
        if shown != f"ext-{i:03d}":
            misses.append((i, shown))
    assert not misses, f"GET served a stale agent config after a same-size rewrite (i, shown): {misses}"


# --- an unparsable agent config ------------------------------------------------------------------


JSON5_CONFIG = b"""{
  // Milady accepts JSON5; plugind must not rewrite it.
  env: { MATRIX_USER_ID: 'someone', },
  plugins: { entries: { matrix: { enabled: true, }, }, },
}
"""


@pytest.mark.parametrize("content", [JSON5_CONFIG, b'{"$include": "./more.json", "env": {}}\n', b'{"env": {"A": "x"'],
                         ids=["json5-with-comments", "include", "truncated"])
def test_an_unparsable_agent_config_is_503_naming_the_file_and_never_rewritten(plugind_factory, content):
    plugind = plugind_factory()
    plugind.config.write_bytes(content)
    plugind.config.chmod(0o600)
    plugind.start()
    reads = ["/api/plugins", f"/api/plugins/{PLUGIN}", "/api/plugins/installed", "/api/plugins/core"]
    writes = [
        ("PUT", f"/api/plugins/{PLUGIN}", {"config": {KEY_A: "new"}}),
        ("PUT", f"/api/plugins/{PLUGIN}", {"enabled": False}),
        ("POST", "/api/plugins/core/toggle", {"name": "discord", "enabled": True}),
        ("POST", "/api/plugins/uninstall", {"name": "@elizaos/plugin-matrix"}),
    ]
    problems = []
    for uri in reads:
        response = plugind.request("GET", uri)
        if response.status != 503 or str(plugind.config) not in json.loads(response.body).get("error", ""):
            problems.append(f"GET {uri}: {response.status} {response.body[:300]!r}")
    for method, uri, body in writes:
        response = plugind.request(method, uri, body)
        if response.status != 503 or str(plugind.config) not in json.loads(response.body).get("error", ""):
            problems.append(f"{method} {uri}: {response.status} {response.body[:300]!r}")
        if plugind.config.read_bytes() != content:
            problems.append(f"{method} {uri} rewrote the file")
    assert plugind.request("GET", "/api/health", token=None).status == 200
    assert not problems, "\n".join(problems)
    assert plugind.config.read_bytes() == content
    assert temp_files(plugind.state, plugind.config) == []


# --- every upstream down at once ------------------------------------------------------------------


class _SilentServer:
    """A listening socket that accepts connections and never answers (held open until close)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sock.listen(64)
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            with contextlib.suppress(OSError):
                connection, _ = self.sock.accept()
                self.held.append(connection)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        for connection in self.held:
            connection.close()
        self.sock.close()


class SilentUnixServer(_SilentServer):
    """A unix socket that accepts connections and never answers: a hung runtime bridge."""

    def __init__(self, path: Path):
        self.path = path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
        super().__init__(sock)

    def close(self) -> None:
        super().close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class SilentTCPServer(_SilentServer):
    """A TCP port that accepts connections and never answers: a hung upstream."""

    def __init__(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        super().__init__(sock)


READ_ROUTES = [
    "/api/health", "/api/settings", "/api/plugins", f"/api/plugins/{PLUGIN}", "/api/plugins/installed",
    "/api/plugins/ejected", "/api/plugins/core", "/api/core/status", "/api/operations", "/api/runtime",
    "/api/registry/plugins?limit=20", "/api/registry/plugins/@elizaos/plugin-discord", "/api/registry/search?q=discord",
]


def test_every_upstream_down_read_routes_still_answer_from_cache(base_dir):
    """The plugin registry (after one good fetch), npm, the agent registry and the runtime bridge
    all down — first hung (accepting, never answering), then refusing connections. Every read
    route still answers 200, from the cached registry snapshot; the durations are printed (the
    bound asserted is only a sanity one: the bridge timeout is 1 s, the fetch timeouts 2-3 s)."""
    from fake_registry import GENERATED_PATH, INDEX_PATH, FakeRegistry

    registry = FakeRegistry(hang_seconds=60).start()
    hung_http = SilentTCPServer()
    bridge_path = base_dir / "bridge.sock"
    bridge = SilentUnixServer(bridge_path)
    env = {
        "PLUGIND_RUNTIME_BRIDGE": "none",  # scripts/run starts no agent host; the flag below names the hung bridge
        "PLUGIND_PLUGIN_REGISTRY_URLS": registry.urls,
        "PLUGIND_NPM_REGISTRY": f"http://127.0.0.1:{hung_http.port}/npm/",
        "PLUGIND_AGENT_REGISTRY_URL": f"http://127.0.0.1:{hung_http.port}",
        "PLUGIND_GIT_BASE_URL": "file:///nonexistent/",
        "PLUGIND_REGISTRY_TTL_SECONDS": "1",  # every read finds the snapshot stale and wants a refresh
        "PLUGIND_REGISTRY_RETRY_SECONDS": "1",
        "PLUGIND_TIMEOUT_CONNECT_MS": "2000",
        "PLUGIND_TIMEOUT_FETCH_MS": "3000",
    }
    timings: dict[str, dict[str, float]] = {}
    try:
        with contextlib.contextmanager(_run_stack)(env, plugind_args=lambda s: ["--set", f"runtimeBridge=unix:{bridge_path}"]) as stack, \
                stack.client(stack.adminToken) as admin:
            wait_until(lambda: admin.get("/api/registry/plugins?limit=1").status_code == 200, 30, "the first registry fetch")
            total = admin.get("/api/registry/plugins?limit=1").json()["total"]
            for label, down in (("hung", lambda: [registry.set(p, "hang") for p in (GENERATED_PATH, INDEX_PATH)]),
                                ("refused", registry.stop)):
                down()
                time.sleep(1.2)  # past the TTL: the snapshot is stale now
                timings[label] = {}
                for uri in READ_ROUTES:
                    durations = []
                    for _ in range(3):
                        started = time.monotonic()
                        response = admin.get(uri, timeout=30)
                        durations.append(time.monotonic() - started)
                        assert response.status_code == 200, f"{label}: GET {uri} → {response.status_code} {response.text[:300]}"
                    timings[label][uri] = max(durations)
                listing = admin.get("/api/registry/plugins?limit=1").json()
                assert listing["total"] == total, "the cached snapshot was not the one served"
                runtime = admin.get("/api/runtime").json()
                plugin = admin.get(f"/api/plugins/{PLUGIN}").json()["plugin"]
                assert plugin["isActive"] is False, plugin
            # A write that needs an upstream fails within its timeout, with a status the spec allows.
            started = time.monotonic()
            response = admin.post(f"/api/plugins/{PLUGIN}/test", timeout=60)
            timings["refused"]["POST /api/plugins/:id/test"] = time.monotonic() - started
            assert response.status_code in (503, 504), response.text
            started = time.monotonic()
            response = admin.post("/api/registry/refresh", timeout=60)
            timings["refused"]["POST /api/registry/refresh"] = time.monotonic() - started
            assert response.status_code == 502, response.text
            print("\nread routes with every upstream down (slowest of 3, seconds):")
            for label, rows in timings.items():
                for uri, seconds in rows.items():
                    print(f"  {label:8} {uri:52} {seconds:6.3f}")
            print(f"  runtime state reported: {runtime.get('state')!r}")
            slow = {f"{label} {uri}": round(s, 3) for label, rows in timings.items() for uri, s in rows.items() if s >= 10}
            assert not slow, f"read routes took 10 s or more with the upstreams down: {slow}"
    finally:
        with contextlib.suppress(Exception):
            registry.stop()
        hung_http.close()
        bridge.close()


def test_a_hung_runtime_bridge_costs_one_timeout_not_one_per_request(plugind_factory, base_dir):
    """Found by the measurements above: with a runtime bridge that accepts and never answers, every
    GET /api/plugins/:id took the whole bridge timeout (1 s) and GET /api/registry/plugins two of
    them (2 s), request after request. docs/api.md promises that "the bridge's status is cached for
    a second ... so a dead runtime never slows GET /api/plugins". The status (or its failure) must be
    cached for a second counted from when the call ended, so back-to-back reads pay at most one
    timeout between them."""
    bridge_path = base_dir / "hung.sock"
    bridge = SilentUnixServer(bridge_path)
    try:
        plugind = plugind_factory(args=["--set", f"runtimeBridge=unix:{bridge_path}"]).start()
        durations = {}
        for uri in (f"/api/plugins/{PLUGIN}", "/api/plugins"):
            plugind.request("GET", uri, timeout=30)  # the first read may pay the timeout
            seconds = []
            for _ in range(5):
                started = time.monotonic()
                assert plugind.request("GET", uri, timeout=30).status == 200
                seconds.append(round(time.monotonic() - started, 3))
            durations[uri] = seconds
        print(f"\nback-to-back reads with a hung runtime bridge (seconds): {durations}")
        slow = {uri: s for uri, s in durations.items() if sorted(s)[len(s) // 2] >= 0.5}
        assert not slow, f"most back-to-back reads wait for the hung bridge again: {slow}"
    finally:
        bridge.close()
