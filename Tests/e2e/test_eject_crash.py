"""Eject and sync that can always be undone (issue 17): plugind killed with SIGKILL at each phase.

A slow child holds each phase open so the kill lands inside it: a git server that stalls the clone's object
requests (dumb HTTP, served here), a smudge filter the test configures in the ejected copy that sleeps during the
merge's checkout or only during the stash pop, and a build script that sleeps. Each is killed two ways: plugind
alone ("git killed too": plugind runner ends what a job started once plugind's connection closes) and plugind
together with its runner ("git left running": the job's processes are orphaned and go on). Either way, at the next
start recovery first ends every process group the operation recorded, then puts the copy back and says so only
when it can see that it did. The copy is compared the way a developer would: HEAD, `git status`, the stash list,
the untracked file and every edited file's bytes.
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
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
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
                      "a.txt": "alpha\n", "b.txt": "bravo\n", "slow.txt": "slow\n", ".gitattributes": "slow.txt filter=slow\n"},
           "release 1.0.0")
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
        yield base / "state", upstream, env, prepare, base
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


def recorded_groups(state: Path, op: str) -> list[int]:
    """The process groups the operation's checkpoint recorded (what recovery ends first)."""
    checkpoint = json.loads((operation_row(state, op) or {}).get("checkpoint") or "{}")
    return [group["pgid"] for group in checkpoint.get("processGroups", [])]


def group_members(pgid: int) -> list[int]:
    """Live processes of process group `pgid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry))
    return found


def process_state(pid: int) -> str:
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return ""


def group_of(pid: int) -> int | None:
    """The process group of `pid`; None once it is gone."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    return None


def sleeping(pids: list[int]) -> bool:
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep\0"):
                return True
    return False


def kill_plugind_during(stack, state: Path, start, phase: str, held, left_running: bool) -> tuple[str, threading.Thread]:
    """Starts an operation (`start(admin, op)`) and SIGKILLs plugind once it is in `phase` and `held()` says its slow
    child is at work. `left_running`: the runner is frozen first and killed with plugind, so nothing ends the job's
    processes and they go on (asserted); else the runner ends them once plugind's connection is gone (awaited).
    Answers the operation id and the request's thread."""
    op = str(uuid.uuid4())

    def request() -> None:
        with contextlib.suppress(Exception), stack.client(stack.adminToken) as admin:
            start(admin, op)

    thread = threading.Thread(target=request, daemon=True)
    thread.start()
    runner = stack.pids["runner"]
    wait_until(lambda: (operation_row(state, op) or {}).get("phase") == phase and held(runner), 60,
               f"the operation to be {phase}", interval=0.05)
    # The slow child's own group, not only an earlier step's: the runner reports a child's group as it starts, and
    # under load (it runs at a lower priority) the report can come after the child is already at work.
    at_work = {pgid for pid in descendants(runner) if (pgid := group_of(pid)) not in (None, group_of(runner))}
    wait_until(lambda: at_work & set(recorded_groups(state, op)), 10, "the operation to record its running child's group")
    plugind = stack.pids["plugind"]
    if left_running:
        os.kill(runner, signal.SIGSTOP)
        wait_until(lambda: process_state(runner) == "T", 10, "the runner to stop")
    os.kill(plugind, signal.SIGKILL)
    wait_until(lambda: not pid_alive(plugind), 10, "plugind to die")
    groups = recorded_groups(state, op)
    if left_running:
        # Nothing ended them: plugind is gone and its runner frozen. (Once the runner dies too, what they do is their
        # own affair — npm, for one, ends its script when its output closes; git goes on. Recovery copes with both.)
        assert any(group_members(group) for group in groups), "the operation's processes should outlive plugind"
        os.kill(runner, signal.SIGKILL)
        wait_until(lambda: not pid_alive(runner), 10, "the runner to die")
    else:
        try:
            wait_until(lambda: not any(group_members(group) for group in groups), 15, "the runner to end what the job had started")
        except TimeoutError:
            left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for group in groups for pid in group_members(group)}
            raise AssertionError(f"the runner left the job's processes running: {left}") from None
    return op, thread


def sleeping_filter(runner: int) -> bool:
    """The smudge filter git runs for the merge or the pop, as the runner's descendant."""
    return sleeping(descendants(runner))


def sync(op_pull=True):
    return lambda admin, op: admin.post(f"/api/plugins/{short(PLUGIN)}/sync", json={"pull": op_pull},
                                        headers={"X-Operation-Id": op}, timeout=120)


def eject_copy(stack) -> Path:
    with stack.client(stack.adminToken) as admin:
        response = admin.post(f"/api/plugins/{short(PLUGIN)}/eject", timeout=180)
        assert response.status_code == 200, response.text
    return stack.stateDir / "plugins" / "ejected" / dir_name(PLUGIN)


def settled(stack, op: str, state: Path, groups: list[int]) -> dict:
    """After the restart: the operation's record, once recovery has ended every process it had started."""
    for group in groups:
        assert not group_members(group), f"process group {group} of the interrupted operation still runs after recovery"
    with stack.client(stack.readToken) as reader:
        return reader.get(f"/api/operations/{op}").json()["operation"]


@contextlib.contextmanager
def restarted_and_put_back(env, state: Path, op: str, groups: list[int], repo: Path, before: dict):
    """plugind started again on the crashed state: the interrupted sync is failed, says the copy was put back, and
    the copy is byte for byte as before (no stale lock). Yields the running stack for further checks."""
    with contextlib.contextmanager(_run_stack)(env, state_dir=state, plugind_may_die=True) as stack:
        record = settled(stack, op, state, groups)
        assert record["state"] == "failed", record
        assert "put back as it was" in record["error"], record["error"]
        assert not (repo / ".git" / "index.lock").exists()
        assert snapshot(repo, FILES) == before
        yield stack


BOTH = pytest.mark.parametrize("left_running", [False, True], ids=["git-killed-too", "git-left-running"])


@BOTH
def test_a_sync_killed_during_its_merge_puts_the_copy_back_exactly(world, left_running):
    state, upstream, env, prepare, base = world
    run = contextlib.contextmanager(_run_stack)
    with run(env, prepare=prepare, state_dir=state, plugind_may_die=True) as stack:
        repo = eject_copy(stack)
        # The developer's work: an uncommitted edit, a staged one and an untracked note.
        (repo / "b.txt").write_text("bravo (uncommitted)\n")
        (repo / "a.txt").write_text("alpha (staged)\n")
        git(repo, "add", "a.txt")
        (repo / "notes.txt").write_text("my notes\n")
        # A filter that makes git's checkout of slow.txt take a while, as long as the hold file exists (recovery's
        # own checkout runs at full speed).
        hold = base / "hold"
        hold.write_text("hold\n")
        with open(repo / ".git" / "config", "a") as config:
            config.write('[filter "slow"]\n\tsmudge = "if [ -e %s ]; then sleep 60; fi; cat"\n\tclean = cat\n' % hold)
        give_to_installer(repo, upstream.parent.parent)
        commit(upstream, {"slow.txt": "slow, version 2\n", "c.txt": "charlie (upstream)\n"}, "upstream changes slow.txt")
        give_to_installer(upstream.parent.parent)
        before = snapshot(repo, FILES)
        op, thread = kill_plugind_during(stack, state, sync(), "merging", sleeping_filter, left_running)
        groups = recorded_groups(state, op)
        hold.unlink()
    thread.join(30)

    with restarted_and_put_back(env, state, op, groups, repo, before):
        pass


@BOTH
def test_a_sync_killed_during_its_stash_pop_puts_the_copy_back_exactly(world, left_running):
    """The merge is done and the edits are half back on top of it when plugind dies: recovery goes back to the old
    HEAD and pops the sync's own stash entry, so the copy is as it was, stash list included."""
    state, upstream, env, prepare, base = world
    hold = base / "hold"
    run = contextlib.contextmanager(_run_stack)
    with run(env, prepare=prepare, state_dir=state, plugind_may_die=True) as stack:
        repo = eject_copy(stack)
        (repo / "slow.txt").write_text("slow, edited locally\n")
        (repo / "b.txt").write_text("bravo (uncommitted)\n")
        (repo / "notes.txt").write_text("my notes\n")
        # Only git's `stash pop` is slowed (the stash push resets slow.txt through a child `git reset`), and only
        # while the hold file exists: recovery's own pop runs at full speed.
        hold.write_text("hold\n")
        with open(repo / ".git" / "config", "a") as config:
            config.write('[filter "slow"]\n\tsmudge = "if [ -e %s ] && grep -q pop /proc/$PPID/cmdline; then sleep 60; fi; cat"\n'
                         '\tclean = cat\n' % hold)
        give_to_installer(repo, upstream.parent.parent)
        commit(upstream, {"c.txt": "charlie (upstream)\n"}, "upstream adds c.txt")
        give_to_installer(upstream.parent.parent)
        before = snapshot(repo, FILES)
        op, thread = kill_plugind_during(stack, state, sync(), "merging", sleeping_filter, left_running)
        groups = recorded_groups(state, op)
        hold.unlink()
    thread.join(30)

    with restarted_and_put_back(env, state, op, groups, repo, before) as stack:
        with stack.client(stack.readToken) as reader:
            row = next(row for row in reader.get("/api/plugins/ejected").json()["plugins"] if row["name"] == PLUGIN)
            assert row["localChanges"] is True and row["warning"] is None, row


@BOTH
def test_a_sync_killed_during_its_build_is_failed_and_names_the_real_head(world, left_running):
    """Killed while the repository's build runs: the merge is kept, the operation is `failed` and says the build did
    not finish, and `.upstream.json` names the real HEAD (it used to say `succeeded`, naming the pre-merge commit)."""
    state, upstream, env, prepare, base = world
    run = contextlib.contextmanager(_run_stack)
    with run(env, prepare=prepare, state_dir=state, plugind_may_die=True) as stack:
        repo = eject_copy(stack)
        commit(upstream, {"package.json": package_json(PLUGIN, main="index.js", scripts={"build": "sleep 60"}),
                          "c.txt": "charlie (upstream)\n"}, "upstream adds a slow build")
        give_to_installer(upstream.parent.parent)
        op, thread = kill_plugind_during(stack, state, sync(), "building", lambda runner: sleeping(descendants(runner)), left_running)
        groups = recorded_groups(state, op)
        merged = git(repo, "rev-parse", "HEAD")
    thread.join(30)

    with run(env, state_dir=state, plugind_may_die=True) as stack:
        record = settled(stack, op, state, groups)
        assert record["state"] == "failed", record
        assert "merge is kept" in record["error"] and "not built" in record["error"], record["error"]
        assert git(repo, "rev-parse", "HEAD") == merged
        assert json.loads((repo / ".upstream.json").read_text())["commitHash"] == merged


def test_edits_an_interrupted_sync_could_not_put_back_are_shown_and_guard_the_copy(world):
    """What recovery says when it cannot put the edits back (their stash entry is left): the ejected list warns and
    names the entry, the edits count as local changes, and reinject without force is refused, changing nothing."""
    state, upstream, env, prepare, base = world
    run = contextlib.contextmanager(_run_stack)
    with run(env, prepare=prepare, state_dir=state) as stack:
        repo = eject_copy(stack)
        (repo / "b.txt").write_text("bravo (uncommitted)\n")
        git(repo, "stash", "push", "-q", "-m", f"plugind-sync {uuid.uuid4()}")
        give_to_installer(repo)
        before = snapshot(repo, FILES)
        with stack.client(stack.adminToken) as admin:
            row = next(row for row in admin.get("/api/plugins/ejected").json()["plugins"] if row["name"] == PLUGIN)
            assert row["localChanges"] is True, row
            assert "stash@{0}" in row["warning"] and "git stash pop" in row["warning"], row
            response = admin.post(f"/api/plugins/{short(PLUGIN)}/reinject", json={}, timeout=60)
            assert response.status_code == 409, response.text
            assert "stash@{0}" in response.json()["error"] and "force" in response.json()["error"]
        assert snapshot(repo, FILES) == before


class SlowGitServer(ThreadingHTTPServer):
    """Serves bare repositories over git's dumb HTTP protocol from `root`, stalling every object request while
    `hold` exists; `stalled` is set once a request is held."""

    daemon_threads = True

    def __init__(self, root: Path, hold: Path):
        self.root, self.hold, self.stalled = root, hold, threading.Event()
        super().__init__(("127.0.0.1", 0), SlowGitHandler)
        self.thread = threading.Thread(target=self.serve_forever, name="slow-git", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class SlowGitHandler(SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(args[2].root), **kwargs)

    def do_GET(self):
        if "/objects/" in self.path:
            deadline = time.monotonic() + 90
            while self.server.hold.exists() and time.monotonic() < deadline:
                self.server.stalled.set()
                time.sleep(0.1)
        super().do_GET()

    def log_message(self, *args):
        pass


@BOTH
def test_an_eject_killed_during_its_clone_leaves_nothing_and_can_be_done_again(world, left_running):
    state, upstream, env, prepare, base = world
    served, hold = base / "served", base / "hold-clone"
    bare = served / "acme" / short(PLUGIN)
    bare.parent.mkdir(parents=True)
    # git's local transport runs upload-pack with a clean environment: the upstream (the installer's) is trusted
    # through a global config file.
    trust = base / "gitconfig"
    trust.write_text("[safe]\n\tdirectory = *\n")
    subprocess.run(["git", "clone", "-q", "--bare", str(upstream), str(bare)], check=True, timeout=60,
                   env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(trust)})
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True, timeout=60)
    hold.write_text("hold\n")
    server = SlowGitServer(served, hold)
    server.thread.start()
    env = {**env, "PLUGIND_GIT_BASE_URL": server.url}
    config_before = None
    run = contextlib.contextmanager(_run_stack)
    try:
        with run(env, prepare=prepare, state_dir=state, plugind_may_die=True) as stack:
            config_before = (state / "milady.json").read_bytes()
            start = lambda admin, op: admin.post(f"/api/plugins/{short(PLUGIN)}/eject", headers={"X-Operation-Id": op}, timeout=180)
            op, thread = kill_plugind_during(stack, state, start, "cloning", lambda runner: server.stalled.is_set(), left_running)
            groups = recorded_groups(state, op)
        thread.join(30)

        with run(env, state_dir=state, plugind_may_die=True) as stack:
            record = settled(stack, op, state, groups)
            assert record["state"] == "failed", record
            assert "previous state was restored" in record["error"], record["error"]
            assert not (state / "plugins" / "ejected" / dir_name(PLUGIN)).exists()
            assert os.listdir(state / "plugins" / ".staging") == []
            assert (state / "milady.json").read_bytes() == config_before
            # Nothing the crash left stands in the way of doing it again.
            hold.unlink()
            repo = eject_copy(stack)
            assert json.loads((repo / "package.json").read_text())["name"] == PLUGIN
    finally:
        hold.unlink(missing_ok=True)
        server.shutdown()
        server.server_close()
