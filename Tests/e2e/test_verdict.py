"""The runtime's verdict after a change, automatic rollback, manual rollback (issue 19 items 6–8), end to end:
nginx, plugind and the reference agent host (`agent-host/`, Node) loading what plugind installed from the loopback
fake npm registry (`fake_npm.FakeNpm`, real tarballs with real sha512 integrity). The plugins are real packages: one
that loads, one that throws at import (a marker in its message), one that calls `process.exit` while loading, one
whose import never settles.

What a user sees is asserted: the install's answer (`loaded`, `loadError`, `warnings`, the 422 of a rolled-back
upgrade), the operation record (`GET /api/operations/:id`), `GET /api/plugins/installed`, the agent config's install
record and the package.json of the tree the runtime loads, and — after a rollback — the runtime loading the old
version again (`GET /api/plugins/:id` `isActive`).

Crash tests: plugind is SIGKILLed while an upgrade waits for its verdict, and while it rolls back; the stack is
started again on the same state directory and the package must end on one consistent version (config, tree and the
installed list agree; nothing left aside)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import _run_stack
from fake_npm import FakeNpm
from helpers import expect, pid_alive, wait_until

HELLO = "@e2e/plugin-vd-hello"
THROWS_FIRST = "@e2e/plugin-vd-throws"
EXITS = "@e2e/plugin-vd-exits"
HANGS = "@e2e/plugin-vd-hangs"
KEEP = "@e2e/plugin-vd-keep"
CRASH = "@e2e/plugin-vd-crash"
MARKER = "exploded while importing (vd-marker-7731)"
INIT_TIMEOUT_MS = 1500


def throwing(name: str, version: str) -> dict[str, bytes]:
    return {"index.js": f"throw new Error({json.dumps(f'{name} {version} {MARKER}')});\n".encode()}


@pytest.fixture(scope="module")
def fake():
    with FakeNpm() as registry:
        for name in (HELLO, KEEP, CRASH):
            registry.publish(name, "1.1.0")
            registry.publish(name, "1.2.0", files=throwing(name, "1.2.0"))
        registry.publish(THROWS_FIRST, "1.0.0", files=throwing(THROWS_FIRST, "1.0.0"))
        registry.publish(EXITS, "1.0.0", files={"index.js": b"process.exit(3);\n"})
        registry.publish(HANGS, "1.0.0", files={"index.js": b"await new Promise(() => {});\nexport default { name: 'hangs' };\n"},
                         extra={"type": "module"})
        yield registry


def env_for(fake: FakeNpm, **extra: str) -> dict[str, str]:
    return {"PLUGIND_NPM_REGISTRY": fake.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake.registry_url,
            "PLUGIND_ALLOW_UNLISTED_PACKAGES": "true", "PLUGIND_RESTART_DEBOUNCE_MS": "300",
            "PLUGIND_VERDICT_TIMEOUT_MS": "30000", "PLUGIND_AGENT_INIT_TIMEOUT_MS": str(INIT_TIMEOUT_MS), **extra}


@pytest.fixture(scope="module")
def vd(fake):
    yield from _run_stack(env_for(fake))


@pytest.fixture
def admin(vd):
    with vd.client(vd.adminToken) as session:
        yield session


def install(session, name, version=None, op=None, **extra):
    body = {"name": name, **({"version": version} if version else {}), **extra}
    return session.post("/api/plugins/install", json=body, headers={"X-Operation-Id": op} if op else {}, timeout=180)


def operation(session, op: str) -> dict:
    return expect(session.get(f"/api/operations/{op}"), 200)["operation"]


def installed_row(session, name: str) -> dict | None:
    rows = expect(session.get("/api/plugins/installed"), 200)["plugins"]
    return next((row for row in rows if row["name"] == name), None)


def on_disk(state: Path, name: str) -> tuple[str | None, str | None]:
    """The install record's version and the version of the tree the runtime loads."""
    config = json.loads((state / "milady.json").read_text())
    record = config.get("plugins", {}).get("installs", {}).get(name)
    if record is None:
        return None, None
    manifest = Path(record["installPath"]) / "node_modules" / name / "package.json"
    return record["version"], json.loads(manifest.read_text())["version"] if manifest.exists() else None


def active(session, name: str) -> bool:
    response = session.get(f"/api/plugins/{quote(name, safe='')}")
    return response.status_code == 200 and response.json()["plugin"].get("isActive") is True


def settled(session) -> bool:
    runtime = expect(session.get("/api/runtime"), 200)
    return runtime["state"] == "running" and not runtime["pendingRestart"]


def test_a_first_install_that_throws_stays_installed_with_the_error(admin, vd):
    op = str(uuid.uuid4())
    body = expect(install(admin, THROWS_FIRST, op=op), 200)
    assert body["loaded"] is False
    assert MARKER in body["loadError"]
    assert len(body["warnings"]) == 1 and "did not load" in body["warnings"][0] and MARKER in body["warnings"][0]
    record = operation(admin, op)
    assert record["state"] == "succeeded"
    assert record["result"]["loaded"] is False and MARKER in record["result"]["loadError"]
    assert on_disk(vd.stateDir, THROWS_FIRST) == ("1.0.0", "1.0.0")
    row = installed_row(admin, THROWS_FIRST)
    assert row["loaded"] is False and MARKER in row["loadError"] and row["previousVersion"] is None


def test_a_plugin_that_exits_or_hangs_while_loading_is_not_loaded_and_says_why(admin):
    exits = expect(install(admin, EXITS), 200)
    assert exits["loaded"] is False and "exited" in exits["loadError"] and "code 3" in exits["loadError"]
    hangs = expect(install(admin, HANGS), 200)
    assert hangs["loaded"] is False and f"timed out after {INIT_TIMEOUT_MS} ms" in hangs["loadError"]
    # The runtime goes on with the others.
    wait_until(lambda: settled(admin), 60, "the runtime to settle")


def test_an_upgrade_that_throws_is_rolled_back_and_the_old_version_loads_again(admin, vd):
    first = expect(install(admin, HELLO, "1.1.0"), 200)
    assert first["loaded"] is True and first["loadError"] is None and first["warnings"] == []
    op = str(uuid.uuid4())
    answer = install(admin, HELLO, "1.2.0", op=op)
    body = expect(answer, 422)
    assert body["error"].startswith(f"rolled back to 1.1.0: {HELLO} 1.2.0 failed to load: ")
    assert MARKER in body["error"] and body["rolledBackTo"] == "1.1.0" and body["loaded"] is False
    record = operation(admin, op)
    assert record["state"] == "failed" and record["error"].startswith("rolled back to 1.1.0")
    assert record["result"]["rolledBackTo"] == "1.1.0" and MARKER in record["result"]["loadError"]
    assert on_disk(vd.stateDir, HELLO) == ("1.1.0", "1.1.0")
    row = installed_row(admin, HELLO)
    assert row["version"] == "1.1.0" and row["loaded"] is True and row["previousVersion"] is None
    assert active(admin, HELLO)
    assert not list((vd.stateDir / "plugins" / ".aside").iterdir())


def test_rollback_on_failure_false_keeps_the_new_version_and_manual_rollback_restores_the_old(admin, vd):
    expect(install(admin, KEEP, "1.1.0"), 200)
    kept = expect(install(admin, KEEP, "1.2.0", rollbackOnFailure=False), 200)
    assert kept["loaded"] is False and MARKER in kept["loadError"]
    assert any("rollbackOnFailure is false" in warning for warning in kept["warnings"])
    assert on_disk(vd.stateDir, KEEP) == ("1.2.0", "1.2.0")
    assert installed_row(admin, KEEP)["previousVersion"] == "1.1.0"

    op = str(uuid.uuid4())
    back = expect(admin.post(f"/api/plugins/{quote(KEEP, safe='')}/rollback", headers={"X-Operation-Id": op}, timeout=180), 200)
    assert back["plugin"]["version"] == "1.1.0" and back["replacedVersion"] == "1.2.0"
    assert back["loaded"] is True and back["loadError"] is None and back["warnings"] == []
    assert operation(admin, op)["state"] == "succeeded"
    assert on_disk(vd.stateDir, KEEP) == ("1.1.0", "1.1.0")
    row = installed_row(admin, KEEP)
    assert row["loaded"] is True and row["previousVersion"] == "1.2.0"
    assert active(admin, KEEP)


def test_rollback_refusals(admin):
    never_upgraded = admin.post(f"/api/plugins/{quote(THROWS_FIRST, safe='')}/rollback", timeout=60)
    assert expect(never_upgraded, 409)["error"].startswith("No previous version")
    assert admin.post("/api/plugins/no-such-plugin-vd/rollback", timeout=60).status_code == 404
    assert admin.post("/api/plugins/install", json={"name": HELLO, "rollbackOnFailure": "yes"}, timeout=60).status_code == 400


# --- SIGKILL of plugind during the wait and during the rollback -------------------------------------------------


def operation_row(state: Path, op: str) -> dict | None:
    with contextlib.closing(sqlite3.connect(f"file:{state / 'state.db'}?mode=ro", uri=True, timeout=5)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM operation WHERE id = ?", (op,)).fetchone()
        return dict(row) if row else None


@pytest.mark.parametrize("phase", ["verifying load", "rolling back"])
def test_sigkill_during_the_verdict_wait_or_the_rollback_ends_on_one_version(fake, tmp_path, phase):
    state = tmp_path / "state"
    # A longer quiet period holds each wait open long enough to land the kill inside it.
    env = env_for(fake, PLUGIND_RESTART_DEBOUNCE_MS="2500")
    run = contextlib.contextmanager(_run_stack)
    with run(env, state_dir=state, plugind_may_die=True) as stack:
        with stack.client(stack.adminToken) as admin:
            assert expect(install(admin, CRASH, "1.1.0"), 200)["loaded"] is True
        op = str(uuid.uuid4())

        answers = []

        def request() -> None:
            with contextlib.suppress(Exception), stack.client(stack.adminToken) as session:
                answers.append(install(session, CRASH, "1.2.0", op=op).text)

        thread = threading.Thread(target=request, daemon=True)
        thread.start()
        try:
            wait_until(lambda: (operation_row(state, op) or {}).get("phase") == phase, 90, f"the upgrade to be {phase}", interval=0.05)
        except TimeoutError:
            raise AssertionError(f"never {phase}: {answers} {operation_row(state, op)}") from None
        plugind = stack.pids["plugind"]
        os.kill(plugind, signal.SIGKILL)
        wait_until(lambda: not pid_alive(plugind), 10, "plugind to die")
        thread.join(timeout=30)
    with run(env, state_dir=state) as stack, stack.client(stack.adminToken) as admin:
        record = operation(admin, op)
        assert record["state"] in ("succeeded", "failed"), record
        config_version, tree_version = on_disk(state, CRASH)
        assert config_version == tree_version, (config_version, tree_version, record)
        assert installed_row(admin, CRASH)["version"] == config_version
        assert not list((state / "plugins" / ".aside").iterdir())
        if phase == "rolling back":
            # The rollback had begun: it is finished, and the old version is what the agent loads.
            assert config_version == "1.1.0" and record["state"] == "failed", record
            assert record["error"].startswith("Interrupted: rolled back to 1.1.0"), record
            wait_until(lambda: active(admin, CRASH), 60, "the agent to load 1.1.0 again")
        else:
            # Killed while waiting: the runtime is asked once; without its word the new version stays.
            assert config_version in ("1.1.0", "1.2.0")
            assert any("verdict" in line or "rolled back" in line or "load" in line for line in record["logTail"]), record
            if record["state"] == "succeeded":
                # Complete: its result says which version, what the runtime said (if asked), and what recovery found.
                result = record["result"]
                assert result is not None and result["plugin"]["version"] == config_version == "1.2.0", record
                assert result["loaded"] in (None, False) and result["warnings"][-1] == record["logTail"][-1], record
