"""A sync that can always be undone (issue 17): plugind killed with SIGKILL in the middle of a sync's merge.

The merge is held open by a slow smudge filter the test configures in the ejected copy (an upstream commit adds
a file the filter applies to), so the kill lands while git is checking out. plugind runs git through its runner,
which ends the sync's git as soon as plugind's connection closes; at the next start, recovery removes git's stale
`index.lock`, puts the copy back and says so only when it can see that it did. The copy is compared the way a
developer would: HEAD, `git status`, the stash list, the untracked file and every edited file's bytes.
"""

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
import time
import uuid
from pathlib import Path

import pytest

from conftest import _run_stack
from helpers import descendants, ensure_installer_user, give_to_installer, let_installer_pass, pid_alive, wait_until
from test_eject import Source, commit, dir_name, git, new_repo, package_json, short, snapshot, write_installed

PLUGIN = "@acme/plugin-ej-crash"
FILES = ["a.txt", "b.txt", "notes.txt", "slow.txt"]


@pytest.fixture
def world():
    base = Path(tempfile.mkdtemp(prefix="plugind-e2e-ejcrash-"))
    repos = base / "repos"
    upstream = new_repo(repos / "acme" / short(PLUGIN))
    commit(upstream, {"package.json": package_json(PLUGIN, main="index.js"), "index.js": "module.exports = {};\n",
                      "a.txt": "alpha\n", "b.txt": "bravo\n", ".gitattributes": "slow.txt filter=slow\n"}, "release 1.0.0")
    git(upstream, "tag", "v1.0.0")
    ensure_installer_user()
    let_installer_pass(base)
    give_to_installer(repos)
    source = Source()
    source.thread.start()
    source.list(PLUGIN, "acme/" + short(PLUGIN))

    def prepare(state: Path) -> None:
        path = state / "milady.json"
        path.write_text(json.dumps({"plugins": {"installs": {PLUGIN: write_installed(state, PLUGIN)}, "entries": {}}}, indent=2) + "\n")
        path.chmod(0o600)

    env = {"PLUGIND_GIT_BASE_URL": f"file://{repos}/", "PLUGIND_PLUGIN_REGISTRY_URLS": source.registry_url,
           "PLUGIND_NPM_REGISTRY": source.npm, "PLUGIND_RUNTIME_BRIDGE": "none"}
    try:
        yield base / "state", upstream, env, prepare
    finally:
        source.shutdown()
        source.server_close()
        if not os.environ.get("PLUGIND_E2E_KEEP"):
            shutil.rmtree(base, ignore_errors=True)


def operation_row(state: Path, op: str) -> dict | None:
    with contextlib.closing(sqlite3.connect(f"file:{state / 'state.db'}?mode=ro", uri=True, timeout=5)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM operation WHERE id = ?", (op,)).fetchone()
        return dict(row) if row else None


def sleeping_filter(runner: int) -> bool:
    """The smudge filter git runs for the merge, as the runner's descendant."""
    for pid in descendants(runner):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            if b"sleep" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
    return False


def kill_plugind_during(stack, state: Path, phase: str) -> tuple[str, threading.Thread]:
    """Starts a sync (pull) and SIGKILLs plugind once it is in `phase` with its slow child (`sleep`) running; waits
    until the runner has ended that child. Answers the operation id and the request's thread."""
    op = str(uuid.uuid4())

    def sync() -> None:
        with contextlib.suppress(Exception), stack.client(stack.adminToken) as admin:
            admin.post(f"/api/plugins/{short(PLUGIN)}/sync", json={"pull": True}, headers={"X-Operation-Id": op}, timeout=120)

    thread = threading.Thread(target=sync, daemon=True)
    thread.start()
    runner = stack.pids["runner"]
    wait_until(lambda: (operation_row(state, op) or {}).get("phase") == phase and sleeping_filter(runner), 60,
               f"the sync to be {phase}", interval=0.05)
    plugind = stack.pids["plugind"]
    os.kill(plugind, signal.SIGKILL)
    wait_until(lambda: not pid_alive(plugind), 10, "plugind to die")
    # The runner ends the sync's children once plugind's connection is gone: nothing of it runs on.
    wait_until(lambda: not sleeping_filter(runner), 15, "the runner to end what the sync had started")
    return op, thread


def test_a_sync_killed_during_its_merge_puts_the_copy_back_exactly(world):
    state, upstream, env, prepare = world
    run = contextlib.contextmanager(_run_stack)
    with run(env, prepare=prepare, state_dir=state, plugind_may_die=True) as stack:
        with stack.client(stack.adminToken) as admin:
            response = admin.post(f"/api/plugins/{short(PLUGIN)}/eject", timeout=180)
            assert response.status_code == 200, response.text
        repo = state / "plugins" / "ejected" / dir_name(PLUGIN)
        # The developer's work: an uncommitted edit, a staged one and an untracked note.
        (repo / "b.txt").write_text("bravo (uncommitted)\n")
        (repo / "a.txt").write_text("alpha (staged)\n")
        git(repo, "add", "a.txt")
        (repo / "notes.txt").write_text("my notes\n")
        # A filter that makes git's checkout of slow.txt take a while.
        with open(repo / ".git" / "config", "a") as config:
            config.write('[filter "slow"]\n\tsmudge = sleep 30; cat\n\tclean = cat\n')
        give_to_installer(repo, upstream.parent.parent)
        commit(upstream, {"slow.txt": "slow\n", "c.txt": "charlie (upstream)\n"}, "upstream adds slow.txt")
        give_to_installer(upstream.parent.parent)
        before = snapshot(repo, FILES)
        op, thread = kill_plugind_during(stack, state, "merging")
    thread.join(30)

    with run(env, state_dir=state, plugind_may_die=True) as stack, stack.client(stack.readToken) as reader:
        record = reader.get(f"/api/operations/{op}").json()["operation"]
        assert record["state"] == "failed", record
        assert "put back as it was" in record["error"], record["error"]
        assert not (repo / ".git" / "index.lock").exists()
        assert snapshot(repo, FILES) == before


def test_a_sync_killed_during_its_build_is_failed_and_names_the_real_head(world):
    """Killed while the repository's build runs: the merge is kept, the operation is `failed` and says the build did
    not finish, and `.upstream.json` names the real HEAD (it used to say `succeeded`, naming the pre-merge commit)."""
    state, upstream, env, prepare = world
    run = contextlib.contextmanager(_run_stack)
    with run(env, prepare=prepare, state_dir=state, plugind_may_die=True) as stack:
        with stack.client(stack.adminToken) as admin:
            assert admin.post(f"/api/plugins/{short(PLUGIN)}/eject", timeout=180).status_code == 200
        repo = state / "plugins" / "ejected" / dir_name(PLUGIN)
        commit(upstream, {"package.json": package_json(PLUGIN, main="index.js", scripts={"build": "sleep 30"}),
                          "c.txt": "charlie (upstream)\n"}, "upstream adds a slow build")
        give_to_installer(upstream.parent.parent)
        op, thread = kill_plugind_during(stack, state, "building")
        merged = git(repo, "rev-parse", "HEAD")
    thread.join(30)

    with run(env, state_dir=state, plugind_may_die=True) as stack, stack.client(stack.readToken) as reader:
        record = reader.get(f"/api/operations/{op}").json()["operation"]
        assert record["state"] == "failed", record
        assert "merge is kept" in record["error"] and "not built" in record["error"], record["error"]
        assert git(repo, "rev-parse", "HEAD") == merged
        assert json.loads((repo / ".upstream.json").read_text())["commitHash"] == merged
