"""A manifest's apply killed with SIGKILL, end to end (issue 23, docs/fleet.md "Plan and apply").

The agent starts with one package (BIG 1.0.0: 9,000 files, enabled) and a setting. The manifest upgrades BIG to
2.0.0, installs HELD and NEW (NEW depends on a 9,000-file package, so npm takes a while to unpack it), changes the
setting and enables the new plugins. plugind is killed (and, in one case, its runner too) at three moments:

- while it downloads HELD's tarball (the fake npm registry holds the answer back): BIG 2.0.0 is already staged;
- while npm unpacks NEW's tree (plugind alone; then plugind and the runner that runs npm, so npm outlives both and
  the next start must end it before it cleans up);
- right after the agent-config write (the old BIG tree, 9,000 files, is still being deleted).

plugind is then started again on the same state directory. The first two leave the agent exactly as before (the
plugins tree file by file, the agent config's bytes, the install history, `GET /api/manifest`) and the operation
failed as interrupted; the third leaves it exactly as the manifest says (`GET /api/manifest` answers the manifest's
bytes, so every tree on disk is the pinned one) and the operation succeeded. Never a mix of the two.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import uuid
from pathlib import Path

import pytest

from fake_npm import FakeNpm
from helpers import descendants, pid_alive, wait_until
from test_install import (assert_unchanged, crash_state, kill_plugind, leftovers, operation, package_dir,  # noqa: F401 (fixture)
                          run_stack, snapshot, stack_env)

SCOPE = "@e2e-mfc"
BIG = f"{SCOPE}/plugin-big"  # 1.0.0 holds 9,000 files: deleting its old tree after the commit takes a while
HELD = f"{SCOPE}/plugin-held"  # its tarball is held back in the download case
NEW = f"{SCOPE}/plugin-new"  # depends on SLOW_DEP
SLOW_DEP = "e2e-mfc-dep-slow"  # 9,000 files: npm is still unpacking it when the npm cases kill
PARAMETERS = {"MFC_MODE": {"type": "string", "description": "A plain setting the manifest changes."}}
MANY = {f"many/{i:04d}.js": b"" for i in range(9000)}


@pytest.fixture(scope="module")
def fake():
    with FakeNpm(hang_seconds=120) as registry:
        registry.publish(BIG, "1.0.0", parameters=PARAMETERS, files=MANY)
        registry.publish(BIG, "2.0.0", parameters=PARAMETERS)
        registry.publish(HELD, "1.0.0")
        registry.publish(SLOW_DEP, "1.0.0", files=MANY)
        registry.publish(NEW, "1.0.0", dependencies={SLOW_DEP: "^1.0.0"})
        for name, version in ((BIG, "2.0.0"), (HELD, "1.0.0"), (NEW, "1.0.0")):
            registry.list(name, version)
        yield registry


def env(fake: FakeNpm) -> dict[str, str]:
    return stack_env(fake, PLUGIND_TIMEOUT_NPM_MS="240000", PLUGIND_TIMEOUT_TARBALL_MS="120000", PLUGIND_TIMEOUT_TARBALL_IDLE_MS="120000")


def pin(fake: FakeNpm, name: str, version: str) -> str:
    return f"{name}@{version}@{fake.get(name, version).integrity}"


def target_manifest(fake: FakeNpm) -> bytes:
    """The manifest, as an export writes it (so an agent that has exactly this set exports these bytes)."""
    manifest = {
        "ejected": {},
        "manifestVersion": 1,
        "packages": {
            BIG: {"tree": [pin(fake, BIG, "2.0.0")], "version": "2.0.0"},
            HELD: {"tree": [pin(fake, HELD, "1.0.0")], "version": "1.0.0"},
            NEW: {"tree": sorted([pin(fake, NEW, "1.0.0"), pin(fake, SLOW_DEP, "1.0.0")]), "version": "1.0.0"},
        },
        "plugins": {BIG: {"enabled": True}, HELD: {"enabled": True}, NEW: {"enabled": True}},
        "secrets": [],
        "settings": {"MFC_MODE": "new"},
    }
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def apply_in_background(stack, body: bytes, op: str) -> threading.Thread:
    def run():
        with contextlib.suppress(Exception), stack.client(stack.adminToken) as session:
            session.post("/api/manifest/apply", data=body, headers={"Content-Type": "application/json", "X-Operation-Id": op},
                         timeout=300)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def db_phase(state: Path, op: str) -> tuple[str | None, list[str]]:
    import sqlite3
    with contextlib.closing(sqlite3.connect(f"file:{state / 'state.db'}?mode=ro", uri=True, timeout=5)) as db:
        row = db.execute("SELECT phase, logTail FROM operation WHERE id = ?", (op,)).fetchone()
    return (row[0], json.loads(row[1] or "[]")) if row else (None, [])


def npm_processes(stack) -> list[int]:
    """npm runs as the runner's child (the installer user's), never plugind's."""
    found = []
    for pid in descendants(stack.pids["runner"]):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            if b"npm" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


def kill_runner(stack) -> None:
    """SIGKILL the runner alone: npm, in a process group of its own, goes on without it."""
    pid = stack.pids["runner"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), 10, "the runner to die")


def prepared(fake: FakeNpm, state: Path) -> tuple[dict, bytes]:
    """A stack on `state` with BIG 1.0.0 installed and enabled and MFC_MODE set; its snapshot and export."""
    with run_stack(env(fake), state_dir=state) as stack, stack.client(stack.adminToken) as admin:
        r = admin.post("/api/plugins/install", json={"name": BIG, "version": "1.0.0"}, timeout=300)
        assert r.status_code == 200, r.text
        r = admin.put(f"/api/plugins/{BIG.replace('/', '%2F')}", json={"config": {"MFC_MODE": "old"}})
        assert r.status_code == 200, r.text
        export = admin.get("/api/manifest").content
    return snapshot(state, state / "milady.json"), export


@pytest.mark.parametrize("moment", ["downloading", "npm-running", "npm-running-runner-killed"])
def test_sigkill_before_the_commit_leaves_the_agent_as_before(fake, crash_state, moment):
    state = crash_state
    before, export_before = prepared(fake, state)
    assert b'"version": "1.0.0"' in export_before and b'"MFC_MODE": "old"' in export_before
    op = str(uuid.uuid4())
    orphans: list[int] = []
    if moment == "downloading":
        fake.set_tarball(HELD, "1.0.0", "hold")
    try:
        with run_stack(env(fake), state_dir=state, plugind_may_die=True) as stack:
            thread = apply_in_background(stack, target_manifest(fake), op)
            if moment == "downloading":
                # BIG 2.0.0 is staged (npm ran for it); HELD's tarball does not come.
                wait_until(lambda: any(f"install {HELD}@1.0.0" in line for line in db_phase(state, op)[1])
                           and any(p.name.startswith(f"{op}-0") for p in (state / "plugins" / ".staging").iterdir())
                           and fake.seen(fake.get(HELD, "1.0.0").filename),
                           120, "the apply to ask for HELD's tarball", interval=0.05)
            else:
                wait_until(lambda: any(f"install {NEW}@1.0.0" in line for line in db_phase(state, op)[1]) and npm_processes(stack),
                           180, "npm to unpack NEW's tree", interval=0.01)
            # Still staging (the install's own phases: downloading, verifying, installing): nothing swapped yet.
            assert db_phase(state, op)[0] not in ("activating", "configuring", "verifying load", "done", "failed"), db_phase(state, op)
            npm = npm_processes(stack)
            if moment == "npm-running-runner-killed":
                assert npm, "npm is not running"
                # Frozen first, so plugind cannot see the runner go and fail the apply the ordinary way.
                os.kill(stack.pids["plugind"], signal.SIGSTOP)
                kill_runner(stack)
                orphans = [pid for pid in npm if pid_alive(pid)]
            kill_plugind(stack)
        thread.join(30)
    finally:
        fake.reset()
    with run_stack(env(fake), state_dir=state) as stack, stack.client(stack.readToken) as reader:
        record = operation(reader, op)
        assert (record["kind"], record["state"], record["phase"]) == ("manifest-apply", "failed", "failed"), record
        assert record["error"].startswith("Interrupted"), record
        assert_unchanged(before, snapshot(state, state / "milady.json"), f"after a SIGKILL while {moment}")
        assert reader.get("/api/manifest").content == export_before
        assert leftovers(state) == []
        assert not any(pid_alive(pid) for pid in orphans), "npm, orphaned by the runner's death, still runs after recovery"


def test_sigkill_right_after_the_config_write_finishes_the_apply(fake, crash_state):
    state = crash_state
    config = state / "milady.json"
    prepared(fake, state)
    op = str(uuid.uuid4())
    wanted = target_manifest(fake)

    def written() -> bool:
        with contextlib.suppress(OSError, ValueError, KeyError):
            return json.loads(config.read_bytes())["plugins"]["installs"][BIG]["version"] == "2.0.0"
        return False

    with run_stack(env(fake), state_dir=state, plugind_may_die=True) as stack:
        thread = apply_in_background(stack, wanted, op)
        wait_until(written, 300, "the agent config to name BIG 2.0.0", interval=0.0005)
        kill_plugind(stack)
        aside_left = any(p.name.startswith(op) for p in (state / "plugins" / ".aside").iterdir())
    thread.join(30)
    assert aside_left, "plugind had already finished: the window after the config write was missed"
    with run_stack(env(fake), state_dir=state) as stack, stack.client(stack.readToken) as reader:
        record = operation(reader, op)
        assert (record["kind"], record["state"], record["phase"]) == ("manifest-apply", "succeeded", "done"), record
        assert record["result"]["ok"] is True
        assert reader.get("/api/manifest").content == wanted
        assert leftovers(state) == []
        assert not (package_dir(state, BIG) / "many").exists(), "nothing of BIG 1.0.0 is mixed in"
        assert json.loads(config.read_bytes())["env"]["MFC_MODE"] == "new"
        reasons = reader.get("/api/runtime").json()["pendingRestartReasons"]
        assert any("manifest" in reason for reason in reasons), f"no restart is pending for the finished apply: {reasons}"
