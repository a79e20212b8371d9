"""Ejecting plugins to local git copies, syncing them with upstream, and putting them back (issue 7,
contract section 3), end to end: nginx, plugind and the reference agent host (`scripts/run`).

Before the stack starts, this module builds
- upstream git repositories under a temporary `REPOS/acme/<name>` (`git init -b main`, commits,
  tags), which plugind clones through `PLUGIND_GIT_BASE_URL=file://REPOS/`;
- the installed packages (`STATE/plugins/installed/<dir>/node_modules/<name>` plus an install record
  in the agent config), so plugind knows each plugin and its version (1.0.0);
- a small HTTP server (`Source`) serving the plugin registry document (entries with `git.repo:
  acme/<name>`; one monorepo entry with a `directory`) and npm packuments: one version with
  `repository` + `gitHead` and no registry entry, one package with no repository at all, and one
  real dependency (`ej-dep`, a tarball with its sha512 integrity) that `npm install` fetches inside
  an ejected copy, against `PLUGIND_NPM_REGISTRY`.

One module-scoped stack; the tests run in file order and each scenario uses its own plugin (the
`ej-build` ones build on each other: eject, load, sync, rebuild). Every response is held to
docs/openapi.yaml by `Stack.client()`. The state of a copy is compared the way a developer would:
`git status --porcelain`, `git rev-parse HEAD`, `git stash list`, `git diff`, and the files' bytes.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from conftest import _run_stack
from helpers import ensure_installer_user, free_port, give_to_installer, let_installer_pass

VERSION = "1.0.0"
DEBOUNCE_MS = 500
SETTLE_TIMEOUT = 60.0
OP_TIMEOUT = 180  # one eject or sync: a clone, npm install, a build

BUILD = "@acme/plugin-ej-build"  # build script, .gitignore, tag v1.0.0 behind main
NOBUILD = "@acme/plugin-ej-nobuild"  # no build script, no tag: the head of main
FAILBUILD = "@acme/plugin-ej-failbuild"  # its build exits 1
NOIGNORE = "@acme/plugin-ej-noignore"  # no .gitignore, a real dependency, tag <name>@1.0.0
GITHEAD = "@acme/plugin-ej-githead"  # not in the registry: packument repository + gitHead
MERGE = "@acme/plugin-ej-merge"  # tag 1.0.0; local edits and commits merge cleanly
CONFLICT_COMMIT = "@acme/plugin-ej-conflict-commit"  # a local commit conflicts with upstream
CONFLICT_EDIT = "@acme/plugin-ej-conflict-edit"  # an uncommitted edit conflicts with upstream (and an untracked file)
CONFLICT_TRACKED = "@acme/plugin-ej-conflict-tracked"  # the same with tracked edits only
REINJECT = "@acme/plugin-ej-reinject"
GONE = "@acme/plugin-ej-gone"  # its upstream disappears after the eject
MISSING = "@acme/plugin-ej-missing"  # the registry names a repository that does not exist
NOREPO = "@acme/plugin-ej-norepo"  # no registry entry, a packument without repository
MONO = "@acme/plugin-ej-mono"  # a registry entry with a `directory`
SLOW = "@acme/plugin-ej-slow"  # a build that takes a while (operation exclusion)
GITDEP = "@acme/plugin-ej-gitdep"  # its package.json depends on a git repository whose prepare script writes a marker
HIJACK = "@acme/plugin-ej-hijack"  # its repository's package.json names another package
RENAMED = "@acme/plugin-ej-renamed"  # ejects fine; then upstream renames its package
COLLIDE = "@acme/plugin-ej-collide"  # upstream adds a file the copy has as an untracked one
NOBRANCH = "@acme/plugin-ej-nobranch"  # the registry names a branch (1.x) the repository does not have

INSTALLED = [BUILD, NOBUILD, FAILBUILD, NOIGNORE, GITHEAD, MERGE, CONFLICT_COMMIT, CONFLICT_EDIT, CONFLICT_TRACKED, REINJECT,
             GONE, MISSING, NOREPO, MONO, SLOW, GITDEP, HIJACK, RENAMED, COLLIDE, NOBRANCH]
LISTED = [BUILD, NOBUILD, FAILBUILD, NOIGNORE, MERGE, CONFLICT_COMMIT, CONFLICT_EDIT, CONFLICT_TRACKED, REINJECT, GONE, MISSING,
          MONO, SLOW, GITDEP, HIJACK, RENAMED, COLLIDE, NOBRANCH]

DEP = "ej-dep"
FAIL_MARKER = "e2e-build-broke-on-purpose-5531"

BUILD_JS = """const fs = require('fs');
if (fs.existsSync('SLOW')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 4000);
const message = fs.readFileSync('src/message.txt', 'utf8').trim();
fs.mkdirSync('dist', { recursive: true });
fs.writeFileSync('dist/index.js', 'module.exports = { name: ' + JSON.stringify(message) + ' };\\n');
"""


def short(npm: str) -> str:
    return npm.split("/", 1)[1].removeprefix("plugin-")


def dir_name(npm: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", npm)


# --- git -----------------------------------------------------------------------------------------

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    # The suite (root) works in repositories the installer user owns, as that user would.
    "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*",
    "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@localhost",
    "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@localhost",
    "LC_ALL": "C",
}


def git(repo: Path, *args: str, check: bool = True) -> str:
    env = dict(os.environ)
    env.update(GIT_ENV)
    env["HOME"] = str(repo.parent)  # no user config of whoever runs the suite
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} in {repo} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout.rstrip("\n")


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    write_files(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def new_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    return path


def package_json(npm: str, **extra) -> str:
    document = {"name": npm, "version": VERSION, "description": f"e2e eject plugin {npm}", "license": "MIT"}
    document.update(extra)
    return json.dumps(document, indent=2) + "\n"


def snapshot(repo: Path, files: list[str]) -> dict:
    """Everything a developer would call "the state of my copy"."""
    stashes = git(repo, "stash", "list")
    return {
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
        "head": git(repo, "rev-parse", "HEAD"),
        "branch": git(repo, "rev-parse", "--abbrev-ref", "HEAD"),
        "stash": stashes,
        "stash_commits": [git(repo, "rev-parse", f"stash@{{{i}}}") for i in range(len(stashes.splitlines()))],
        "index": git(repo, "diff", "--cached"),
        "worktree": git(repo, "diff"),
        "files": {name: (repo / name).read_bytes() if (repo / name).exists() else None for name in files},
        "merging": (repo / ".git" / "MERGE_HEAD").exists(),
    }


# --- the upstream repositories -------------------------------------------------------------------


class Upstreams:
    """The repositories plugind clones; `commits` remembers the ones the tests assert on."""

    def __init__(self, root: Path):
        self.root = root
        self.commits: dict[str, str] = {}

    def path(self, npm: str) -> Path:
        return self.root / "acme" / short(npm)

    @property
    def marker(self) -> Path:
        return self.root / "GIT-PREPARE-RAN"

    def build(self) -> None:
        # A build script and a .gitignore; the release tag v1.0.0 is one commit behind main.
        repo = new_repo(self.path(BUILD))
        self.commits["build-v1"] = commit(repo, {
            "package.json": package_json(BUILD, main="dist/index.js", scripts={"build": "node build.js"}),
            "build.js": BUILD_JS,
            "src/message.txt": "ejected-build-v1\n",
            ".gitignore": "node_modules/\ndist/\n",
            "README.md": "# ej-build\n",
        }, "release 1.0.0")
        git(repo, "tag", "v1.0.0")
        self.commits["build-main"] = commit(repo, {"README.md": "# ej-build\n\nafter the release\n"}, "docs after 1.0.0")

        # No build script, no tag: the head of main is what an eject can find.
        repo = new_repo(self.path(NOBUILD))
        commit(repo, {"package.json": package_json(NOBUILD, main="index.js"),
                      "index.js": "module.exports = { name: 'nobuild-first' };\n"}, "first")
        self.commits["nobuild-main"] = commit(repo, {"index.js": "module.exports = { name: 'nobuild-second' };\n"}, "second")

        repo = new_repo(self.path(FAILBUILD))
        commit(repo, {
            "package.json": package_json(FAILBUILD, main="index.js", scripts={
                "build": f"node -e \"console.error('{FAIL_MARKER}'); process.exit(1)\""}),
            "index.js": "module.exports = { name: 'failbuild' };\n",
        }, "release 1.0.0")
        git(repo, "tag", "v1.0.0")

        # No .gitignore at all: node_modules/ (a real dependency) and dist/ must still not count.
        repo = new_repo(self.path(NOIGNORE))
        self.commits["noignore-v1"] = commit(repo, {
            "package.json": package_json(NOIGNORE, main="dist/index.js", dependencies={DEP: VERSION}, scripts={
                "build": "node -e \"require('fs').mkdirSync('dist',{recursive:true});"
                         "require('fs').writeFileSync('dist/index.js','module.exports={name:\\\"noignore\\\"}')\""}),
            "README.md": "# ej-noignore\n",
        }, "release 1.0.0")
        git(repo, "tag", f"{NOIGNORE}@{VERSION}")
        commit(repo, {"README.md": "# ej-noignore\n\nlater\n"}, "later")

        # Found only through the packument's gitHead: no tag, and main moved on.
        repo = new_repo(self.path(GITHEAD))
        commit(repo, {"package.json": package_json(GITHEAD, main="index.js"), "index.js": "module.exports = { name: 'gh-0' };\n"}, "start")
        self.commits["githead"] = commit(repo, {"index.js": "module.exports = { name: 'gh-1' };\n"}, "published as 1.0.0")
        commit(repo, {"index.js": "module.exports = { name: 'gh-2' };\n"}, "after the release")

        # Its package.json names another plugin: ejecting it must never put that code in its place.
        repo = new_repo(self.path(HIJACK))
        commit(repo, {"package.json": package_json("@acme/plugin-ej-build", main="index.js"),
                      "index.js": "module.exports = { name: 'hijack' };\n"}, "release 1.0.0")
        git(repo, "tag", "v1.0.0")

        for npm in (MERGE, CONFLICT_COMMIT, CONFLICT_EDIT, CONFLICT_TRACKED, REINJECT, GONE, RENAMED, COLLIDE, NOBRANCH):
            repo = new_repo(self.path(npm))
            self.commits[npm] = commit(repo, {
                "package.json": package_json(npm, main="index.js"),
                "index.js": f"module.exports = {{ name: {json.dumps(short(npm))} }};\n",
                "a.txt": "alpha\nline 2\nline 3\n",
                "b.txt": "bravo\n",
                "c.txt": "charlie\n",
                "d.txt": "delta\n",
            }, "release 1.0.0")
            git(repo, "tag", VERSION)  # the bare-version tag form

        repo = new_repo(self.path(SLOW))
        commit(repo, {
            "package.json": package_json(SLOW, main="dist/index.js", scripts={"build": "node build.js"}),
            "build.js": BUILD_JS, "src/message.txt": "slow\n", ".gitignore": "node_modules/\ndist/\n",
        }, "release 1.0.0")
        git(repo, "tag", "v1.0.0")

        # A git dependency whose prepare script would run during npm install, even with --ignore-scripts (npm 10).
        evil = new_repo(self.root / "evil" / "evil-ej-git")
        commit(evil, {
            "package.json": json.dumps({"name": "evil-ej-git", "version": "1.0.0", "scripts": {"prepare": "node prepare.js"}}),
            "prepare.js": f"require('fs').writeFileSync({json.dumps(str(self.marker))}, 'ran');\n",
        }, "evil")
        repo = new_repo(self.path(GITDEP))
        commit(repo, {"package.json": package_json(GITDEP, main="index.js", dependencies={"evil-ej-git": f"git+file://{evil}"}),
                      "index.js": "module.exports = { name: 'gitdep' };\n"}, "release 1.0.0")
        git(repo, "tag", "v1.0.0")

        # The monorepo MONO's registry entry points into (it must never be cloned).
        repo = new_repo(self.root / "acme" / "monorepo")
        commit(repo, {"packages/ej-mono/package.json": package_json(MONO)}, "monorepo")


# --- the plugin registry and npm registry --------------------------------------------------------


def tarball(files: dict[str, str]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo("package/" + path)
            info.size, info.mode, info.mtime = len(data), 0o644, 499162500
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


class Source(ThreadingHTTPServer):
    """The plugin registry document at /registry/generated-registry.json, packuments at /npm/<name>,
    tarballs at /npm/<name>/-/<file>. Unknown packages are 404."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SourceHandler)
        self.port = self.server_address[1]
        self.registry: dict = {}
        self.packuments: dict[str, dict] = {}
        self.files: dict[str, bytes] = {}
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, name="eject-source", daemon=True)

    @property
    def npm(self) -> str:
        return f"http://127.0.0.1:{self.port}/npm/"

    @property
    def registry_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/registry/generated-registry.json"

    def list(self, npm: str, repo: str, directory: str | None = None, branch: str = "main") -> None:
        entry = {
            "git": {"repo": repo, "v1": {"version": f"v{VERSION}", "branch": branch}},
            "npm": {"repo": npm, "v1": VERSION},
            "supports": {"v0": False, "v1": True, "v2": False},
            "description": f"e2e eject plugin {npm}",
        }
        if directory:
            entry["directory"] = directory
        self.registry[npm] = entry

    def publish(self, npm: str, version_fields: dict, files: dict[str, str] | None = None) -> None:
        manifest = {"name": npm, "version": VERSION, **version_fields}
        # A real packument's versions always carry a dist (plugind skips versions without a tarball).
        files = files if files is not None else {"index.js": "module.exports = {};\n"}
        data = tarball({"package.json": json.dumps(manifest), **files})
        filename = f"{npm.split('/')[-1]}-{VERSION}.tgz"
        self.files[f"{npm}/-/{filename}"] = data
        manifest["dist"] = {
            "tarball": f"{self.npm}{npm}/-/{filename}",
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
            "shasum": hashlib.sha1(data).hexdigest(),
        }
        self.packuments[npm] = {
            "_id": npm, "name": npm, "dist-tags": {"latest": VERSION}, "versions": {VERSION: manifest},
            "time": {"created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z", VERSION: "2025-01-01T00:00:00.000Z"},
        }


class SourceHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        server: Source = self.server  # type: ignore[assignment]
        path = self.path.split("?", 1)[0]
        server.seen.append(path)
        if path == "/registry/generated-registry.json":
            return self.send(200, json.dumps({"lastUpdatedAt": "2026-01-01T00:00:00.000Z", "registry": server.registry}).encode())
        if path.startswith("/npm/"):
            rest = unquote(path[len("/npm/"):])
            if rest in server.files:
                return self.send(200, server.files[rest], "application/octet-stream")
            if rest in server.packuments:
                return self.send(200, json.dumps(server.packuments[rest]).encode())
        self.send(404, b'{"error":"Not found"}')

    def send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


# --- the stack -----------------------------------------------------------------------------------


def write_installed(state: Path, npm: str) -> dict:
    """The published package, as plugind installs it; its code says it is the installed copy."""
    root = state / "plugins" / "installed" / dir_name(npm)
    package = root / "node_modules" / npm
    package.mkdir(parents=True)
    (package / "package.json").write_text(package_json(npm, main="index.js"))
    (package / "index.js").write_text(f"module.exports = {{ name: {json.dumps('installed-' + short(npm))} }};\n")
    (root / "package.json").write_text(json.dumps({"name": "plugind-install", "private": True, "dependencies": {npm: VERSION}}) + "\n")
    return {"source": "npm", "spec": npm, "installPath": str(root), "version": VERSION, "installedAt": "2025-06-01T10:00:00.000Z"}


class World:
    def __init__(self, base: Path, source: Source, upstreams: Upstreams):
        self.base = base
        self.source = source
        self.upstreams = upstreams
        self.stack = None

    @property
    def state(self) -> Path:
        return self.stack.stateDir

    def ejected(self, npm: str) -> Path:
        return self.state / "plugins" / "ejected" / dir_name(npm)

    @property
    def staging(self) -> Path:
        return self.state / "plugins" / ".staging"

    @property
    def archive(self) -> Path:
        return self.state / "plugins" / "ejected-archive"


@pytest.fixture(scope="module")
def world():
    base = Path(tempfile.mkdtemp(prefix="plugind-e2e-eject-"))
    upstreams = Upstreams(base / "repos")
    upstreams.build()
    # The upstream repositories are cloned by the installer user (plugind runner): its own, and reachable.
    ensure_installer_user()
    let_installer_pass(base)
    give_to_installer(upstreams.root)
    source = Source()
    source.thread.start()
    for npm in LISTED:
        if npm == MONO:
            source.list(npm, "acme/monorepo", directory="packages/ej-mono")
        elif npm == NOBRANCH:
            source.list(npm, "acme/" + short(npm), branch="1.x")
        else:
            source.list(npm, "acme/" + short(npm))
    source.publish(GITHEAD, {"repository": {"type": "git", "url": f"git+file://{upstreams.path(GITHEAD)}"},
                             "gitHead": upstreams.commits["githead"]})
    source.publish(NOREPO, {"description": "published without a repository field"})
    source.publish(DEP, {"main": "index.js"}, files={"index.js": "module.exports = 'ej-dep';\n"})
    w = World(base, source, upstreams)

    def prepare(state: Path) -> None:
        installs = {npm: write_installed(state, npm) for npm in INSTALLED}
        path = state / "milady.json"
        path.write_text(json.dumps({"plugins": {"installs": installs, "entries": {}}}, indent=2) + "\n")
        path.chmod(0o600)

    try:
        for stack in _run_stack({
            "PLUGIND_GIT_BASE_URL": f"file://{upstreams.root}/",
            "PLUGIND_PLUGIN_REGISTRY_URLS": source.registry_url,
            "PLUGIND_NPM_REGISTRY": source.npm,
            "PLUGIND_RESTART_DEBOUNCE_MS": str(DEBOUNCE_MS),
        }, prepare=prepare):
            w.stack = stack
            yield w
    finally:
        source.shutdown()
        source.server_close()
        if not os.environ.get("PLUGIND_E2E_KEEP"):
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def admin(world):
    with world.stack.client(world.stack.adminToken) as session:
        # What the test changed as root in an upstream or an ejected copy becomes the installer's again before
        # plugind (through its runner) works on it, as if the installer user had made the change.
        send = session.request

        def request(method, url, *args, **kwargs):
            if method.upper() != "GET":
                give_to_installer(world.upstreams.root, world.state / "plugins" / "ejected")
            return send(method, url, *args, **kwargs)

        session.request = request
        yield session


@pytest.fixture
def reader(world):
    with world.stack.client(world.stack.readToken) as session:
        yield session


# --- helpers -------------------------------------------------------------------------------------


def expect(response, status: int) -> dict:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: expected {status}, got {response.status_code}: {response.text[:1500]}"
    )
    return response.json() if response.content else {}


def error(response, status: int) -> dict:
    body = expect(response, status)
    assert isinstance(body.get("error"), str) and body["error"], body
    return body


def eject(admin, npm: str, status: int = 200, **kwargs) -> dict:
    return expect(admin.post(f"/api/plugins/{short(npm)}/eject", timeout=OP_TIMEOUT, **kwargs), status)


def sync(admin, npm: str, status: int = 200, body: dict | None = None, **kwargs) -> dict:
    if body is not None:
        kwargs["json"] = body
    return expect(admin.post(f"/api/plugins/{short(npm)}/sync", timeout=OP_TIMEOUT, **kwargs), status)


def reinject(admin, npm: str, status: int = 200, body: dict | None = None) -> dict:
    kwargs = {"json": body} if body is not None else {}
    return expect(admin.post(f"/api/plugins/{short(npm)}/reinject", timeout=OP_TIMEOUT, **kwargs), status)


def plugin(session, npm: str) -> dict:
    one = expect(session.get(f"/api/plugins/{short(npm)}"), 200)["plugin"]
    assert one["npmName"] == npm
    return one


def ejected_row(session, npm: str) -> dict | None:
    rows = expect(session.get("/api/plugins/ejected"), 200)["plugins"]
    matches = [row for row in rows if row["name"] == npm]
    assert len(matches) <= 1, rows
    return matches[0] if matches else None


def staging_is_empty(world) -> bool:
    return not world.staging.exists() or list(world.staging.iterdir()) == []


def host_log(world) -> str:
    try:
        return (world.state / "logs" / "agent-host.log").read_text(errors="replace")
    except FileNotFoundError:
        return ""


def wait_settled(session) -> dict:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        last = expect(session.get("/api/runtime"), 200)
        if not last["pendingRestart"] and last["state"] == "running":
            return last
        time.sleep(0.1)
    pytest.fail(f"the runtime did not settle within {SETTLE_TIMEOUT:.0f}s: {last}")


def wait_for(predicate, what: str, timeout: float = SETTLE_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def no_failed_leftovers(world, npm: str) -> None:
    assert not world.ejected(npm).exists(), f"{world.ejected(npm)} was left behind"
    assert staging_is_empty(world), f"left in {world.staging}: {list(world.staging.iterdir())}"


# --- eject ---------------------------------------------------------------------------------------


def test_eject_with_a_build_script_checks_out_the_release_tag_and_builds(world, admin, reader):
    repo = world.ejected(BUILD)
    operation = str(uuid.uuid4())
    body = eject(admin, BUILD, headers={"X-Operation-Id": operation})
    assert body["ok"] is True and body["requiresRestart"] is True
    assert body["localPath"] == str(repo)
    assert body["commit"] == world.upstreams.commits["build-v1"], "the commit of tag v1.0.0, not the head of main"
    assert body["checkedOut"] == "tag v1.0.0"

    # The files, the history and the build.
    assert (repo / ".git").is_dir() and (repo / "build.js").is_file()
    assert (repo / "src" / "message.txt").read_text() == "ejected-build-v1\n"
    assert (repo / "dist" / "index.js").read_text() == 'module.exports = { name: "ejected-build-v1" };\n'
    assert not (repo / "package-lock.json").exists(), "npm ran with --no-package-lock"
    assert git(repo, "rev-parse", "HEAD") == world.upstreams.commits["build-v1"]
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(repo, "rev-parse", "origin/main") == world.upstreams.commits["build-main"], "a full clone: origin/main is there"
    assert int(git(repo, "rev-list", "--count", "HEAD")) == 1
    exclude = (repo / ".git" / "info" / "exclude").read_text().splitlines()
    for line in ("node_modules/", "dist/", "package-lock.json", ".upstream.json"):
        assert line in exclude, f"{line} not in .git/info/exclude: {exclude}"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == "", "a fresh eject has no local changes"

    # .upstream.json, in Milady's schema.
    upstream = json.loads((repo / ".upstream.json").read_text())
    assert upstream["$schema"] == "milaidy-upstream-v1"
    assert upstream["source"] == "github:acme/ej-build"
    assert upstream["gitUrl"] == f"file://{world.upstreams.path(BUILD)}"
    assert upstream["branch"] == "main"
    assert upstream["commitHash"] == world.upstreams.commits["build-v1"]
    assert upstream["npmPackage"] == BUILD and upstream["npmVersion"] == VERSION
    assert upstream["lastSyncAt"] is None and upstream["localCommits"] == 0
    assert abs((datetime.now(iso(upstream["ejectedAt"]).tzinfo) - iso(upstream["ejectedAt"])).total_seconds()) < 600

    # The API: the plugin is now the ejected copy, listed as ejected, with its operation.
    one = plugin(reader, BUILD)
    assert one["source"] == "ejected" and one["version"] == VERSION and one["available"] is True
    listed = [p for p in expect(reader.get("/api/plugins"), 200)["plugins"] if p["npmName"] == BUILD]
    assert len(listed) == 1 and listed[0]["source"] == "ejected"
    row = ejected_row(reader, BUILD)
    assert row == {
        "name": BUILD, "localPath": str(repo), "version": VERSION,
        "upstream": {"gitUrl": upstream["gitUrl"], "branch": "main", "commit": world.upstreams.commits["build-v1"],
                     "ejectedAt": upstream["ejectedAt"], "lastSyncAt": None},
        "localChanges": False, "localCommits": 0, "warning": None,
    }
    record = expect(reader.get(f"/api/operations/{operation}"), 200)["operation"]
    assert record["kind"] == "eject" and record["target"] == BUILD and record["state"] == "succeeded"
    assert record["result"]["commit"] == body["commit"]
    assert staging_is_empty(world)


def test_ejecting_it_again_is_409_and_changes_nothing(world, admin):
    before = snapshot(world.ejected(BUILD), ["dist/index.js", ".upstream.json"])
    body = error(admin.post(f"/api/plugins/{short(BUILD)}/eject"), 409)
    assert "already ejected" in body["error"]
    assert snapshot(world.ejected(BUILD), ["dist/index.js", ".upstream.json"]) == before


def test_the_agent_host_loads_the_ejected_copy(world, admin, reader):
    wait_settled(reader)
    body = expect(admin.put(f"/api/plugins/{short(BUILD)}", json={"enabled": True}), 200)
    assert body["requiresRestart"] is True
    wait_settled(reader)
    wait_for(lambda: plugin(reader, BUILD)["isActive"], f"{BUILD} to be active")
    one = plugin(reader, BUILD)
    assert one["loadError"] is None and one["source"] == "ejected"
    line = f'loaded {BUILD} (plugin "ejected-build-v1", ejected, {world.ejected(BUILD)})'
    assert line in host_log(world), f"the host did not load the ejected copy:\n{host_log(world)[-3000:]}"


def test_what_git_and_the_build_wrote_belongs_to_the_installer_user(world):
    """git and the repository's build ran as the installer user (plugind runner), never as plugind or root."""
    import pwd
    installer = pwd.getpwnam("plugind-install").pw_uid
    repo = world.ejected(BUILD)
    written = list((repo / ".git" / "objects").rglob("*")) + list((repo / "dist").rglob("*")) + [repo / ".upstream.json"]
    assert written and {path.lstat().st_uid for path in written} == {installer}


def test_eject_without_a_build_script_and_without_a_tag_takes_the_branch_head(world, admin, reader):
    repo = world.ejected(NOBUILD)
    body = eject(admin, NOBUILD)
    assert body["commit"] == world.upstreams.commits["nobuild-main"]
    assert body["checkedOut"].startswith("head of main"), body["checkedOut"]
    assert VERSION in body["checkedOut"], "it says which version it did not find"
    assert (repo / "index.js").read_text() == "module.exports = { name: 'nobuild-second' };\n"
    assert not (repo / "dist").exists()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    row = ejected_row(reader, NOBUILD)
    assert row["localChanges"] is False and row["localCommits"] == 0


def test_a_fresh_eject_has_no_local_changes_so_a_rebuild_needs_no_restart(world, admin, reader):
    head = git(world.ejected(NOBUILD), "rev-parse", "HEAD")
    body = sync(admin, NOBUILD, body={"pull": False})
    assert body == {"ok": True, "requiresRestart": False, "upstreamCommits": 0, "localChanges": False, "commit": head,
                    # Nothing the agent loads changed: nobody waits for a verdict.
                    "loaded": None, "loadError": None, "warnings": []}
    assert ejected_row(reader, NOBUILD)["localChanges"] is False


def test_eject_whose_build_fails_is_422_with_the_log_and_leaves_nothing(world, admin, reader):
    operation = str(uuid.uuid4())
    body = error(admin.post(f"/api/plugins/{short(FAILBUILD)}/eject", headers={"X-Operation-Id": operation},
                            timeout=OP_TIMEOUT), 422)
    assert "build" in body["error"]
    assert isinstance(body.get("logTail"), list) and body["logTail"], body
    assert any(FAIL_MARKER in line for line in body["logTail"]), body["logTail"]
    no_failed_leftovers(world, FAILBUILD)
    assert plugin(reader, FAILBUILD)["source"] == "installed"
    assert ejected_row(reader, FAILBUILD) is None
    record = expect(reader.get(f"/api/operations/{operation}"), 200)["operation"]
    assert record["state"] == "failed" and record["kind"] == "eject" and record["error"]


def test_eject_without_a_gitignore_counts_no_dependency_or_build_output_as_a_change(world, admin, reader):
    repo = world.ejected(NOIGNORE)
    body = eject(admin, NOIGNORE)
    assert body["checkedOut"] == f"tag {NOIGNORE}@{VERSION}"
    assert body["commit"] == world.upstreams.commits["noignore-v1"]
    assert not (repo / ".gitignore").exists()
    assert json.loads((repo / "node_modules" / DEP / "package.json").read_text())["name"] == DEP, \
        "npm installed the dependency from PLUGIND_NPM_REGISTRY"
    assert any(path.startswith(f"/npm/{DEP}/-/") for path in world.source.seen), "the tarball came from the configured registry"
    assert (repo / "dist" / "index.js").is_file()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    row = ejected_row(reader, NOIGNORE)
    assert row["localChanges"] is False and row["localCommits"] == 0


def test_a_git_dependency_of_the_checkout_is_refused_before_npm_runs(world, admin, reader):
    """Eject installs the checkout's dependencies through the installs' verified path (issue 16)."""
    operation = str(uuid.uuid4())
    body = error(admin.post(f"/api/plugins/{short(GITDEP)}/eject", headers={"X-Operation-Id": operation}, timeout=OP_TIMEOUT), 422)
    assert body["dependencyPath"] == f"{GITDEP} → evil-ej-git", body
    assert body["spec"].startswith("git+file://"), body
    assert not world.upstreams.marker.exists(), "the git dependency's prepare script ran"
    record = expect(reader.get(f"/api/operations/{operation}"), 200)["operation"]
    assert not any(line.startswith("npm") for line in record["logTail"]), record["logTail"]
    no_failed_leftovers(world, GITDEP)
    assert plugin(reader, GITDEP)["source"] == "installed"


def test_eject_found_only_by_the_packuments_git_head(world, admin, reader):
    repo = world.ejected(GITHEAD)
    body = eject(admin, GITHEAD)
    assert body["commit"] == world.upstreams.commits["githead"]
    assert body["checkedOut"] == f"gitHead of {VERSION}"
    assert git(repo, "rev-parse", "HEAD") == world.upstreams.commits["githead"]
    assert (repo / "index.js").read_text() == "module.exports = { name: 'gh-1' };\n"
    upstream = json.loads((repo / ".upstream.json").read_text())
    assert upstream["gitUrl"] == f"file://{world.upstreams.path(GITHEAD)}"
    assert upstream["branch"] == "main" and upstream["commitHash"] == world.upstreams.commits["githead"]
    assert plugin(reader, GITHEAD)["source"] == "ejected"


def test_eject_of_a_plugin_with_no_repository_is_422_and_leaves_nothing(world, admin, reader):
    body = error(admin.post(f"/api/plugins/{short(NOREPO)}/eject", timeout=OP_TIMEOUT), 422)
    assert "repository" in body["error"]
    no_failed_leftovers(world, NOREPO)
    assert plugin(reader, NOREPO)["source"] == "installed"


def test_eject_offline_says_the_registry_is_unreachable_not_that_the_package_has_no_repository(world):
    """Issue 20: the plugin registry never answered (a closed port) and nothing else names NOREPO's
    repository: 502 saying the registry is unreachable and which setting to check, not a 422 blaming the package."""
    closed = f"http://127.0.0.1:{free_port()}/generated-registry.json"

    def prepare(state: Path) -> None:
        path = state / "milady.json"
        path.write_text(json.dumps({"plugins": {"installs": {NOREPO: write_installed(state, NOREPO)}, "entries": {}}}) + "\n")
        path.chmod(0o600)

    run = contextlib.contextmanager(_run_stack)
    with run({"PLUGIND_PLUGIN_REGISTRY_URLS": closed, "PLUGIND_NPM_REGISTRY": world.source.npm,
              "PLUGIND_GIT_BASE_URL": f"file://{world.upstreams.root}/"}, prepare=prepare) as stack, \
            stack.client(stack.adminToken) as admin:
        body = error(admin.post(f"/api/plugins/{short(NOREPO)}/eject", timeout=OP_TIMEOUT), 502)
        message = body["error"]
        assert "plugin registry is unreachable" in message and "pluginRegistryUrls" in message, message
        assert "names no source repository" not in message and len(message) <= 300, message
        assert not any((stack.stateDir / "plugins" / "ejected").glob("*")) if (stack.stateDir / "plugins" / "ejected").exists() else True


def test_eject_of_a_monorepo_entry_is_422_saying_it_is_not_supported(world, admin):
    body = error(admin.post(f"/api/plugins/{short(MONO)}/eject", timeout=OP_TIMEOUT), 422)
    assert "packages/ej-mono" in body["error"] and "not supported" in body["error"]
    no_failed_leftovers(world, MONO)


def test_eject_of_a_repository_that_does_not_exist_is_502_and_leaves_nothing(world, admin, reader):
    assert not world.upstreams.path(MISSING).exists()
    body = error(admin.post(f"/api/plugins/{short(MISSING)}/eject", timeout=OP_TIMEOUT), 502)
    assert "clone" in body["error"]
    no_failed_leftovers(world, MISSING)
    assert plugin(reader, MISSING)["source"] == "installed"


# --- sync ----------------------------------------------------------------------------------------


def test_sync_merges_new_upstream_commits_and_the_host_loads_them(world, admin, reader):
    upstream_repo = world.upstreams.path(BUILD)
    new_head = commit(upstream_repo, {"src/message.txt": "ejected-build-v2\n"}, "v2 message")
    repo = world.ejected(BUILD)
    wait_settled(reader)
    body = sync(admin, BUILD, body={})
    assert body == {"ok": True, "requiresRestart": True, "upstreamCommits": 2, "localChanges": False, "commit": new_head,
                    # Enabled, with a runtime that restarts by itself: the sync waited for the runtime's verdict.
                    "loaded": True, "loadError": None, "warnings": []}
    assert git(repo, "rev-parse", "HEAD") == new_head, "a fast-forward to upstream's head"
    assert (repo / "dist" / "index.js").read_text() == 'module.exports = { name: "ejected-build-v2" };\n', "rebuilt"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    upstream = json.loads((repo / ".upstream.json").read_text())
    assert upstream["commitHash"] == new_head and upstream["lastSyncAt"] is not None
    row = ejected_row(reader, BUILD)
    assert row["upstream"]["commit"] == new_head and row["upstream"]["lastSyncAt"] == upstream["lastSyncAt"]
    assert row["localChanges"] is False and row["localCommits"] == 0
    # The restart it scheduled loads the new code.
    wait_settled(reader)
    line = f'loaded {BUILD} (plugin "ejected-build-v2", ejected, {repo})'
    wait_for(lambda: line in host_log(world), "the host to load the synced copy")
    assert plugin(reader, BUILD)["isActive"] is True


def test_sync_with_pull_false_rebuilds_a_local_edit(world, admin, reader):
    repo = world.ejected(BUILD)
    head = git(repo, "rev-parse", "HEAD")
    (repo / "src" / "message.txt").write_text("ejected-build-local-edit\n")
    body = sync(admin, BUILD, body={"pull": False})
    assert body == {"ok": True, "requiresRestart": True, "upstreamCommits": 0, "localChanges": True, "commit": head,
                    # Enabled, with a runtime that restarts by itself: the sync waited for the runtime's verdict.
                    "loaded": True, "loadError": None, "warnings": []}
    assert (repo / "dist" / "index.js").read_text() == 'module.exports = { name: "ejected-build-local-edit" };\n'
    assert (repo / "src" / "message.txt").read_text() == "ejected-build-local-edit\n"
    assert git(repo, "status", "--porcelain") == " M src/message.txt"
    row = ejected_row(reader, BUILD)
    assert row["localChanges"] is True and row["localCommits"] == 0


def test_sync_keeps_uncommitted_edits_and_local_commits_that_merge_cleanly(world, admin, reader):
    repo = world.ejected(MERGE)
    body = eject(admin, MERGE)
    assert body["checkedOut"] == f"tag {VERSION}"
    local = commit(repo, {"a.txt": "alpha (local commit)\nline 2\nline 3\n"}, "a local commit")
    (repo / "b.txt").write_text("bravo (uncommitted edit)\n")
    (repo / "d.txt").write_text("delta (staged edit)\n")
    git(repo, "add", "d.txt")
    (repo / "notes.txt").write_text("an untracked note\n")
    upstream = commit(world.upstreams.path(MERGE), {"c.txt": "charlie (upstream)\n"}, "an upstream fix")

    body = sync(admin, MERGE)
    assert body["ok"] is True and body["upstreamCommits"] == 1 and body["localChanges"] is True
    assert body["requiresRestart"] is True
    head = git(repo, "rev-parse", "HEAD")
    assert body["commit"] == head and head not in (local, upstream), "a merge commit"
    git(repo, "merge-base", "--is-ancestor", local, "HEAD")
    git(repo, "merge-base", "--is-ancestor", upstream, "HEAD")
    assert (repo / "a.txt").read_text() == "alpha (local commit)\nline 2\nline 3\n"
    assert (repo / "c.txt").read_text() == "charlie (upstream)\n"
    assert (repo / "b.txt").read_text() == "bravo (uncommitted edit)\n"
    assert (repo / "d.txt").read_text() == "delta (staged edit)\n"
    assert (repo / "notes.txt").read_text() == "an untracked note\n"
    status = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert sorted(status) == sorted([" M b.txt", "M  d.txt", "?? notes.txt"]), status
    assert git(repo, "stash", "list") == "", "the sync's stash was popped"
    row = ejected_row(reader, MERGE)
    assert row["localChanges"] is True and row["localCommits"] == 2, row  # the local commit and the merge


def test_a_build_broken_by_upstream_is_422_with_the_log_and_the_merge_is_kept(world, admin, reader):
    repo = world.ejected(MERGE)
    before_head = git(repo, "rev-parse", "HEAD")
    broken = commit(world.upstreams.path(MERGE), {"package.json": package_json(MERGE, main="index.js", scripts={
        "build": f"node -e \"console.error('{FAIL_MARKER}'); process.exit(1)\""})}, "upstream breaks the build")
    body = error(admin.post(f"/api/plugins/{short(MERGE)}/sync", timeout=OP_TIMEOUT), 422)
    assert "kept" in body["error"], body["error"]
    assert any(FAIL_MARKER in line for line in body.get("logTail", [])), body
    git(repo, "merge-base", "--is-ancestor", broken, "HEAD")
    git(repo, "merge-base", "--is-ancestor", before_head, "HEAD")
    assert (repo / "b.txt").read_text() == "bravo (uncommitted edit)\n", "the local edits are still there"
    assert (repo / "notes.txt").read_text() == "an untracked note\n"
    assert git(repo, "stash", "list") == ""
    assert ejected_row(reader, MERGE)["localChanges"] is True
    # The copy names its real HEAD, whatever the build did.
    assert json.loads((repo / ".upstream.json").read_text())["commitHash"] == git(repo, "rev-parse", "HEAD")


def test_a_good_build_after_a_failed_one_restarts_the_agent(world, admin, reader):
    """Restarts follow what the agent loads (issue 17): the failed build left the agent on the old code; a later
    good build changes what it loads, though that sync moves no commit and leaves nothing uncommitted."""
    repo = world.ejected(MERGE)
    (repo / "package.json").write_text(package_json(MERGE, main="index.js", scripts={"build": "node -e \"console.log('fixed')\""}))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "fix the build locally")
    body = sync(admin, MERGE, body={"pull": False})
    assert body["requiresRestart"] is True, body
    # Nothing changed since: no restart.
    assert sync(admin, MERGE, body={"pull": False})["requiresRestart"] is False


CONFLICT_FILES = ["a.txt", "b.txt", "c.txt", "d.txt", "notes.txt", "index.js"]


def test_sync_with_a_conflicting_local_commit_is_409_and_restores_the_copy_exactly(world, admin, reader):
    repo = world.ejected(CONFLICT_COMMIT)
    eject(admin, CONFLICT_COMMIT)
    # A stash of the developer's own, a local commit, a staged edit, an unstaged edit, an untracked file.
    (repo / "index.js").write_text("// parked work\n")
    git(repo, "stash", "push", "-q", "-m", "the developer's own stash")
    commit(repo, {"a.txt": "alpha (local)\nline 2\nline 3\n"}, "local change to line 1")
    (repo / "c.txt").write_text("charlie (staged)\n")
    git(repo, "add", "c.txt")
    (repo / "b.txt").write_text("bravo (unstaged)\n")
    (repo / "notes.txt").write_text("untracked\n")
    commit(world.upstreams.path(CONFLICT_COMMIT), {"a.txt": "alpha (upstream)\nline 2\nline 3\n"}, "upstream change to line 1")
    before = snapshot(repo, CONFLICT_FILES)

    body = error(admin.post(f"/api/plugins/{short(CONFLICT_COMMIT)}/sync", json={"pull": True}, timeout=OP_TIMEOUT), 409)
    assert body["conflicts"] == ["a.txt"], body
    assert snapshot(repo, CONFLICT_FILES) == before
    row = ejected_row(reader, CONFLICT_COMMIT)
    assert row["localChanges"] is True and row["localCommits"] == 1 and row["upstream"]["lastSyncAt"] is None
    failed = [op for op in expect(reader.get("/api/operations", params={"target": CONFLICT_COMMIT}), 200)["operations"]
              if op["kind"] == "sync"]
    assert failed and failed[0]["state"] == "failed"


@pytest.mark.parametrize("npm,untracked", [(CONFLICT_TRACKED, False), (CONFLICT_EDIT, True)], ids=["tracked-edits", "with-an-untracked-file"])
def test_sync_with_a_conflicting_uncommitted_edit_is_409_and_restores_the_copy_exactly(world, admin, reader, npm, untracked):
    """The merge itself is clean (the edits are stashed); putting the edits back conflicts."""
    repo = world.ejected(npm)
    eject(admin, npm)
    (repo / "a.txt").write_text("alpha (uncommitted)\nline 2\nline 3\n")
    (repo / "d.txt").write_text("delta (staged)\n")
    git(repo, "add", "d.txt")
    if untracked:
        (repo / "notes.txt").write_text("untracked\n")
    commit(world.upstreams.path(npm), {"a.txt": "alpha (upstream)\nline 2\nline 3\n"}, "upstream change to line 1")
    before = snapshot(repo, CONFLICT_FILES)

    body = error(admin.post(f"/api/plugins/{short(npm)}/sync", timeout=OP_TIMEOUT), 409)
    assert body["conflicts"] == ["a.txt"], body
    assert snapshot(repo, CONFLICT_FILES) == before
    assert ejected_row(reader, npm)["localCommits"] == 0


def test_sync_when_the_upstream_is_gone_is_502_and_changes_nothing(world, admin):
    repo = world.ejected(GONE)
    eject(admin, GONE)
    (repo / "b.txt").write_text("bravo (edit)\n")
    upstream = world.upstreams.path(GONE)
    moved = upstream.with_name(upstream.name + "-moved")
    before = snapshot(repo, CONFLICT_FILES)
    upstream.rename(moved)
    try:
        body = error(admin.post(f"/api/plugins/{short(GONE)}/sync", timeout=OP_TIMEOUT), 502)
        assert "fetch" in body["error"]
        assert snapshot(repo, CONFLICT_FILES) == before
    finally:
        moved.rename(upstream)
    body = sync(admin, GONE)
    assert body["upstreamCommits"] == 0 and body["localChanges"] is True


def test_a_second_operation_on_the_same_plugin_is_409_naming_the_running_one(world, admin, reader):
    repo = world.ejected(SLOW)
    eject(admin, SLOW)
    (repo / "SLOW").write_text("the build sleeps 4 s\n")
    operation = str(uuid.uuid4())
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(lambda: admin.post(f"/api/plugins/{short(SLOW)}/sync", json={"pull": False},
                                                 headers={"X-Operation-Id": operation}, timeout=OP_TIMEOUT))

        def building():
            r = reader.get(f"/api/operations/{operation}")
            return r.status_code == 200 and r.json()["operation"]["phase"] == "building"

        wait_for(building, "the sync to be building", timeout=30)
        record = expect(reader.get(f"/api/operations/{operation}"), 200)["operation"]
        assert record["state"] == "running" and record["kind"] == "sync" and record["target"] == SLOW
        for path, body in (("sync", {}), ("reinject", {"force": True}), ("eject", None)):
            kwargs = {"json": body} if body is not None else {}
            answer = error(admin.post(f"/api/plugins/{short(SLOW)}/{path}", timeout=OP_TIMEOUT, **kwargs), 409)
            if path != "eject":  # eject answers "already ejected" before it looks for a running operation
                assert answer["operationId"] == operation, answer
        done = running.result(timeout=OP_TIMEOUT)
    assert expect(done, 200)["requiresRestart"] is True
    assert expect(reader.get(f"/api/operations/{operation}"), 200)["operation"]["state"] == "succeeded"
    assert repo.exists(), "the forced reinject was refused while the sync ran"


# --- reinject ------------------------------------------------------------------------------------


def test_reinject_is_refused_with_local_edits_or_commits_and_forced_it_archives(world, admin, reader):
    repo = world.ejected(REINJECT)
    eject(admin, REINJECT)
    (repo / "a.txt").write_text("alpha (edited)\n")
    body = error(admin.post(f"/api/plugins/{short(REINJECT)}/reinject", timeout=OP_TIMEOUT), 409)
    assert "uncommitted" in body["error"] and "force" in body["error"]
    assert (repo / "a.txt").read_text() == "alpha (edited)\n" and plugin(reader, REINJECT)["source"] == "ejected"

    local = commit(repo, {}, "commit the edit")
    body = error(admin.post(f"/api/plugins/{short(REINJECT)}/reinject", json={"force": False}, timeout=OP_TIMEOUT), 409)
    assert "local commit" in body["error"]
    assert repo.exists()

    (repo / "b.txt").write_text("bravo (edited, never committed)\n")
    body = reinject(admin, REINJECT, body={"force": True})
    assert body["ok"] is True and body["requiresRestart"] is True
    archived = Path(body["archivedTo"])
    assert archived.parent == world.archive and archived.name.startswith(dir_name(REINJECT) + "-")
    assert not repo.exists()
    assert (archived / "a.txt").read_text() == "alpha (edited)\n"
    assert (archived / "b.txt").read_text() == "bravo (edited, never committed)\n"
    assert git(archived, "rev-parse", "HEAD") == local, "the local commit is archived with it"
    assert plugin(reader, REINJECT)["source"] == "installed"
    assert ejected_row(reader, REINJECT) is None
    error(admin.post(f"/api/plugins/{short(REINJECT)}/sync", timeout=OP_TIMEOUT), 404)
    error(admin.post(f"/api/plugins/{short(REINJECT)}/reinject", json={"force": True}, timeout=OP_TIMEOUT), 404)


def test_reinject_of_a_clean_copy_needs_no_force(world, admin, reader):
    repo = world.ejected(NOBUILD)
    head = git(repo, "rev-parse", "HEAD")
    body = reinject(admin, NOBUILD)
    archived = Path(body["archivedTo"])
    assert archived.parent == world.archive and not repo.exists()
    assert git(archived, "rev-parse", "HEAD") == head
    assert plugin(reader, NOBUILD)["source"] == "installed"
    # It can be ejected again afterwards.
    again = eject(admin, NOBUILD)
    assert again["commit"] == head and repo.exists()


# --- refusals ------------------------------------------------------------------------------------


def test_eject_of_a_repository_holding_another_package_is_422_and_leaves_nothing(world, admin, reader):
    """The right code or none (issue 17): the checkout must be the plugin's own package."""
    body = error(admin.post(f"/api/plugins/{short(HIJACK)}/eject", timeout=OP_TIMEOUT), 422)
    assert HIJACK in body["error"] and "@acme/plugin-ej-build" in body["error"], body
    no_failed_leftovers(world, HIJACK)
    assert plugin(reader, HIJACK)["source"] == "installed"


def test_a_sync_whose_upstream_now_holds_another_package_is_422_and_merges_nothing(world, admin, reader):
    repo = world.ejected(RENAMED)
    eject(admin, RENAMED)
    (repo / "b.txt").write_text("bravo (an uncommitted edit)\n")
    commit(world.upstreams.path(RENAMED), {"package.json": package_json("@acme/plugin-ej-merge", main="index.js")}, "rename the package")
    before = snapshot(repo, CONFLICT_FILES)
    body = error(admin.post(f"/api/plugins/{short(RENAMED)}/sync", timeout=OP_TIMEOUT), 422)
    assert RENAMED in body["error"] and "@acme/plugin-ej-merge" in body["error"], body
    assert snapshot(repo, CONFLICT_FILES) == before
    assert json.loads((repo / "package.json").read_text())["name"] == RENAMED


def test_an_untracked_file_in_the_way_of_an_upstream_one_is_listed_among_the_conflicts(world, admin):
    repo = world.ejected(COLLIDE)
    eject(admin, COLLIDE)
    (repo / "notes.md").write_text("my own notes\n")
    commit(world.upstreams.path(COLLIDE), {"notes.md": "upstream's notes\n"}, "upstream adds notes.md")
    before = snapshot(repo, CONFLICT_FILES + ["notes.md"])
    body = error(admin.post(f"/api/plugins/{short(COLLIDE)}/sync", timeout=OP_TIMEOUT), 409)
    assert "notes.md" in body["conflicts"], body
    assert snapshot(repo, CONFLICT_FILES + ["notes.md"]) == before


def test_a_branch_the_repository_lacks_is_named_with_where_it_came_from(world, admin):
    body = error(admin.post(f"/api/plugins/{short(NOBRANCH)}/eject", timeout=OP_TIMEOUT), 422)
    message = body["error"]
    assert "'1.x'" in message and "acme/ej-nobranch" in message and "plugin registry" in message, message
    assert "ambiguous argument" not in message
    no_failed_leftovers(world, NOBRANCH)


def test_a_plugin_whose_code_is_absent_cannot_be_ejected(world, admin, reader):
    """A catalogue plugin that is neither installed nor bundled here: 409 before anything is cloned."""
    body = error(admin.post("/api/plugins/anthropic/eject", timeout=OP_TIMEOUT), 409)
    assert "install it first" in body["error"], body
    no_failed_leftovers(world, "@elizaos/plugin-anthropic")
    assert ejected_row(reader, "@elizaos/plugin-anthropic") is None


def test_every_ejected_copy_says_its_npm_version(world, reader):
    """Milady's reader refuses an `.upstream.json` whose npmVersion is not a string."""
    for directory in (world.state / "plugins" / "ejected").iterdir():
        upstream = json.loads((directory / ".upstream.json").read_text())
        assert isinstance(upstream["npmVersion"], str) and upstream["npmVersion"], (directory, upstream)


@pytest.mark.parametrize("segment", ["..", "%2e%2e", "%2E%2E", ".", "%00", "ej%00build", "%0a"])
@pytest.mark.parametrize("action", ["eject", "sync", "reinject"])
def test_hostile_ids_are_400(world, admin, segment, action):
    r = admin.raw("POST", f"/api/plugins/{segment}/{action}")
    error(r, 400)


def test_unknown_ids_are_404(world, admin):
    for action in ("eject", "sync", "reinject"):
        body = error(admin.post(f"/api/plugins/no-such-plugin-e2e-4471/{action}", timeout=OP_TIMEOUT), 404)
        assert "no-such-plugin-e2e-4471" in body["error"]


def test_sync_and_reinject_of_a_plugin_that_is_not_ejected_are_404(world, admin):
    for action in ("sync", "reinject"):
        body = error(admin.post(f"/api/plugins/{short(NOREPO)}/{action}", timeout=OP_TIMEOUT), 404)
        assert "not ejected" in body["error"]
    assert not world.ejected(NOREPO).exists()


def test_a_read_token_cannot_eject_sync_or_reinject_but_can_list(world, reader):
    for action in ("eject", "sync", "reinject"):
        error(reader.post(f"/api/plugins/{short(BUILD)}/{action}"), 403)
    names = [row["name"] for row in expect(reader.get("/api/plugins/ejected"), 200)["plugins"]]
    assert BUILD in names


def test_bad_bodies_are_refused_before_anything_runs(world, admin):
    before = snapshot(world.ejected(BUILD), ["src/message.txt", "dist/index.js", ".upstream.json"])
    error(admin.post(f"/api/plugins/{short(BUILD)}/sync", json={"pull": "yes"}), 400)
    error(admin.post(f"/api/plugins/{short(BUILD)}/sync", json={"pull": False, "force": True}), 400)
    error(admin.post(f"/api/plugins/{short(BUILD)}/reinject", json={"force": 1}), 400)
    error(admin.post(f"/api/plugins/{short(BUILD)}/reinject", json=[True]), 400)
    error(admin.post(f"/api/plugins/{short(BUILD)}/sync", data=b"pull=false", headers={"Content-Type": "text/plain"}), 415)
    error(admin.post(f"/api/plugins/{short(BUILD)}/reinject", data=b"force", headers={"Content-Type": "text/plain"}), 415)
    error(admin.post(f"/api/plugins/{short(NOREPO)}/eject", headers={"X-Operation-Id": "not-a-uuid"}), 400)
    assert snapshot(world.ejected(BUILD), ["src/message.txt", "dist/index.js", ".upstream.json"]) == before
