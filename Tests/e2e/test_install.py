"""Installing and uninstalling plugins from npm, end to end (contract sections 2 and 3, issue 6).

plugind (behind nginx, started by `scripts/run`) is pointed at `fake_npm.FakeNpm`: a fake npm
registry on 127.0.0.1 under the path prefix `/npm/`, serving packuments and real tarballs built
here (real sha512 integrity, real P-256 signatures for some versions), and a small plugin registry
document listing the test packages. npm itself (the real one, run by plugind) fetches dependencies
from the same fake. Version picking is checked against npm's own picker (`npm-pick-manifest`, from
the npm installation that runs, confirmed by the `npm pack --dry-run` CLI) over the same packument.

What "nothing changed" means everywhere below (`snapshot()`): the tree under `<state>/plugins`
(installed, `.staging`, `.aside`, every file's sha256), `<state>/tmp`, the agent config's bytes,
and `sqlite3 state.db .dump installHistory`.

Stacks: one module-wide stack for most tests (short outside timeouts, no runtime bridge, so the
restart reasons stay visible in GET /api/runtime); a stack with `maxConcurrentOperations=1`,
unlisted packages allowed and npm limited to 5 s (the cap's 503 and npm hanging past its timeout);
a stack with no plugin registry (503); and, for the crash tests, stacks whose plugind is killed
with SIGKILL and restarted on the same state directory.

Not reachable from here: the staged package.json check (step 7) on its own. The tarball's own
package.json is checked first with the same rule, so a package naming another package is refused
at inspection (`tar-other-name`); a tarball holding two package.json entries, the second naming
another package (what Node's tar would leave on disk), is refused there too (`duplicate-package-json`).
The staged check needs npm itself to install something else; that is for the unit tests.

Crash windows: "during installing" (npm waits on a dependency the fake holds back) and "right after
the config write" (the old tree being deleted after the commit is 9,000 files: the test kills
plugind the moment the agent config names the new version) are hit for real. The swap itself is two
renames with no gap a test can hit, so `test_crash_recovery_from_every_checkpoint` writes the states
a crash would leave (directories as the renames leave them, and the running operation with its
checkpoint, owned by a dead process) into a stopped stack's state directory and starts plugind on
it. That test follows the checkpoint format of Sources/Install (`step`, `installPath`, `aside`,
`staging`, `version`, `hadPrevious`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import NPM_TOKEN_SECRET, _run_stack
from fake_npm import HOSTILE_KINDS, FakeNpm, hostile_tarball, manifest
from helpers import free_port, pid_alive, wait_until, descendants

# --- the packages -------------------------------------------------------------------------------

SCOPE = "@e2e-fake"
BASIC = "plugin-e2e-basic"  # unscoped; installed first and kept, so every refusal compares a real install
ALPHA = f"{SCOPE}/plugin-alpha"  # scoped, with a dependency npm fetches from the fake
TAGGED = f"{SCOPE}/plugin-tagged"
LEGACY = f"{SCOPE}/plugin-LegacyName"  # capitals: a legacy name, allowed because the registry lists it
PICKY = f"{SCOPE}/plugin-picky"
UPGRADE = f"{SCOPE}/plugin-upgrade"
REFUSE = f"{SCOPE}/plugin-refuse"
MISSING = f"{SCOPE}/plugin-not-on-npm"  # listed, never published
UNLISTED = f"{SCOPE}/plugin-unlisted"  # published, not listed
SLOW = [f"{SCOPE}/plugin-slow-{i}" for i in range(4)]  # tarballs the fake sends slowly
HELD = f"{SCOPE}/plugin-held"  # its tarball is held back while a test uninstalls it
PURGE_P = f"{SCOPE}/plugin-purge-p"
PURGE_Q = f"{SCOPE}/plugin-purge-q"
QUIET = f"{SCOPE}/plugin-quiet"  # installed with enable: false
CRASHY = f"{SCOPE}/plugin-crashy"
BIGOLD = f"{SCOPE}/plugin-bigold"
CLASH_A = f"{SCOPE}/plugin_clash"  # both map to the install directory `_e2e-fake_plugin_clash`
CLASH_B = f"{SCOPE}_plugin/clash"
SHASUM_ONLY = f"{SCOPE}/plugin-shasum-only"  # publishes `dist.shasum` and no `dist.integrity`
SIGNED_LATER = f"{SCOPE}/plugin-signed-later"  # signed with a key that expired after it was published
DEP = "e2e-fake-dep"
DEP_MISSING = "e2e-fake-dep-missing"  # never published: npm fails with E404
DEP_HANG = "e2e-fake-dep-hang"  # its packument never comes: npm hangs
DEP_SLOW = "e2e-fake-dep-slow"  # many files: npm is still unpacking it when a crash test kills plugind

BASIC_PARAMETERS = {
    "E2E_BASIC_API_KEY": {"type": "string", "description": "The basic plugin's key.", "required": True, "sensitive": True},
    "E2E_BASIC_MODE": {"type": "string", "description": "How it runs.", "required": False, "default": "fast"},
    "E2E_BASIC_RETRIES": {"type": "number", "description": "Retries.", "optional": True, "default": 3},
}
PICKY_VERSIONS = [  # (version, dist-tag it moves, deprecated)
    ("1.0.0", "latest", False), ("1.1.0", "latest", False), ("1.2.0-beta.1", "beta", False), ("1.2.0", "latest", True),
    ("2.0.0", "latest", False), ("2.1.0-rc.1", "next", False), ("2.0.5", None, False), ("3.0.0-alpha.1", "next", False),
]
PICKY_SPECS = [None, "latest", "*", "^2.0.0", "~2.0.1", "^1.0.0", "1.x", ">=1.1.0 <2", "1.0.0 || 2.0.5", "^1.2.0-beta.1",
               "^2.1.0-rc.1", "next", "beta", "1.1.0", "=1.1.0", "v1.1.0", "1.0.0 - 1.1.0", ">2.0.0", "<=1.1.0", "2",
               "1.2.0", ">=3.0.0-alpha.0"]
# REFUSE's versions, one per refusal (none is tagged: `latest` stays 1.0.0, which is never installed).
REFUSAL_VERSIONS = {"tampered": "1.0.1", "bad-signature": "1.0.2", "unknown-keyid": "1.0.3", "keys-404": "1.0.4",
                    "keys-500": "1.0.5", "npm-hangs": "1.0.6", "shasum-tampered": "1.0.7", "insecure-tarball-url": "1.0.8",
                    "key-expired-before-publication": "1.0.9"}
REFUSAL_VERSIONS.update({f"tar-{kind}": f"1.1.{i}" for i, kind in enumerate(HOSTILE_KINDS)})
# UPGRADE's versions that fail at one step each (1.0.0 and 2.0.0 are good).
FAILING_UPGRADES = {"download-500": "2.0.1", "download-hangs": "2.0.2", "integrity": "2.0.3", "signature": "2.0.4",
                    "tarball-symlink": "2.0.5", "dependency-404": "2.0.6", "package-json-names-another": "2.0.7",
                    "duplicate-package-json": "2.0.8"}

TIMEOUTS = {
    "PLUGIND_TIMEOUT_FETCH_MS": "2000",
    "PLUGIND_TIMEOUT_CONNECT_MS": "1000",
    "PLUGIND_TIMEOUT_TARBALL_MS": "3000",
    "PLUGIND_TIMEOUT_TARBALL_IDLE_MS": "2000",
    # npm itself runs for 2-4 s on a loaded machine; "npm hanging" is tested on the 5 s stack below.
    "PLUGIND_TIMEOUT_NPM_MS": "30000",
}


def noise(seed: int, size: int = 256 << 10) -> bytes:
    """Incompressible bytes, so a tarball is big enough to be sent slowly."""
    return random.Random(seed).randbytes(size)


def publish_all(fake: FakeNpm) -> None:
    fake.publish(DEP, "1.0.0")
    fake.publish(DEP, "1.2.0")
    fake.publish(DEP, "2.0.0")
    fake.publish(DEP_HANG, "1.0.0")
    # 9,000 files: npm takes a while to unpack it, so a crash test can find npm running.
    fake.publish(DEP_SLOW, "1.0.0", files={f"many/{i:04d}.js": b"" for i in range(9000)})
    fake.publish(BASIC, "1.0.0", parameters=BASIC_PARAMETERS, sign="good")
    alpha_index = b"module.exports = { name: '@e2e-fake/plugin-alpha', version: '1.1.0', dep: require('e2e-fake-dep').version };\n"
    fake.publish(ALPHA, "1.0.0", dependencies={DEP: "^1.0.0"})
    fake.publish(ALPHA, "1.1.0", dependencies={DEP: "^1.0.0"}, files={"index.js": alpha_index},
                 parameters={"ALPHA_ENDPOINT": {"type": "string", "description": "Where.", "required": False}})
    fake.publish(ALPHA, "2.0.0-beta.1", tag="next")
    fake.publish(TAGGED, "1.0.0")
    fake.publish(TAGGED, "1.5.0-beta.2", tag="beta")
    fake.publish(LEGACY, "0.9.0")
    for version, tag, deprecated in PICKY_VERSIONS:
        fake.publish(PICKY, version, tag=tag, deprecated="use another version" if deprecated else None)
    fake.publish(UPGRADE, "1.0.0", parameters={"E2E_UPGRADE_KEY": {"type": "string", "description": "v1 key"}})
    fake.publish(UPGRADE, "2.0.0", parameters={"E2E_UPGRADE_KEY": {"type": "string", "description": "v2 key"}},
                 dependencies={DEP: "1.0.0"})
    v = FAILING_UPGRADES
    fake.publish(UPGRADE, v["download-500"], tag=None)
    fake.publish(UPGRADE, v["download-hangs"], tag=None)
    fake.publish(UPGRADE, v["integrity"], tag=None)
    fake.publish(UPGRADE, v["signature"], tag=None, sign="bad")
    fake.publish(UPGRADE, v["tarball-symlink"], hostile_tarball("symlink", UPGRADE, v["tarball-symlink"]), tag=None)
    fake.publish(UPGRADE, v["dependency-404"], tag=None, dependencies={DEP_MISSING: "^1.0.0"})
    fake.publish(UPGRADE, v["package-json-names-another"],
                 hostile_tarball("other-name", UPGRADE, v["package-json-names-another"]), tag=None)
    fake.publish(UPGRADE, v["duplicate-package-json"],
                 hostile_tarball("duplicate-package-json", UPGRADE, v["duplicate-package-json"]), tag=None)
    fake.publish(REFUSE, "1.0.0")
    r = REFUSAL_VERSIONS
    fake.publish(REFUSE, r["tampered"], tag=None)
    fake.publish(REFUSE, r["bad-signature"], tag=None, sign="bad")
    fake.publish(REFUSE, r["unknown-keyid"], tag=None, sign="unknown-key")
    fake.publish(REFUSE, r["keys-404"], tag=None, sign="good")
    fake.publish(REFUSE, r["keys-500"], tag=None, sign="good")
    fake.publish(REFUSE, r["npm-hangs"], tag=None, dependencies={DEP_HANG: "^1.0.0"})
    fake.publish(REFUSE, r["shasum-tampered"], tag=None, publish_integrity=False)
    fake.publish(REFUSE, r["insecure-tarball-url"], tag=None, tarball_url="http://example.invalid/npm/plugin-refuse-1.0.8.tgz")
    fake.publish(REFUSE, r["key-expired-before-publication"], tag=None, sign="good")
    for kind in HOSTILE_KINDS:
        version = r[f"tar-{kind}"]
        fake.publish(REFUSE, version, hostile_tarball(kind, REFUSE, version), tag=None)
    fake.publish(UNLISTED, "1.0.0")
    for i, name in enumerate(SLOW):
        fake.publish(name, "1.0.0", files={"blob.bin": noise(i)})
        fake.publish(name, "1.1.0", files={"blob.bin": noise(100 + i)}, tag=None)
    fake.publish(PURGE_P, "1.0.0", parameters={
        "E2E_P_ONLY_KEY": {"type": "string", "description": "Only P declares it."},
        "E2E_SHARED_SETTING": {"type": "string", "description": "P and Q declare it."},
        "ANTHROPIC_API_KEY": {"type": "string", "description": "Also declared by the bundled anthropic plugin.", "sensitive": True},
    })
    fake.publish(PURGE_Q, "1.0.0", parameters={"E2E_SHARED_SETTING": {"type": "string", "description": "P and Q declare it."}})
    fake.publish(QUIET, "1.0.0")
    fake.publish(HELD, "1.0.0")
    fake.publish(CLASH_A, "1.0.0")
    fake.publish(CLASH_B, "1.0.0")
    fake.publish(SHASUM_ONLY, "1.0.0", publish_integrity=False)
    fake.publish(SIGNED_LATER, "1.0.0", sign="good")
    fake.publish(CRASHY, "1.0.0")
    fake.publish(CRASHY, "2.0.0", dependencies={DEP_SLOW: "^1.0.0"})
    fake.publish(BIGOLD, "1.0.0", files={f"many/{i:04d}.js": b"" for i in range(9000)})
    fake.publish(BIGOLD, "2.0.0")
    # The plugin registry lists everything but UNLISTED (and the dependencies); the versions are the
    # registry's v1 channel, i.e. `latestVersion` of the installed list.
    for name, version in [(BASIC, "1.0.0"), (ALPHA, "1.1.0"), (TAGGED, "1.0.0"), (LEGACY, "0.9.0"), (PICKY, "2.0.0"),
                          (UPGRADE, "2.0.0"), (REFUSE, "1.0.0"), (MISSING, "1.0.0"), (PURGE_P, "1.0.0"),
                          (PURGE_Q, "1.0.0"), (QUIET, "1.0.0"), (CRASHY, "2.0.0"), (BIGOLD, "2.0.0"), (CLASH_A, "1.0.0"),
                          (CLASH_B, "1.0.0"), (SHASUM_ONLY, "1.0.0"), (SIGNED_LATER, "1.0.0"), (HELD, "1.0.0")] + \
                         [(name, "1.0.0") for name in SLOW]:
        fake.list(name, version)


def stack_env(fake: FakeNpm, **extra: str) -> dict[str, str]:
    return {"PLUGIND_NPM_REGISTRY": fake.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake.registry_url,
            "PLUGIND_RUNTIME_BRIDGE": "none", **TIMEOUTS, **extra}


def run_stack(*args, **kwargs):
    return contextlib.contextmanager(_run_stack)(*args, **kwargs)


# --- what plugind left on disk ---------------------------------------------------------------------


def directory_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def install_dir(state: Path, name: str) -> Path:
    return state / "plugins" / "installed" / directory_name(name)


def package_dir(state: Path, name: str) -> Path:
    return install_dir(state, name) / "node_modules" / name


def tree(root: Path) -> dict[str, str]:
    """Every entry under `root`: directories, symlinks (their target), files (their sha256). npm's own home and
    cache (`plugins/.npm`: its logs and cached tarballs) are npm's business, not install state."""
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for directory, dirnames, filenames in os.walk(root):
        if directory == str(root):
            dirnames[:] = [d for d in dirnames if d != ".npm"]
        relative = os.path.relpath(directory, root)
        out[relative + "/"] = "dir"
        for name in sorted(dirnames + filenames):
            path = os.path.join(directory, name)
            key = os.path.normpath(os.path.join(relative, name))
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                out[key] = "link:" + os.readlink(path)
            elif stat.S_ISREG(mode):
                with open(path, "rb") as f:
                    out[key] = hashlib.sha256(f.read()).hexdigest()
            elif not stat.S_ISDIR(mode):
                out[key] = f"special:{stat.S_IFMT(mode):o}"
    return out


def history_dump(state: Path) -> str:
    result = subprocess.run(["sqlite3", "-readonly", str(state / "state.db"), ".dump installHistory"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def snapshot(state: Path, config: Path) -> dict:
    return {
        "plugins": tree(state / "plugins"),
        "tmp": tree(state / "tmp"),
        "config": config.read_bytes() if config.exists() else None,
        "installHistory": history_dump(state),
    }


def assert_unchanged(before: dict, after: dict, why: str = "") -> None:
    for part in before:
        if before[part] != after[part]:
            if isinstance(before[part], dict):
                added = sorted(set(after[part]) - set(before[part]))
                removed = sorted(set(before[part]) - set(after[part]))
                changed = sorted(k for k in before[part] if k in after[part] and before[part][k] != after[part][k])
                detail = f"added {added[:10]}, removed {removed[:10]}, changed {changed[:10]}"
            else:
                detail = f"before {before[part]!r:.600}\nafter  {after[part]!r:.600}"
            pytest.fail(f"{why}: {part} changed: {detail}")


def read_config(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def node_load(directory: Path) -> dict:
    """Requires the installed package with node: 'working' means it loads and says its version."""
    result = subprocess.run(["node", "-e", "process.stdout.write(JSON.stringify(require(process.argv[1])))", str(directory)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"node cannot load {directory}: {result.stderr[-800:]}"
    return json.loads(result.stdout)


def tarball_files(data: bytes) -> dict[str, bytes]:
    import io
    import tarfile
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name[len("package/"):]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def assert_package_is(state: Path, fake: FakeNpm, name: str, version: str) -> None:
    """The installed package's files are exactly the published tarball's, and node loads it."""
    directory = package_dir(state, name)
    for relative, data in tarball_files(fake.get(name, version).tarball).items():
        assert (directory / relative).read_bytes() == data, f"{name}: {relative} differs from {version}'s tarball"
    assert node_load(directory)["version"] == version


def leftovers(state: Path) -> list[str]:
    found = []
    for sub in ("plugins/.staging", "plugins/.aside", "plugins/.tmp", "tmp"):
        directory = state / sub
        if directory.exists():
            found += [f"{sub}/{entry}" for entry in os.listdir(directory)]
    return found


# --- npm as the oracle ---------------------------------------------------------------------------


def npm_root() -> Path:
    npm = shutil.which("npm")
    assert npm, "npm is not installed"
    return Path(os.path.realpath(npm)).parents[1]


def npm_picks(packument: dict, specs: list[str | None]) -> dict[str | None, str]:
    """npm's own choice (`npm-pick-manifest`, as bundled with the npm that runs) for each spec."""
    script = """
const pick = require(process.argv[1]);
const {packument, specs} = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(specs.map(s => { try { return pick(packument, s || 'latest').version } catch (e) { return 'ERR ' + e.code } })));
"""
    result = subprocess.run(["node", "-e", script, str(npm_root() / "node_modules" / "npm-pick-manifest")],
                            input=json.dumps({"packument": packument, "specs": specs}), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return dict(zip(specs, json.loads(result.stdout)))


def npm_cli_pick(fake: FakeNpm, name: str, spec: str, home: Path) -> str:
    """What the npm CLI resolves `name@spec` to against the fake (`npm pack --dry-run`)."""
    (home / "npmrc").write_text("")
    result = subprocess.run(
        ["npm", "pack", "--dry-run", "--json", f"{name}@{spec}", "--registry", fake.base, "--cache", str(home / "cache"),
         "--userconfig", str(home / "npmrc"), "--loglevel", "error"],
        capture_output=True, text=True, timeout=120, cwd=home,
        env={**os.environ, "HOME": str(home), "npm_config_update_notifier": "false"})
    assert result.returncode == 0, result.stderr[-800:]
    return json.loads(result.stdout)[0]["version"]


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> FakeNpm:
    with FakeNpm(hang_seconds=90) as registry:
        publish_all(registry)
        yield registry


@pytest.fixture(scope="module")
def agent_dir() -> Path:
    """The agent config lives in a directory of its own, so a test can make it unwritable."""
    directory = Path(tempfile.mkdtemp(prefix="plugind-e2e-agent-"))
    yield directory
    subprocess.run(["chattr", "-i", str(directory)], capture_output=True)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def install_stack(fake, agent_dir):
    yield from _run_stack(stack_env(fake, PLUGIND_AGENT_CONFIG=str(agent_dir / "milady.json")))


@pytest.fixture(scope="module")
def config_path(agent_dir) -> Path:
    return agent_dir / "milady.json"


@pytest.fixture
def admin(install_stack):
    with install_stack.client(install_stack.adminToken) as session:
        yield session


@pytest.fixture
def reader(install_stack):
    with install_stack.client(install_stack.readToken) as session:
        yield session


@pytest.fixture
def state(install_stack) -> Path:
    return install_stack.stateDir


@pytest.fixture(autouse=True)
def fresh_fake(request):
    """Every path of the fake answers normally at the start and the end of each test."""
    if "fake" in request.fixturenames:
        registry = request.getfixturevalue("fake")
        registry.reset()
        yield
        registry.reset()
    else:
        yield


def install(session, name, version=None, enable=None, op=None, timeout=120):
    body = {"name": name}
    if version is not None:
        body["version"] = version
    if enable is not None:
        body["enable"] = enable
    headers = {"X-Operation-Id": op} if op else {}
    return session.post("/api/plugins/install", json=body, headers=headers, timeout=timeout)


def uninstall(session, name, purge=None, op=None):
    body = {"name": name}
    if purge is not None:
        body["purgeConfig"] = purge
    return session.post("/api/plugins/uninstall", json=body, headers={"X-Operation-Id": op} if op else {}, timeout=60)


def operation(session, op: str) -> dict:
    response = session.get(f"/api/operations/{op}")
    assert response.status_code == 200, response.text
    return response.json()["operation"]


def installed_row(session, name: str) -> dict | None:
    response = session.get("/api/plugins/installed")
    assert response.status_code == 200
    rows = response.json()["plugins"]
    assert [r["name"] for r in rows] == sorted(r["name"] for r in rows), "sorted by name"
    return next((r for r in rows if r["name"] == name), None)


def plugin_entry(session, name: str) -> dict | None:
    response = session.get("/api/plugins")
    assert response.status_code == 200
    return next((p for p in response.json()["plugins"] if p["npmName"] == name), None)


# --- success ---------------------------------------------------------------------------------------


def test_an_unscoped_package_installs_and_shows_everywhere(fake, admin, reader, state, config_path):
    op = str(uuid.uuid4())
    response = install(admin, BASIC, op=op)
    assert response.status_code == 200, response.text
    body = response.json()
    target = install_dir(state, BASIC)
    # No runtime attached here: nobody waits for a verdict, so `loaded` is null.
    assert body == {"ok": True, "requiresRestart": True, "plugin": {"name": BASIC, "version": "1.0.0", "installPath": str(target)},
                    "forced": False, "loaded": None, "loadError": None, "warnings": [],
                    "message": f"{BASIC} 1.0.0 was installed; it loads when the agent restarts."}
    assert_package_is(state, fake, BASIC, "1.0.0")
    # The agent config: the install record and the enablement (the full npm name: not an @elizaos/ package).
    config = read_config(config_path)
    record = config["plugins"]["installs"][BASIC]
    assert {k: record[k] for k in ("source", "spec", "installPath", "version")} == {
        "source": "npm", "spec": f"{BASIC}@latest", "installPath": str(target), "version": "1.0.0"}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", record["installedAt"])
    assert config["plugins"]["entries"][BASIC]["enabled"] is True
    # GET /api/plugins: installed, enabled, available, with the parameters its package.json declares.
    entry = plugin_entry(reader, BASIC)
    assert entry is not None, "the installed plugin is missing from GET /api/plugins"
    assert (entry["id"], entry["source"], entry["enabled"], entry["available"], entry["version"]) == (
        "e2e-basic", "installed", True, True, "1.0.0")
    parameters = {p["key"]: p for p in entry["parameters"]}
    assert set(parameters) == set(BASIC_PARAMETERS)
    assert (parameters["E2E_BASIC_API_KEY"]["required"], parameters["E2E_BASIC_API_KEY"]["sensitive"]) == (True, True)
    assert (parameters["E2E_BASIC_MODE"]["required"], parameters["E2E_BASIC_MODE"]["default"]) == (False, "fast")
    assert (parameters["E2E_BASIC_RETRIES"]["required"], parameters["E2E_BASIC_RETRIES"]["type"]) == (False, "number")
    assert reader.get("/api/plugins/e2e-basic").json()["plugin"]["source"] == "installed"
    # A restart is pending, with a reason naming it.
    runtime = reader.get("/api/runtime").json()
    assert runtime["pendingRestart"] is True
    assert f"{BASIC}@1.0.0 was installed" in runtime["pendingRestartReasons"]
    # GET /api/plugins/installed: the verified integrity, and the registry's version.
    row = installed_row(reader, BASIC)
    assert row is not None and row["missing"] is False
    assert {k: row[k] for k in ("version", "installPath", "integrity", "source", "latestVersion", "updateAvailable")} == {
        "version": "1.0.0", "installPath": str(target), "integrity": fake.get(BASIC, "1.0.0").integrity, "source": "npm",
        "latestVersion": "1.0.0", "updateAvailable": False}
    assert row["installedAt"] == record["installedAt"]
    # The plugin registry list says it is installed.
    details = reader.get("/api/registry/plugins/" + BASIC).json()["plugin"]
    assert (details["installed"], details["installedVersion"]) == (True, "1.0.0")
    # The operation, and what it logged (signed: the signature was checked; never the npm token).
    record_op = operation(reader, op)
    assert (record_op["kind"], record_op["target"], record_op["state"], record_op["phase"]) == ("install", BASIC, "succeeded", "done")
    assert record_op["result"] == body and record_op["requestId"] == response.headers["X-Request-Id"]
    assert any("signature verified" in line for line in record_op["logTail"]), record_op["logTail"]
    assert NPM_TOKEN_SECRET not in json.dumps(record_op)
    # The registry saw the token (it is the registry's), the packument asked for as npm asks for it.
    packument_requests = fake.seen(f"/npm/{BASIC}")
    assert packument_requests and packument_requests[0].authorization == f"Bearer {NPM_TOKEN_SECRET}"
    assert leftovers(state) == []


def test_a_scoped_package_with_a_range_and_a_dependency(fake, admin, reader, state):
    picks = npm_picks(fake.packument(ALPHA), ["^1.0.0"]) | {"dep": npm_picks(fake.packument(DEP), ["^1.0.0"])["^1.0.0"]}
    since = time.monotonic()
    response = install(admin, ALPHA, "^1.0.0")
    assert response.status_code == 200, response.text
    assert response.json()["plugin"]["version"] == picks["^1.0.0"] == "1.1.0"
    assert_package_is(state, fake, ALPHA, "1.1.0")
    # npm fetched the dependency from the fake (the packument at the prefix, then its tarball).
    assert fake.seen(f"/npm/{DEP}", since=since), "npm did not ask the fake for the dependency"
    dep = json.loads((install_dir(state, ALPHA) / "node_modules" / DEP / "package.json").read_text())
    assert dep["version"] == picks["dep"] == "1.2.0"
    assert node_load(package_dir(state, ALPHA))["dep"] == "1.2.0"
    # The scoped packument was asked for as `@scope%2fname`, under the prefix.
    assert fake.seen("/npm/@e2e-fake%2fplugin-alpha", since=since)
    entry = plugin_entry(reader, ALPHA)
    assert (entry["source"], entry["enabled"], entry["version"]) == ("installed", True, "1.1.0")
    assert [p["key"] for p in entry["parameters"]] == ["ALPHA_ENDPOINT"]
    row = installed_row(reader, ALPHA)
    assert (row["version"], row["latestVersion"], row["updateAvailable"]) == ("1.1.0", "1.1.0", False)


def test_a_dist_tag_picks_what_npm_picks(fake, admin, state, tmp_path):
    expected = npm_cli_pick(fake, TAGGED, "beta", tmp_path)
    assert expected == npm_picks(fake.packument(TAGGED), ["beta"])["beta"] == "1.5.0-beta.2"
    response = install(admin, TAGGED, "beta")
    assert response.status_code == 200, response.text
    assert response.json()["plugin"]["version"] == expected
    assert_package_is(state, fake, TAGGED, expected)


def test_a_legacy_capitalised_name_listed_in_the_registry_installs(fake, admin, reader, state):
    response = install(admin, LEGACY)
    assert response.status_code == 200, response.text
    assert response.json()["plugin"] == {"name": LEGACY, "version": "0.9.0", "installPath": str(install_dir(state, LEGACY))}
    assert install_dir(state, LEGACY).name == "_e2e-fake_plugin-LegacyName"
    assert_package_is(state, fake, LEGACY, "0.9.0")
    assert installed_row(reader, LEGACY)["version"] == "0.9.0"


def test_version_picking_follows_npm(fake, admin, reader, state, tmp_path):
    """Ranges, tags and pre-releases: plugind downloads the tarball of exactly the version npm picks.
    (Each pick is observed by the tarball plugind asks for, answered 500 so nothing installs; one
    range is then installed for real.)"""
    specs = PICKY_SPECS
    expected = npm_picks(fake.packument(PICKY), specs)
    # The CLI agrees with its library on this registry (two specs, to keep the run short).
    with ThreadPoolExecutor(2) as pool:
        cli = dict(zip(["~2.0.1", "next"], pool.map(lambda s: npm_cli_pick(fake, PICKY, s, Path(tempfile.mkdtemp(dir=tmp_path))),
                                                        ["~2.0.1", "next"])))
    assert cli == {"~2.0.1": expected["~2.0.1"], "next": expected["next"]}
    for version, _, _ in PICKY_VERSIONS:
        fake.set_tarball(PICKY, version, "500")
    picked = {}
    for spec in specs:
        since = time.monotonic()
        response = install(admin, PICKY, spec)
        assert response.status_code == 502, f"{spec!r}: {response.status_code} {response.text}"
        tarballs = [s.path for s in fake.seen("/npm/@e2e-fake/plugin-picky/-/", since=since)]
        assert len(tarballs) == 1, f"{spec!r}: {tarballs}"
        picked[spec] = re.search(r"plugin-picky-(.+)\.tgz$", tarballs[0]).group(1)
    assert picked == expected
    fake.reset()
    response = install(admin, PICKY, ">2.0.0")
    assert response.status_code == 200 and response.json()["plugin"]["version"] == expected[">2.0.0"] == "2.0.5"
    assert_package_is(state, fake, PICKY, "2.0.5")
    # The registry's version (2.0.0) is older than what is installed: no update.
    row = installed_row(reader, PICKY)
    assert (row["version"], row["latestVersion"], row["updateAvailable"]) == ("2.0.5", "2.0.0", False)


# --- operations: progress, the per-plugin lock, parallel installs ------------------------------------


class Poller(threading.Thread):
    """Polls GET /api/operations/<id> (its own session) until told to stop, keeping what it saw."""

    def __init__(self, stack, op: str):
        super().__init__(daemon=True)
        self.stack, self.op = stack, op
        self.seen: list[dict] = []
        self.running_list_hits = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with self.stack.client(self.stack.readToken) as session:
            while not self.stop.is_set():
                response = session.get(f"/api/operations/{self.op}")
                if response.status_code == 200:
                    record = response.json()["operation"]
                    self.seen.append(record)
                    if record["state"] == "running":
                        listed = session.get("/api/operations", params={"target": record["target"], "state": "running"}).json()
                        self.running_list_hits += any(o["id"] == self.op for o in listed["operations"])
                else:
                    assert response.status_code == 404
                time.sleep(0.02)


def test_progress_is_visible_while_the_post_runs(fake, admin, reader, install_stack):
    name = SLOW[0]
    fake.set_tarball(name, "1.0.0", "slow", slow=(8, 0.2))
    op = str(uuid.uuid4())
    poller = Poller(install_stack, op)
    poller.start()
    try:
        response = install(admin, name, op=op)
    finally:
        poller.stop.set()
        poller.join(30)
    assert response.status_code == 200, response.text
    running = [r for r in poller.seen if r["state"] == "running"]
    assert running, "the operation was never seen running while the POST ran"
    phases = [r["phase"] for r in running]
    # "starting" is the record's phase from its registration until the work sets "resolving".
    order = ["starting", "resolving", "checking", "downloading", "verifying", "inspecting", "installing", "activating", "verifying load"]
    assert set(phases) <= set(order), phases
    assert [p for p in order if p in phases] == sorted(set(phases), key=order.index)
    assert "downloading" in phases and "installing" in phases, phases
    progress = [r["progress"] for r in running if r["phase"] == "downloading"]
    assert any(p is not None and 0.1 < p < 0.5 for p in progress), f"no download progress between 0.1 and 0.5: {progress}"
    values = [r["progress"] for r in running if r["progress"] is not None]
    assert values == sorted(values), f"progress went backwards: {values}"
    assert poller.running_list_hits > 0, "GET /api/operations?state=running did not list it"
    final = operation(reader, op)
    assert (final["state"], final["phase"], final["result"]) == ("succeeded", "done", response.json())
    assert final["finishedAt"] is not None and final["error"] is None


def test_the_same_plugin_twice_at_once_is_409_with_the_running_operation(fake, install_stack, admin, reader):
    """An upgrade of an installed plugin is running: a second install or an uninstall of it is 409
    naming the running operation."""
    name = SLOW[1]
    assert install(admin, name, "1.0.0").status_code == 200
    fake.set_tarball(name, "1.1.0", "slow", slow=(8, 0.25))
    op = str(uuid.uuid4())
    outcome = {}

    def first():
        with install_stack.client(install_stack.adminToken) as session:
            outcome["response"] = install(session, name, "1.1.0", op=op)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        wait_until(lambda: reader.get(f"/api/operations/{op}").status_code == 200, 15, "the upgrade to register")
        with install_stack.client(install_stack.adminToken) as session:
            second = install(session, name, "1.1.0")
            assert second.status_code == 409, second.text
            assert second.json()["operationId"] == op
            also = uninstall(session, name)
            assert also.status_code == 409 and also.json()["operationId"] == op, also.text
            # The same X-Operation-Id for another plugin: 409 too (the id is taken).
            taken = install(session, SLOW[2], op=op)
            assert taken.status_code == 409, taken.text
    finally:
        thread.join(60)
    assert outcome["response"].status_code == 200, outcome["response"].text
    assert operation(reader, op)["state"] == "succeeded"
    assert installed_row(reader, name)["version"] == "1.1.0"


def test_an_uninstall_while_the_first_install_runs_is_409_naming_it(fake):
    """The first install of a package is still downloading (the fake holds its tarball back): nothing of it is in
    the agent config or the install root yet, but an uninstall of it is 409 naming the running install — not 404
    "not installed" — and changes nothing; the install then completes, and an uninstall after it works. (A stack of
    its own, whose tarball timeouts outlast the hold.)"""
    tarball = fake.get(HELD, "1.0.0").filename
    env = stack_env(fake, PLUGIND_TIMEOUT_TARBALL_MS="120000", PLUGIND_TIMEOUT_TARBALL_IDLE_MS="120000")
    with run_stack(env) as stack, stack.client(stack.adminToken) as admin, stack.client(stack.readToken) as reader:
        state = stack.stateDir
        op = str(uuid.uuid4())
        outcome = {}

        def first():
            with stack.client(stack.adminToken) as session:
                outcome["response"] = install(session, HELD, op=op)

        fake.set_tarball(HELD, "1.0.0", "hold")
        since = time.monotonic()
        thread = threading.Thread(target=first)
        thread.start()
        try:
            wait_until(lambda: fake.seen(tarball, since=since), 60, "the install to ask for its tarball")
            assert operation(reader, op)["state"] == "running"
            assert installed_row(reader, HELD) is None and not install_dir(state, HELD).exists()
            config_before = (state / "milady.json").read_bytes() if (state / "milady.json").exists() else None
            refused = uninstall(admin, HELD)
            assert refused.status_code == 409, refused.text
            assert refused.json()["operationId"] == op, refused.text
            assert operation(reader, op)["state"] == "running"
            assert ((state / "milady.json").read_bytes() if (state / "milady.json").exists() else None) == config_before
        finally:
            fake.release()
            thread.join(120)
        assert outcome["response"].status_code == 200, outcome["response"].text
        assert operation(reader, op)["state"] == "succeeded"
        assert installed_row(reader, HELD)["missing"] is False
        assert uninstall(admin, HELD).status_code == 200
        assert installed_row(reader, HELD) is None


def test_two_plugins_install_in_parallel(fake, install_stack, reader):
    names = [SLOW[2], SLOW[3]]
    for name in names:
        fake.set_tarball(name, "1.0.0", "slow", slow=(6, 0.25))
    ops = [str(uuid.uuid4()) for _ in names]

    def run(index):
        with install_stack.client(install_stack.adminToken) as session:
            return install(session, names[index], op=ops[index])

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(run, range(2)))
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    records = [operation(reader, op) for op in ops]
    assert all(r["state"] == "succeeded" for r in records)
    first, second = sorted(records, key=lambda r: r["startedAt"])
    assert second["startedAt"] < first["finishedAt"], "the two installs did not overlap"


# --- upgrade, downgrade, and failures at every step of an upgrade --------------------------------------


def test_upgrade_and_downgrade(fake, admin, reader, state, config_path):
    response = install(admin, UPGRADE, "1.0.0")
    assert response.status_code == 200, response.text
    assert_package_is(state, fake, UPGRADE, "1.0.0")
    row = installed_row(reader, UPGRADE)
    assert (row["version"], row["latestVersion"], row["updateAvailable"]) == ("1.0.0", "2.0.0", True)
    assert [p["description"] for p in plugin_entry(reader, UPGRADE)["parameters"]] == ["v1 key"]

    upgrade = install(admin, UPGRADE, "^2.0.0")
    assert upgrade.status_code == 200, upgrade.text
    assert (upgrade.json()["plugin"]["version"], upgrade.json()["requiresRestart"]) == ("2.0.0", True)
    assert_package_is(state, fake, UPGRADE, "2.0.0")
    assert (install_dir(state, UPGRADE) / "node_modules" / DEP / "package.json").exists(), "2.0.0's dependency"
    record = read_config(config_path)["plugins"]["installs"][UPGRADE]
    assert (record["version"], record["spec"]) == ("2.0.0", f"{UPGRADE}@^2.0.0")
    row = installed_row(reader, UPGRADE)
    assert (row["version"], row["integrity"], row["updateAvailable"]) == ("2.0.0", fake.get(UPGRADE, "2.0.0").integrity, False)
    assert [p["description"] for p in plugin_entry(reader, UPGRADE)["parameters"]] == ["v2 key"]
    assert f"{UPGRADE}@2.0.0 was installed" in reader.get("/api/runtime").json()["pendingRestartReasons"]

    downgrade = install(admin, UPGRADE, "1.0.0")
    assert downgrade.status_code == 200, downgrade.text
    assert downgrade.json()["plugin"]["version"] == "1.0.0"
    assert_package_is(state, fake, UPGRADE, "1.0.0")
    assert not (install_dir(state, UPGRADE) / "node_modules" / DEP).exists(), "2.0.0's dependency is gone with it"
    row = installed_row(reader, UPGRADE)
    assert (row["version"], row["integrity"], row["updateAvailable"]) == ("1.0.0", fake.get(UPGRADE, "1.0.0").integrity, True)
    history = history_dump(state)
    assert history.count(f"'{UPGRADE}'") >= 3, history
    assert leftovers(state) == []

    # The same version again: nothing to do, no restart needed.
    before = snapshot(state, config_path)
    again = install(admin, UPGRADE, "1.0.0")
    assert again.status_code == 200 and again.json()["requiresRestart"] is False, again.text
    assert_unchanged(before, snapshot(state, config_path), "reinstalling the same version")


@pytest.fixture
def upgrade_base(fake, admin, reader, state, config_path):
    """UPGRADE at 1.0.0 (installed if it is not), and a snapshot of everything."""
    row = installed_row(reader, UPGRADE)
    if row is None or row["version"] != "1.0.0":
        assert install(admin, UPGRADE, "1.0.0").status_code == 200
    return snapshot(state, config_path)


def assert_previous_intact(fake, reader, state, config_path, before, why):
    assert_unchanged(before, snapshot(state, config_path), why)
    assert_package_is(state, fake, UPGRADE, "1.0.0")
    assert installed_row(reader, UPGRADE)["version"] == "1.0.0"


UPGRADE_FAILURES = [
    # (step, status, words the error must contain)
    ("download-500", 502, "500"),
    ("download-hangs", 504, "time"),
    ("integrity", 422, "integrity"),
    ("signature", 422, "signature"),
    ("tarball-symlink", 422, "package/link"),
    ("dependency-404", 422, "e2e-fake-dep-missing"),
    ("package-json-names-another", 422, "left-pad"),
    ("duplicate-package-json", 422, "left-pad"),
]


@pytest.mark.parametrize("step,status,words", UPGRADE_FAILURES, ids=[f[0] for f in UPGRADE_FAILURES])
def test_a_failed_upgrade_leaves_the_previous_version(step, status, words, fake, admin, reader, state, config_path, upgrade_base):
    version = FAILING_UPGRADES[step]
    if step == "download-500":
        fake.set_tarball(UPGRADE, version, "500")
    elif step == "download-hangs":
        fake.set_tarball(UPGRADE, version, "hang")
    elif step == "integrity":
        fake.set_tarball(UPGRADE, version, "tamper")
    op = str(uuid.uuid4())
    started = time.monotonic()
    response = install(admin, UPGRADE, version, op=op)
    assert response.status_code == status, response.text
    assert words.lower() in response.json()["error"].lower(), response.json()["error"]
    if step == "download-hangs":
        assert time.monotonic() - started < 15
    record = operation(reader, op)
    assert (record["state"], record["phase"]) == ("failed", "failed") and record["error"]
    assert NPM_TOKEN_SECRET not in json.dumps(record) + response.text
    assert_previous_intact(fake, reader, state, config_path, upgrade_base, f"a failed upgrade ({step})")


def chattr(path: Path, flag: str) -> None:
    result = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, f"chattr {flag} {path}: {result.stderr}"


def test_a_swap_that_cannot_move_the_old_version_aside_changes_nothing(fake, admin, reader, state, config_path, upgrade_base):
    """The install root refuses changes (immutable): the first rename of the swap fails."""
    root = state / "plugins" / "installed"
    chattr(root, "+i")
    try:
        response = install(admin, UPGRADE, "2.0.0")
    finally:
        chattr(root, "-i")
    assert response.status_code == 502, response.text
    assert_previous_intact(fake, reader, state, config_path, upgrade_base, "a failed swap")


def test_a_swap_that_fails_halfway_puts_the_old_version_back(fake, install_stack, reader, state, config_path, upgrade_base):
    """The staging folder becomes immutable while npm runs: the old version is moved aside, the new
    one cannot be moved in, and the old one must go back."""
    op = str(uuid.uuid4())
    staging_root = state / "plugins" / ".staging"
    outcome = {}

    def run():
        with install_stack.client(install_stack.adminToken) as session:
            outcome["response"] = install(session, UPGRADE, "2.0.0", op=op)

    thread = threading.Thread(target=run)
    thread.start()
    locked = False
    try:
        wait_until(lambda: (staging_root / op / "package.json").exists(), 30, "npm to start in the staging folder", interval=0.01)
        chattr(staging_root, "+i")
        locked = True
        thread.join(120)
    finally:
        if locked:
            chattr(staging_root, "-i")
        thread.join(120)
    response = outcome["response"]
    assert response.status_code == 502, response.text
    # plugind could not delete its staging folder while it was immutable: that is this test's doing.
    shutil.rmtree(staging_root / op, ignore_errors=True)
    assert_previous_intact(fake, reader, state, config_path, upgrade_base, "a swap that failed halfway")


def test_a_failed_agent_config_write_puts_the_old_version_back(fake, admin, reader, state, config_path, upgrade_base, agent_dir):
    """The agent config's directory refuses the new file: the swap is undone before the commit point."""
    chattr(agent_dir, "+i")
    try:
        response = install(admin, UPGRADE, "2.0.0")
    finally:
        chattr(agent_dir, "-i")
    assert response.status_code in (502, 503), response.text
    assert_previous_intact(fake, reader, state, config_path, upgrade_base, "a failed config write")


def test_a_key_that_expired_after_publication_still_verifies(fake, admin, reader, state):
    """npm's rule: the key must not have expired when the version was published (it may have since)."""
    published = fake.get(SIGNED_LATER, "1.0.0").published_at
    assert published < "2025-06-01"
    fake.set_keys("ok", expires="2025-06-01T00:00:00.000Z")
    op = str(uuid.uuid4())
    response = install(admin, SIGNED_LATER, op=op)
    assert response.status_code == 200, response.text
    assert any("signature verified" in line for line in operation(reader, op)["logTail"])
    assert uninstall(admin, SIGNED_LATER).status_code == 200


def test_a_package_with_only_a_shasum_is_refused_unless_sha1_is_allowed(fake, admin, reader, state, config_path, baseline):
    """sha1 alone is refused by default (issue 16, overriding contract 3.4); the capped stack allows it."""
    response = install(admin, SHASUM_ONLY)
    assert response.status_code == 422, response.text
    assert "allowSha1Integrity" in response.json()["error"], response.text
    assert_unchanged(baseline, snapshot(state, config_path), "a sha1-only package")


def test_two_packages_mapping_to_one_install_directory_is_409(fake, admin, reader, state, config_path):
    assert install_dir(state, CLASH_A) == install_dir(state, CLASH_B)
    assert install(admin, CLASH_A).status_code == 200
    before = snapshot(state, config_path)
    response = install(admin, CLASH_B)
    assert response.status_code == 409, response.text
    assert CLASH_A in response.json()["error"]
    assert_unchanged(before, snapshot(state, config_path), "a directory clash")
    assert_package_is(state, fake, CLASH_A, "1.0.0")


# --- refusals: nothing changes ----------------------------------------------------------------------


@pytest.fixture
def baseline(fake, admin, reader, state, config_path):
    """BASIC installed (so a refusal has a real install to leave alone), and a snapshot of everything."""
    if installed_row(reader, BASIC) is None:
        assert install(admin, BASIC).status_code == 200
    return snapshot(state, config_path)


REFUSALS = [
    # (case, status, words in the error)
    ("tampered", 422, "integrity"),
    ("bad-signature", 422, "signature"),
    ("unknown-keyid", 422, "key"),
    ("keys-404", 422, "keys"),
    ("keys-500", 502, "keys"),
    ("key-expired-before-publication", 422, "expired"),
    ("shasum-tampered", 422, "shasum"),
    ("insecure-tarball-url", 422, "https"),
    ("tar-dotdot", 422, "package/../../evil.js"),
    ("tar-absolute", 422, "/tmp/plugind-e2e-evil.js"),
    ("tar-outside", 422, "elsewhere/evil.js"),
    ("tar-symlink", 422, "package/link"),
    ("tar-hardlink", 422, "package/hard.js"),
    ("tar-fifo", 422, "package/fifo"),
    ("tar-chardev", 422, "package/null"),
    ("tar-many-entries", 422, "entries"),
    ("tar-sparse-1g", 422, "package/sparse.bin"),
    ("tar-declared-1g", 422, "package/huge.bin"),
    ("tar-pax-sparse-1g", 422, "sparse"),
    ("tar-other-name", 422, "left-pad"),
    ("tar-duplicate-package-json", 422, "left-pad"),
]


@pytest.mark.parametrize("case,status,words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_install_changes_nothing(case, status, words, fake, admin, reader, state, config_path, baseline):
    version = REFUSAL_VERSIONS[case]
    if case == "tampered":
        fake.set_tarball(REFUSE, version, "tamper")
    elif case == "keys-404":
        fake.set_keys("404")
    elif case == "keys-500":
        fake.set_keys("500")
    elif case == "key-expired-before-publication":
        fake.set_keys("ok", expires="2020-01-01T00:00:00.000Z")
    elif case == "shasum-tampered":
        fake.set_tarball(REFUSE, version, "tamper")
    op = str(uuid.uuid4())
    response = install(admin, REFUSE, version, op=op)
    assert response.status_code == status, response.text
    assert words.lower() in response.json()["error"].lower(), response.json()["error"]
    assert REFUSE in response.json()["error"], "a refusal names the package it refused"
    assert operation(reader, op)["state"] == "failed"
    assert_unchanged(baseline, snapshot(state, config_path), f"refused install ({case})")
    assert installed_row(reader, REFUSE) is None
    assert plugin_entry(reader, REFUSE) is None


def test_upstream_failures_change_nothing(fake, admin, reader, state, config_path, baseline):
    # Unknown package: 404.
    unknown = install(admin, MISSING)
    assert unknown.status_code == 404 and MISSING in unknown.json()["error"], unknown.text
    # No version satisfies: 422 listing the dist-tags.
    none = install(admin, PICKY, "^9.0.0")
    assert none.status_code == 422, none.text
    message = none.json()["error"]
    assert "^9.0.0" in message and "latest: 2.0.0" in message and "next: 3.0.0-alpha.1" in message, message
    unknown_tag = install(admin, PICKY, "nosuchtag")
    assert unknown_tag.status_code == 422 and "latest: 2.0.0" in unknown_tag.json()["error"], unknown_tag.text
    # The registry answers 500: 502.
    fake.set_packument(REFUSE, "500")
    failed = install(admin, REFUSE, "1.0.0")
    assert failed.status_code == 502, failed.text
    # A dependency's packument answers 500: the message names that request, and no server path or npm log.
    fake.reset()
    fake.set_packument(DEP, "500")
    dependency = install(admin, ALPHA, "1.0.0")
    assert dependency.status_code == 502, dependency.text
    message = dependency.json()["error"]
    assert DEP in message and "500" in message, message
    assert "complete log" not in message and str(state) not in message and "/var/" not in message, message
    # The registry never answers: 504 within the fetch timeout (2 s), not the hang.
    fake.set_packument(REFUSE, "hang")
    started = time.monotonic()
    hung = install(admin, REFUSE, "1.0.0")
    assert hung.status_code == 504, hung.text
    assert time.monotonic() - started < 10
    fake.reset()
    assert_unchanged(baseline, snapshot(state, config_path), "upstream failures")


HOSTILE_NAMES = ["../x", "%2e%2e", "a\u0000b", "UPPER", "x" * 300, "", " plugin-space", "plugin-e2e-basic ", ".hidden",
                 "_underscore", "node_modules", "@e2e-fake/../x", "@e2e-fake/", "café", "@e2e-fake/plugin-UPPER",
                 "a/b", "plugin\nnewline"]


def test_hostile_names_and_versions_are_400(admin, reader, state, config_path, baseline):
    for name in HOSTILE_NAMES:
        response = install(admin, name)
        assert response.status_code == 400, f"{name!r}: {response.status_code} {response.text}"
        assert "\u0000" not in response.json()["error"]
    for version in ["1.0.0; rm -rf /", "^^1", "not a version!", "1.0.0 <<", "\u0000"]:
        response = install(admin, BASIC, version)
        assert response.status_code == 400, f"{version!r}: {response.status_code} {response.text}"
    for body in [{"name": 5}, {"name": BASIC, "version": 1}, {"name": BASIC, "enable": "yes"}, {"name": BASIC, "extra": 1}, {}]:
        response = admin.post("/api/plugins/install", json=body)
        assert response.status_code == 400, f"{body}: {response.text}"
    response = install(admin, BASIC, op="not-a-uuid")
    assert response.status_code == 400, response.text
    for path in ("/api/plugins/install", "/api/plugins/uninstall"):
        typed = admin.post(path, data=f'{{"name": "{BASIC}"}}', headers={"Content-Type": "text/plain"})
        assert typed.status_code == 415, typed.text
        assert admin.options(path).status_code == 204
        assert admin.get(path).status_code == 405
    assert admin.options("/api/plugins/installed").status_code == 204
    for name in ["../x", "%2e%2e", ""]:
        assert uninstall(admin, name).status_code == 400, name
    assert reader.post("/api/plugins/install", json={"name": BASIC}).status_code == 403
    assert_unchanged(baseline, snapshot(state, config_path), "hostile names")


def test_an_unlisted_package_is_422_by_default(fake, admin, state, config_path, baseline):
    since = time.monotonic()
    response = install(admin, UNLISTED)
    assert response.status_code == 422, response.text
    assert "registry" in response.json()["error"] and UNLISTED in response.json()["error"]
    assert not fake.seen("plugin-unlisted", since=since), "nothing was fetched for it"
    assert_unchanged(baseline, snapshot(state, config_path), "an unlisted package")


# --- uninstall ----------------------------------------------------------------------------------------


def test_uninstall_refusals(admin, reader, state, config_path, baseline):
    missing = uninstall(admin, "plugin-e2e-never-installed")
    assert missing.status_code == 404, missing.text
    bundled = uninstall(admin, "@elizaos/plugin-discord")  # in catalogue/plugins.json, no install record
    assert bundled.status_code == 409, bundled.text
    ejected = state / "plugins" / "ejected" / directory_name(f"{SCOPE}/plugin-ejected")
    ejected.mkdir(parents=True)
    try:
        (ejected / "package.json").write_text(json.dumps({"name": f"{SCOPE}/plugin-ejected", "version": "1.0.0"}))
        snap = snapshot(state, config_path)
        refused = uninstall(admin, f"{SCOPE}/plugin-ejected")
        assert refused.status_code == 409 and "reinject" in refused.json()["error"], refused.text
        assert_unchanged(snap, snapshot(state, config_path), "uninstalling an ejected plugin")
    finally:
        shutil.rmtree(state / "plugins" / "ejected")
    assert_unchanged(baseline, snapshot(state, config_path), "refused uninstalls")


def write_config(path: Path, document: dict) -> None:
    """Replaces the agent config as plugind would: same owner, group and mode (plugind runs as its own user)."""
    before = path.stat()
    temp = path.with_name(path.name + ".e2e-tmp")
    temp.write_text(json.dumps(document, indent=2) + "\n")
    os.chown(temp, before.st_uid, before.st_gid)
    temp.chmod(stat.S_IMODE(before.st_mode))
    os.replace(temp, path)


def test_uninstall_never_touches_a_path_outside_the_install_root(admin, state, config_path, baseline, tmp_path):
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "canary.txt").write_text("still here")
    original = config_path.read_bytes()
    document = json.loads(original)
    name = f"{SCOPE}/plugin-outside"
    document["plugins"]["installs"][name] = {"source": "npm", "spec": f"{name}@1.0.0", "installPath": str(outside),
                                            "version": "1.0.0", "installedAt": "2026-01-01T00:00:00.000Z"}
    write_config(config_path, document)
    try:
        edited = snapshot(state, config_path)
        response = uninstall(admin, name)
        assert response.status_code == 409, response.text
        assert (outside / "canary.txt").read_text() == "still here"
        assert_unchanged(edited, snapshot(state, config_path), "an install record pointing outside the install root")
    finally:
        config_path.write_bytes(original)
    assert_unchanged(baseline, snapshot(state, config_path), "the config put back")


def test_uninstall_with_purge_config_removes_only_keys_no_other_plugin_declares(fake, admin, reader, state, config_path):
    for name in (PURGE_P, PURGE_Q):
        assert install(admin, name).status_code == 200
    update = admin.put("/api/plugins/purge-p", json={"config": {
        "E2E_P_ONLY_KEY": "p-value", "E2E_SHARED_SETTING": "shared", "ANTHROPIC_API_KEY": "sk-ant-e2e-0123456789abcdef"}})
    assert update.status_code == 200, update.text
    env = read_config(config_path)["env"]
    assert {k: env.get(k) for k in ("E2E_P_ONLY_KEY", "E2E_SHARED_SETTING")} == {"E2E_P_ONLY_KEY": "p-value", "E2E_SHARED_SETTING": "shared"}

    op = str(uuid.uuid4())
    response = uninstall(admin, PURGE_P, purge=True, op=op)
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "requiresRestart": True, "pluginName": PURGE_P,
                               "message": f"{PURGE_P} was uninstalled; it is unloaded when the agent restarts."}
    config = read_config(config_path)
    assert "E2E_P_ONLY_KEY" not in config["env"]
    assert config["env"]["E2E_SHARED_SETTING"] == "shared", "Q declares it too"
    assert config["env"]["ANTHROPIC_API_KEY"] == "sk-ant-e2e-0123456789abcdef", "the bundled anthropic plugin declares it"
    assert PURGE_P not in config["plugins"].get("installs", {})
    assert PURGE_P not in config["plugins"].get("entries", {})
    # Renamed away, then deleted: nothing left anywhere.
    assert not install_dir(state, PURGE_P).exists()
    assert leftovers(state) == []
    assert installed_row(reader, PURGE_P) is None and plugin_entry(reader, PURGE_P) is None
    record = operation(reader, op)
    assert (record["kind"], record["state"]) == ("uninstall", "succeeded")
    assert f"{PURGE_P} was uninstalled" in reader.get("/api/runtime").json()["pendingRestartReasons"]

    # Without purgeConfig the keys stay.
    assert uninstall(admin, PURGE_Q).status_code == 200
    assert read_config(config_path)["env"]["E2E_SHARED_SETTING"] == "shared"
    assert not install_dir(state, PURGE_Q).exists()
    # Gone: a second uninstall is 404.
    assert uninstall(admin, PURGE_Q).status_code == 404


def test_a_disabled_install_and_its_uninstall(fake, admin, reader, state, config_path):
    response = install(admin, QUIET, enable=False)
    assert response.status_code == 200, response.text
    entry = plugin_entry(reader, QUIET)
    assert (entry["source"], entry["enabled"]) == ("installed", False)
    assert read_config(config_path)["plugins"].get("entries", {}).get(QUIET, {}).get("enabled") in (None, False)
    # The same version with enable (the default) only enables it.
    before = tree(state / "plugins")
    again = install(admin, QUIET)
    assert again.status_code == 200 and again.json()["requiresRestart"] is True, again.text
    assert plugin_entry(reader, QUIET)["enabled"] is True
    assert tree(state / "plugins") == before
    assert admin.put("/api/plugins/quiet", json={"enabled": False}).status_code == 200
    gone = uninstall(admin, QUIET)
    assert gone.status_code == 200 and gone.json() == {"ok": True, "requiresRestart": False, "pluginName": QUIET,
                                                      "message": f"{QUIET} was uninstalled."}, gone.text


def test_a_record_whose_directory_is_gone_shows_missing(fake, admin, reader, state, config_path):
    """`missing` is on every row: true when the record's directory is gone, false otherwise."""
    assert install(admin, TAGGED, "1.0.0").status_code == 200
    assert installed_row(reader, TAGGED)["missing"] is False
    shutil.rmtree(install_dir(state, TAGGED))
    row = installed_row(reader, TAGGED)
    assert row["missing"] is True and row["version"] == "1.0.0"
    # Installing again repairs it.
    assert install(admin, TAGGED, "1.0.0").status_code == 200
    assert installed_row(reader, TAGGED)["missing"] is False
    # A directory without a record still shows (installedAt unknown).
    original = config_path.read_bytes()
    document = json.loads(original)
    del document["plugins"]["installs"][TAGGED]
    write_config(config_path, document)
    try:
        row = installed_row(reader, TAGGED)
        assert row is not None and (row["version"], row["installedAt"], row["installPath"]) == (
            "1.0.0", None, str(install_dir(state, TAGGED))), row
        assert row["missing"] is False
    finally:
        config_path.write_bytes(original)


# --- the operations cap, npm past its timeout, unlisted allowed, no registry -------------------------


@pytest.fixture(scope="module")
def capped_stack(fake):
    """One long operation at a time, unlisted packages and sha1-only packages allowed, npm limited to 5 s."""
    yield from _run_stack(stack_env(fake, PLUGIND_MAX_CONCURRENT_OPERATIONS="1", PLUGIND_ALLOW_UNLISTED_PACKAGES="true",
                                    PLUGIND_ALLOW_SHA1_INTEGRITY="true", PLUGIND_TIMEOUT_NPM_MS="5000"))


def test_a_package_with_only_a_shasum_is_verified_by_it_when_allowed(fake, capped_stack):
    state = capped_stack.stateDir
    with capped_stack.client(capped_stack.adminToken) as session:
        response = install(session, SHASUM_ONLY)
        assert response.status_code == 200, response.text
        assert_package_is(state, fake, SHASUM_ONLY, "1.0.0")
        assert installed_row(session, SHASUM_ONLY)["integrity"] == fake.get(SHASUM_ONLY, "1.0.0").shasum
        # A tampered one still fails its shasum.
        fake.set_tarball(SHASUM_ONLY, "1.0.0", "tamper")
        try:
            assert uninstall(session, SHASUM_ONLY).status_code == 200
            refused = install(session, SHASUM_ONLY)
            assert refused.status_code == 422 and "shasum" in refused.json()["error"], refused.text
        finally:
            fake.reset()


def test_more_operations_than_the_cap_is_503_with_retry_after(fake, capped_stack):
    with capped_stack.client(capped_stack.adminToken) as session:
        # An unlisted package installs: allowUnlistedPackages is on here.
        response = install(session, UNLISTED)
        assert response.status_code == 200, response.text
    name = SLOW[0]
    fake.set_tarball(name, "1.0.0", "slow", slow=(8, 0.25))
    op = str(uuid.uuid4())
    outcome = {}

    def first():
        with capped_stack.client(capped_stack.adminToken) as session:
            outcome["response"] = install(session, name, op=op)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        with capped_stack.client(capped_stack.adminToken) as session:
            wait_until(lambda: session.get(f"/api/operations/{op}").status_code == 200, 15, "the first install to register")
            busy = install(session, QUIET)
            assert busy.status_code == 503, busy.text
            assert int(busy.headers["Retry-After"]) > 0
            busy_uninstall = uninstall(session, UNLISTED)
            assert busy_uninstall.status_code == 503 and int(busy_uninstall.headers["Retry-After"]) > 0, busy_uninstall.text
    finally:
        thread.join(60)
    assert outcome["response"].status_code == 200, outcome["response"].text
    # The slot is free again.
    with capped_stack.client(capped_stack.adminToken) as session:
        response = uninstall(session, UNLISTED)
        assert response.status_code == 200, response.text


def test_a_hanging_dependency_is_504_before_npm_ever_starts(fake, capped_stack):
    """plugind walks the tree itself: a dependency's packument that never comes is its own fetch timing out."""
    state = capped_stack.stateDir
    config = state / "milady.json"
    with capped_stack.client(capped_stack.adminToken) as session:
        before = snapshot(state, config)
        fake.set_packument(DEP_HANG, "hang")
        op = str(uuid.uuid4())
        started = time.monotonic()
        try:
            response = install(session, REFUSE, REFUSAL_VERSIONS["npm-hangs"], op=op)
        finally:
            fake.reset()
        assert response.status_code == 504, response.text
        assert DEP_HANG in response.json()["error"] or "packument" in response.json()["error"], response.text
        assert time.monotonic() - started < 15
        log = operation(session, op)["logTail"]
        assert not any(line.startswith("npm") for line in log), log
        assert_unchanged(before, snapshot(state, config), "a hanging dependency")


@pytest.fixture(scope="module")
def npm_timeout_stack(fake):
    """npm gets 50 ms: no npm run finishes in that, so every install meets npm's timeout."""
    yield from _run_stack(stack_env(fake, PLUGIND_TIMEOUT_NPM_MS="50"))


def test_npm_past_its_timeout_is_504_and_npm_is_killed(fake, npm_timeout_stack):
    stack = npm_timeout_stack
    state = stack.stateDir
    config = state / "milady.json"
    with stack.client(stack.adminToken) as session:
        before = snapshot(state, config)
        response = install(session, ALPHA, "1.1.0")
        assert response.status_code == 504, response.text
        assert "npm" in response.json()["error"]
        plugind = stack.pids["plugind"]
        wait_until(lambda: descendants(plugind) == [], 10, "npm's process group to be gone")
        # A fresh stack: the first install created the empty directories installs use, and nothing else.
        after = snapshot(state, config)
        assert after["config"] == before["config"] and after["installHistory"] == before["installHistory"]
        assert [k for k in after["plugins"] if k.startswith("installed/") and k != "installed/"] == []
        assert leftovers(state) == []


def test_no_registry_snapshot_is_503(fake):
    closed = f"http://127.0.0.1:{free_port()}/generated-registry.json"
    with run_stack(stack_env(fake, PLUGIND_PLUGIN_REGISTRY_URLS=closed)) as stack, stack.client(stack.adminToken) as session:
        before = snapshot(stack.stateDir, stack.stateDir / "milady.json")
        response = install(session, BASIC)
        # Offline, the registry answers from the bundled catalogue, which cannot say it does not list BASIC:
        # one sentence naming the settings that fix it, no URL list (issue 20).
        assert response.status_code == 503, response.text
        message = response.json()["error"]
        assert len(message) <= 300 and "pluginRegistryUrls" in message and "allowUnlistedPackages" in message, message
        assert "127.0.0.1" not in message, message
        assert_unchanged(before, snapshot(stack.stateDir, stack.stateDir / "milady.json"), "no registry")


# --- crashes --------------------------------------------------------------------------------------------


@pytest.fixture
def crash_state():
    """A state directory of its own (short: the socket path must stay under 100 bytes), removed after a pass."""
    base = Path(tempfile.mkdtemp(prefix="plugind-e2e-crash-"))
    yield base / "state"
    if not os.environ.get("PLUGIND_E2E_KEEP"):
        shutil.rmtree(base, ignore_errors=True)


def crash_env(fake: FakeNpm) -> dict[str, str]:
    return stack_env(fake, PLUGIND_TIMEOUT_NPM_MS="120000", PLUGIND_TIMEOUT_TARBALL_MS="60000")


def kill_plugind(stack) -> None:
    """SIGKILL plugind (and anything it started itself; npm is the runner's, which ends it when plugind is gone)."""
    pid = stack.pids["plugind"]
    children = descendants(pid)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), 10, "plugind to die")
    for child in children:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(child) == child:
                os.killpg(child, signal.SIGKILL)


def post_in_background(stack, name, version, op) -> threading.Thread:
    def run():
        with contextlib.suppress(Exception), stack.client(stack.adminToken) as session:
            install(session, name, version, op=op, timeout=180)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def db_operation(state: Path, op: str) -> dict | None:
    with contextlib.closing(sqlite3.connect(f"file:{state / 'state.db'}?mode=ro", uri=True, timeout=5)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM operation WHERE id = ?", (op,)).fetchone()
        return dict(row) if row else None


def nice_of(stat_path: str) -> int:
    """The nice value in a /proc/…/stat line (field 19; the name in parentheses may hold spaces)."""
    text = Path(stat_path).read_text()
    return int(text[text.rindex(")") + 2:].split()[16])


def test_crash_while_npm_runs_restores_the_previous_version(fake, crash_state):
    state = crash_state
    config = state / "milady.json"
    with run_stack(crash_env(fake), state_dir=state, plugind_may_die=True) as stack:
        with stack.client(stack.adminToken) as session:
            assert install(session, CRASHY, "1.0.0").status_code == 200
        before = snapshot(state, config)
        op = str(uuid.uuid4())
        thread = post_in_background(stack, CRASHY, "2.0.0", op)

        def npm_processes() -> list[int]:
            found = []
            # npm is the runner's child (the installer user's), never plugind's.
            for pid in descendants(stack.pids["runner"]):
                with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                    # Past exec: a child caught between fork and exec still shows plugind's own environment.
                    if b"npm" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        found.append(pid)
            return found

        wait_until(lambda: (db_operation(state, op) or {}).get("phase") == "installing" and npm_processes(),
                   60, "npm to run", interval=0.01)
        assert (state / "plugins" / ".staging" / op).exists()
        # npm runs offline: the registry token is neither on its command line, nor in its environment, nor in its npmrc.
        npm_processes = npm_processes()
        assert npm_processes, "npm is not running"
        import pwd
        installer = pwd.getpwnam("plugind-install").pw_uid
        assert all(os.stat(f"/proc/{pid}").st_uid == installer for pid in npm_processes), "npm runs as the installer user"
        assert not descendants(stack.pids["plugind"]), "plugind itself starts no npm"
        # npm runs behind plugind's reads: nice 10 in every one of its threads, as is the runner that started it.
        for pid in npm_processes:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                for tid in os.listdir(f"/proc/{pid}/task"):
                    assert nice_of(f"/proc/{pid}/task/{tid}/stat") == 10, f"npm thread {tid} is not lowered"
        assert nice_of(f"/proc/{stack.pids['runner']}/stat") == 10, "the runner is not lowered"
        for pid in npm_processes:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                assert NPM_TOKEN_SECRET.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
                assert NPM_TOKEN_SECRET.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
        npmrc = [p for p in (state / "plugins" / ".staging" / op).iterdir() if "npmrc" in p.name]
        assert npmrc and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in npmrc), npmrc
        assert all(NPM_TOKEN_SECRET not in p.read_text() for p in npmrc)
        kill_plugind(stack)
        # The runner sees plugind's connection close and ends the npm it was running for it.
        wait_until(lambda: not any(pid_alive(pid) for pid in npm_processes), 15, "the runner to end npm once plugind was gone")
    thread.join(30)
    fake.reset()
    with run_stack(crash_env(fake), state_dir=state, plugind_may_die=True) as stack, stack.client(stack.readToken) as reader:
        record = operation(reader, op)
        assert (record["state"], record["phase"]) == ("failed", "failed"), record
        assert "Interrupted" in record["error"]
        assert_unchanged(before, snapshot(state, config), "after a crash while npm ran")
        assert leftovers(state) == []
        assert_package_is(state, fake, CRASHY, "1.0.0")
        assert installed_row(reader, CRASHY)["version"] == "1.0.0"


def test_crash_right_after_the_config_write_keeps_the_new_version(fake, crash_state):
    state = crash_state
    config = state / "milady.json"
    with run_stack(crash_env(fake), state_dir=state, plugind_may_die=True) as stack:
        with stack.client(stack.adminToken) as session:
            assert install(session, BIGOLD, "1.0.0", timeout=300).status_code == 200
        op = str(uuid.uuid4())
        thread = post_in_background(stack, BIGOLD, "2.0.0", op)

        def written() -> bool:
            with contextlib.suppress(OSError, ValueError, KeyError):
                return json.loads(config.read_bytes())["plugins"]["installs"][BIGOLD]["version"] == "2.0.0"
            return False

        wait_until(written, 120, "the agent config to name 2.0.0", interval=0.0005)
        kill_plugind(stack)
        aside_left = (state / "plugins" / ".aside" / op).exists()
    thread.join(30)
    with run_stack(crash_env(fake), state_dir=state, plugind_may_die=True) as stack, stack.client(stack.readToken) as reader:
        record = operation(reader, op)
        assert (record["state"], record["phase"]) == ("succeeded", "done"), record
        assert aside_left, "plugind had already finished: the window after the config write was missed"
        assert any("after the change was committed" in line for line in record["logTail"]), record["logTail"]
        # The record answers what the install would have, rebuilt from its checkpoint, never null.
        result = record["result"]
        assert result is not None, record
        assert result["ok"] is True and result["requiresRestart"] is True and result["forced"] is False
        assert result["plugin"]["name"] == BIGOLD and result["plugin"]["version"] == "2.0.0"
        assert result["plugin"]["installPath"] == json.loads(config.read_bytes())["plugins"]["installs"][BIGOLD]["installPath"]
        assert "loaded" in result and "loadError" in result
        assert result["warnings"][-1] == record["logTail"][-1] and result["warnings"][-1].endswith("the change is complete."), result
        assert leftovers(state) == []
        assert_package_is(state, fake, BIGOLD, "2.0.0")
        assert not (package_dir(state, BIGOLD) / "many").exists(), "nothing of 1.0.0 is mixed in"
        row = installed_row(reader, BIGOLD)
        assert row["version"] == "2.0.0"
        assert row["integrity"] in (fake.get(BIGOLD, "2.0.0").integrity, None), \
            f"the installed list shows 1.0.0's integrity for 2.0.0: {row['integrity']}"
        # The change is committed, so the runtime must still be told to restart for it.
        reasons = reader.get("/api/runtime").json()["pendingRestartReasons"]
        assert any(BIGOLD in reason for reason in reasons), f"no restart pending for the recovered install: {reasons}"


# The states a crash during the swap leaves, written by hand (see the module docstring).
FORGED = [
    # (case, kind, checkpoint step, had a previous version, layout, config names the new version, expected)
    ("swapping-before-any-rename", "install", "swapping", True, "old-in-place+new-staged", False, "old"),
    ("swapping-between-renames", "install", "swapping", True, "old-aside+new-staged", False, "old"),
    ("swapping-after-both-renames", "install", "swapping", True, "old-aside+new-in-place", False, "old"),
    ("swapped-before-config-write", "install", "swapped", True, "old-aside+new-in-place", False, "old"),
    ("swapped-after-config-write", "install", "swapped", True, "old-aside+new-in-place", True, "new"),
    ("committed", "install", "committed", True, "old-aside+new-in-place", True, "new"),
    ("fresh-swapped-before-config-write", "install", "swapped", False, "new-in-place", False, "none"),
    ("fresh-swapping-after-rename", "install", "swapping", False, "new-in-place", False, "none"),
    ("uninstall-moved-before-config-write", "uninstall", "moved", True, "old-aside", False, "old"),
    ("uninstall-moved-after-config-write", "uninstall", "moved", True, "old-aside", True, "none"),
]


def forged_tree(root: Path, name: str, version: str) -> None:
    """An install directory as plugind leaves it: the project manifest and npm's tree."""
    package = root / "node_modules" / name
    package.mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"name": "plugind-install", "private": True, "dependencies": {name: version}}))
    (package / "package.json").write_text(json.dumps(manifest(name, version)))
    (package / "index.js").write_text(f"module.exports = {{ version: {json.dumps(version)} }};\n")


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_crash_recovery_from_every_checkpoint(fake, crash_state):
    state = crash_state
    config = state / "milady.json"
    with run_stack(crash_env(fake), state_dir=state):
        pass  # the state directory, its database and tokens
    installs, ops = {}, {}
    names = {case: f"{SCOPE}/plugin-forged-{i}" for i, (case, *_) in enumerate(FORGED)}
    plugins = state / "plugins"
    pid = dead_pid()
    with contextlib.closing(sqlite3.connect(state / "state.db", timeout=10)) as db:
        for case, kind, step, had_previous, layout, config_new, _ in FORGED:
            name, op = names[case], str(uuid.uuid4())
            ops[case] = op
            target, aside, staging = install_dir(state, name), plugins / ".aside" / op, plugins / ".staging" / op
            if "old-in-place" in layout:
                forged_tree(target, name, "1.0.0")
            if "old-aside" in layout:
                forged_tree(aside, name, "1.0.0")
            if "new-staged" in layout:
                forged_tree(staging, name, "2.0.0")
            if "new-in-place" in layout:
                forged_tree(target, name, "2.0.0")
            if kind == "install":
                version = "2.0.0" if config_new or not had_previous else "1.0.0"
                if config_new or had_previous:
                    installs[name] = {"source": "npm", "spec": f"{name}@{version}", "installPath": str(target),
                                      "version": version, "installedAt": "2026-01-01T00:00:00.000Z"}
                checkpoint = {"step": step, "installPath": str(target), "aside": str(aside), "staging": str(staging),
                              "version": "2.0.0", "hadPrevious": had_previous}
            else:
                if not config_new:
                    installs[name] = {"source": "npm", "spec": f"{name}@1.0.0", "installPath": str(target),
                                      "version": "1.0.0", "installedAt": "2026-01-01T00:00:00.000Z"}
                checkpoint = {"step": step, "installPath": str(target), "aside": str(aside)}
            if had_previous:  # the earlier, committed install of 1.0.0 left its integrity in the history
                db.execute("INSERT INTO installHistory (name, version, integrity, installedAt, operationId)"
                           " VALUES (?, '1.0.0', ?, '2026-01-01T00:00:00.000Z', ?)", (name, f"sha512-old-{case}", str(uuid.uuid4())))
            db.execute(
                "INSERT INTO operation (id, kind, target, state, phase, progress, startedAt, logTail, ownerPid, ownerToken, checkpoint)"
                " VALUES (?, ?, ?, 'running', 'activating', 0.9, '2026-01-01T00:00:00.000Z', '[]', ?, 'forged', ?)",
                (op, kind, name, pid, json.dumps(checkpoint)))
        db.commit()
    config.write_text(json.dumps({"plugins": {"installs": installs}}, indent=2) + "\n")
    config.chmod(0o600)
    config_before = config.read_bytes()
    with run_stack(crash_env(fake), state_dir=state) as stack, stack.client(stack.readToken) as reader:
        problems = []
        for case, kind, step, had_previous, layout, config_new, expected in FORGED:
            name = names[case]
            record = operation(reader, ops[case])
            want_state = "succeeded" if expected == "new" or (kind == "uninstall" and config_new) else "failed"
            if record["state"] != want_state:
                problems.append(f"{case}: the operation is {record['state']}, not {want_state}")
            target = install_dir(state, name)
            on_disk = json.loads((package_dir(state, name) / "package.json").read_text())["version"] if target.exists() else None
            want_disk = {"old": "1.0.0", "new": "2.0.0", "none": None}[expected]
            if on_disk != want_disk:
                problems.append(f"{case}: the install directory holds {on_disk}, not {want_disk}")
            row = installed_row(reader, name)
            shown = None if row is None or row.get("missing") else row["version"]
            if shown != want_disk:
                problems.append(f"{case}: GET /api/plugins/installed shows {row}, expected version {want_disk}")
            elif expected == "old" and kind == "install" and row["integrity"] != f"sha512-old-{case}":
                problems.append(f"{case}: 1.0.0 is back but the installed list shows integrity {row['integrity']}")
            elif expected == "new" and row["integrity"] == f"sha512-old-{case}":
                problems.append(f"{case}: 2.0.0 is installed but the installed list shows 1.0.0's integrity")
            if kind == "install" and record["state"] == "succeeded" and want_state == "succeeded":
                # (an install always schedules a restart; the forged uninstalls were of disabled plugins)
                reasons = reader.get("/api/runtime").json()["pendingRestartReasons"]
                if not any(name in reason for reason in reasons):
                    problems.append(f"{case}: committed, but no restart is pending for it ({reasons})")
        assert config.read_bytes() == config_before, "recovery never writes the agent config"
        assert leftovers(state) == [], "recovery leaves nothing in .staging, .aside or tmp"
        assert problems == [], "\n".join(problems)
