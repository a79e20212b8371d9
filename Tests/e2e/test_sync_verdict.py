"""A sync's verdict (issue 19 item 6), end to end: nginx, plugind and the reference agent host (`agent-host/`, Node)
loading an ejected copy. The plugin is installed from the loopback fake npm registry (`fake_npm.FakeNpm`), which
also lists it in the plugin registry with `git.repo: fake-org/<name>`; plugind clones that repository from a real
git repository on disk (`PLUGIND_GIT_BASE_URL=file://…`). Then upstream gets a commit that makes the plugin throw
at import, and the sync must answer what the runtime said: `loaded: false` with the error, and a warning saying
the copy was not rolled back and how to go back.

Crash: plugind is SIGKILLed while a sync waits for its verdict (after the build, the change complete); the next
start records the operation `succeeded` with a rebuilt result (the commit, `loaded` null, the recovery note), not
a null one."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import _run_stack
from fake_npm import FakeNpm
from helpers import ensure_installer_user, expect, give_to_installer, let_installer_pass, pid_alive, wait_until

GOOD = "@e2e/plugin-sv-good"
CRASHY = "@e2e/plugin-sv-crash"
MARKER = "synced code exploded at import (sv-marker-4419)"
OP_TIMEOUT = 240

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*",
    "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@localhost", "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@localhost",
    "LC_ALL": "C",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.parent)}
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"git {' '.join(args)} in {repo}: {done.stdout}{done.stderr}"
    return done.stdout.strip()


def short(npm: str) -> str:
    return npm.split("/")[-1]


def upstream_repo(root: Path, npm: str) -> Path:
    """The plugin's repository at 1.0.0 (tag v1.0.0): a plugin that loads."""
    repo = root / "fake-org" / short(npm)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "package.json").write_text(json.dumps({"name": npm, "version": "1.0.0", "main": "index.js", "license": "MIT"}, indent=2) + "\n")
    (repo / "index.js").write_text(f"module.exports = {{ name: {json.dumps(short(npm))}, description: 'synced' }};\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release 1.0.0")
    git(repo, "tag", "v1.0.0")
    return repo


def break_upstream(repo: Path) -> str:
    (repo / "index.js").write_text(f"throw new Error({json.dumps(MARKER)});\n")
    git(repo, "commit", "-qam", "a change that throws at import")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def world():
    base = Path(tempfile.mkdtemp(prefix="plugind-e2e-syncverdict-"))
    repos = base / "repos"
    ensure_installer_user()
    let_installer_pass(base)
    with FakeNpm() as fake:
        for npm in (GOOD, CRASHY):
            fake.publish(npm, "1.0.0")
            fake.list(npm, "1.0.0")
            upstream_repo(repos, npm)
        give_to_installer(repos)
        try:
            yield fake, repos
        finally:
            if not os.environ.get("PLUGIND_E2E_KEEP"):
                shutil.rmtree(base, ignore_errors=True)


def env_for(fake: FakeNpm, repos: Path, **extra: str) -> dict[str, str]:
    return {"PLUGIND_NPM_REGISTRY": fake.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake.registry_url,
            "PLUGIND_ALLOW_UNLISTED_PACKAGES": "true", "PLUGIND_GIT_BASE_URL": f"file://{repos}/",
            "PLUGIND_RESTART_DEBOUNCE_MS": "300", "PLUGIND_VERDICT_TIMEOUT_MS": "30000", **extra}


def post(session, path: str, op: str | None = None, **kwargs):
    return session.post(path, headers={"X-Operation-Id": op} if op else {}, timeout=OP_TIMEOUT, **kwargs)


def operation(session, op: str) -> dict:
    return expect(session.get(f"/api/operations/{op}"), 200)["operation"]


def active(session, npm: str) -> bool:
    response = session.get(f"/api/plugins/{quote(npm, safe='')}")
    return response.status_code == 200 and response.json()["plugin"].get("isActive") is True


def install_and_eject(admin, npm: str) -> None:
    installed = expect(post(admin, "/api/plugins/install", json={"name": npm}), 200)
    assert installed["loaded"] is True, installed
    expect(post(admin, f"/api/plugins/{quote(npm, safe='')}/eject"), 200)
    wait_until(lambda: active(admin, npm), 60, f"the agent to load the ejected {npm}")


def test_a_sync_whose_new_code_throws_at_import_says_loaded_false_and_how_to_go_back(world):
    fake, repos = world
    with contextlib.contextmanager(_run_stack)(env_for(fake, repos)) as stack, stack.client(stack.adminToken) as admin:
        install_and_eject(admin, GOOD)
        copy = stack.stateDir / "plugins" / "ejected" / GOOD.replace("@", "_").replace("/", "_")
        before = git(copy, "rev-parse", "HEAD")
        broken = break_upstream(repos / "fake-org" / short(GOOD))
        give_to_installer(repos)
        op = str(uuid.uuid4())
        body = expect(post(admin, f"/api/plugins/{quote(GOOD, safe='')}/sync", op=op), 200)
        assert body["commit"] == broken and body["upstreamCommits"] == 1 and body["requiresRestart"] is True
        assert body["loaded"] is False and MARKER in body["loadError"], body
        assert len(body["warnings"]) == 1, body
        warning = body["warnings"][0]
        assert MARKER in warning and "not rolled back" in warning and f"git reset --hard {before[:12]}" in warning and "reinject" in warning
        record = operation(admin, op)
        assert record["state"] == "succeeded" and record["phase"] == "done"
        assert record["result"]["loaded"] is False and MARKER in record["result"]["loadError"]
        assert record["result"]["warnings"] == body["warnings"]
        # Not rolled back: the copy is at the synced commit, and the agent does not have the plugin.
        assert git(copy, "rev-parse", "HEAD") == broken
        assert not active(admin, GOOD)


def operation_row(state: Path, op: str) -> dict | None:
    with contextlib.closing(sqlite3.connect(f"file:{state / 'state.db'}?mode=ro", uri=True, timeout=5)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM operation WHERE id = ?", (op,)).fetchone()
        return dict(row) if row else None


def test_a_sync_killed_while_waiting_for_its_verdict_is_recorded_complete_with_its_result(world, tmp_path):
    fake, repos = world
    state = tmp_path / "state"
    # A longer quiet period holds the wait open long enough to land the kill inside it.
    env = env_for(fake, repos, PLUGIND_RESTART_DEBOUNCE_MS="3000")
    run = contextlib.contextmanager(_run_stack)
    op = str(uuid.uuid4())
    with run(env, state_dir=state, plugind_may_die=True) as stack:
        with stack.client(stack.adminToken) as admin:
            install_and_eject(admin, CRASHY)
        broken = break_upstream(repos / "fake-org" / short(CRASHY))
        give_to_installer(repos)
        answers = []

        def request() -> None:
            with contextlib.suppress(Exception), stack.client(stack.adminToken) as session:
                answers.append(post(session, f"/api/plugins/{quote(CRASHY, safe='')}/sync", op=op).text)

        thread = threading.Thread(target=request, daemon=True)
        thread.start()
        try:
            wait_until(lambda: (operation_row(state, op) or {}).get("phase") == "verifying load", 120, "the sync to wait for its verdict",
                       interval=0.05)
        except TimeoutError:
            raise AssertionError(f"never verifying load: {answers} {operation_row(state, op)}") from None
        plugind = stack.pids["plugind"]
        os.kill(plugind, signal.SIGKILL)
        wait_until(lambda: not pid_alive(plugind), 10, "plugind to die")
        thread.join(timeout=30)
    with run(env, state_dir=state) as stack, stack.client(stack.readToken) as reader:
        record = operation(reader, op)
        assert (record["state"], record["phase"]) == ("succeeded", "done"), record
        result = record["result"]
        assert result is not None, record
        assert result["ok"] is True and result["commit"] == broken and result["upstreamCommits"] == 1
        assert result["requiresRestart"] is True and result["localChanges"] is False
        assert result["loaded"] is None and result["loadError"] is None
        assert result["warnings"] and result["warnings"][-1].endswith("the change is complete."), result
        assert result["warnings"][-1] == record["logTail"][-1]
