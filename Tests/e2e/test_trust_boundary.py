"""The trust boundary of installs (issue 16): nothing a package brings runs with plugind's rights, and nothing
enters the tree that did not come from the configured registry, verified by plugind itself.

Every package here is listed in the plugin registry and correctly signed (the stack runs with
`requireSignatures`), with valid integrity and a clean tarball: only what it *depends on* is hostile. The
attacks are real: a real git repository whose `prepare` script writes a marker file (npm 10 runs a git
dependency's `prepare` even with `--ignore-scripts`; `test_the_git_attack_is_real` shows it against the same
fake registry), URL, `file:`, hosted-git and alias specs, a version that ships a shrinkwrap, one that bundles
its dependencies, a transitive tarball that does not match its integrity, an unsigned transitive package,
and a tarball that smuggles a package inside its own `node_modules/`.

Each refusal is checked for: the status, `dependencyPath` and `spec`; no npm step in the operation's log
(npm never started); no marker; the plugins tree, the agent config and the install history unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from conftest import _run_stack
from fake_npm import FakeNpm, gzip_bytes, manifest, tar_bytes, _info
from helpers import caught_up_log
from test_install import install, leftovers, node_load, operation, package_dir, snapshot, uninstall

SCOPE = "@e2e-trust"
GIT_DEP = f"{SCOPE}/plugin-gitdep"
GOOD_TREE = f"{SCOPE}/plugin-good-tree"
SMUGGLER = f"{SCOPE}/plugin-smuggler"
TAMPERED_DEP = f"{SCOPE}/plugin-tampered-dep"
UNSIGNED_DEP = f"{SCOPE}/plugin-unsigned-dep"
SHRINKWRAPPED = f"{SCOPE}/plugin-shrinkwrapped"
BUNDLING = f"{SCOPE}/plugin-bundling"
DEEP = f"{SCOPE}/plugin-deep"

# (plugin, dependency name, spec, the words the spec field must carry): specs npm-package-arg does not read as
# a registry version, range or tag.
FOREIGN_SPECS = {
    "https-tarball": (f"{SCOPE}/plugin-https-dep", "evil-https", "https://other-host.invalid/evil-1.0.0.tgz"),
    "file": (f"{SCOPE}/plugin-file-dep", "evil-file", "file:../../evil"),
    "github-commit": (f"{SCOPE}/plugin-github-dep", "evil-github", "github:o/r#" + "a" * 40),
    "npm-alias": (f"{SCOPE}/plugin-alias-dep", "@elizaos/core", "npm:evil-core@1.0.0"),
    "owner-repo": (f"{SCOPE}/plugin-shorthand-dep", "evil-shorthand", "o/r"),
    "link": (f"{SCOPE}/plugin-link-dep", "evil-link", "link:../evil"),
    "workspace": (f"{SCOPE}/plugin-workspace-dep", "evil-workspace", "workspace:*"),
    "git-credentials": (f"{SCOPE}/plugin-gitcred-dep", "evil-gitcred", "git+https://user:hunter2secret@git.invalid/r.git"),
}


@pytest.fixture(scope="module")
def workdir():
    base = Path(tempfile.mkdtemp(prefix="plugind-e2e-trust-"))
    yield base
    if not os.environ.get("PLUGIND_E2E_KEEP"):
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def git_attack(workdir) -> tuple[str, Path]:
    """A real git repository whose `prepare` writes a marker: the spec that points at it, and the marker."""
    repo = workdir / "evil-git-dep"
    marker = workdir / "PREPARE-RAN"
    repo.mkdir()
    (repo / "prepare.js").write_text(f"require('fs').writeFileSync({json.dumps(str(marker))}, String(process.getuid()));\n")
    (repo / "package.json").write_text(json.dumps({"name": "evil-git-dep", "version": "1.0.0", "scripts": {"prepare": "node prepare.js"}}))
    (repo / "index.js").write_text("module.exports = 'evil';\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "."], ["git", "commit", "-q", "-m", "evil"]):
        subprocess.run(argv, cwd=repo, check=True, env=env, capture_output=True)
    return f"git+file://{repo}", marker


@pytest.fixture(scope="module")
def fake(git_attack) -> FakeNpm:
    git_spec, _ = git_attack
    with FakeNpm(hang_seconds=30) as registry:
        listed = []

        def plugin(name, **kwargs):
            registry.publish(name, "1.0.0", sign="good", **kwargs)
            registry.list(name, "1.0.0")
            listed.append(name)

        plugin(GIT_DEP, dependencies={"evil-git-dep": git_spec})
        for _case, (name, dependency, spec) in FOREIGN_SPECS.items():
            plugin(name, dependencies={dependency: spec})
        # A transitive offender, two levels down, so the path has three names.
        registry.publish("trust-middle", "1.0.0", sign="good", dependencies={"evil-deep": "git+file:///nonexistent/deep.git"})
        plugin(DEEP, dependencies={"trust-middle": "^1.0.0"})
        # A good tree: one version hoisted, a conflicting one nested, a peer, an optional dependency the
        # registry does not have (skipped, as npm skips it), and a dependency shared by two dependents.
        registry.publish("trust-shared", "1.0.0", sign="good")
        registry.publish("trust-shared", "2.0.0", sign="good")
        registry.publish("trust-needs-old", "1.0.0", sign="good", dependencies={"trust-shared": "^1.0.0"})
        registry.publish("trust-peer", "1.0.0", sign="good")
        registry.publish("trust-with-peer", "1.0.0", sign="good", extra={"peerDependencies": {"trust-peer": "^1.0.0"}})
        plugin(GOOD_TREE, dependencies={"trust-shared": "^2.0.0", "trust-needs-old": "1.0.0", "trust-with-peer": "~1.0.0"},
               extra={"optionalDependencies": {"trust-not-published": "^1.0.0"}})
        # What npm would take from inside a tarball.
        registry.publish("trust-shrinkwrapped", "1.0.0", sign="good", packument_extra={"_hasShrinkwrap": True})
        plugin(SHRINKWRAPPED, dependencies={"trust-shrinkwrapped": "1.0.0"})
        registry.publish("trust-bundling", "1.0.0", sign="good", dependencies={"trust-shared": "1.0.0"},
                         extra={"bundleDependencies": ["trust-shared"]})
        plugin(BUNDLING, dependencies={"trust-bundling": "1.0.0"})
        # Verification failures below the top.
        registry.publish("trust-tampered", "1.0.0", sign="good")
        plugin(TAMPERED_DEP, dependencies={"trust-tampered": "1.0.0"})
        registry.publish("trust-unsigned", "1.0.0")
        plugin(UNSIGNED_DEP, dependencies={"trust-unsigned": "1.0.0"})
        # A package whose own tarball carries another package in node_modules/ (npm unpacks it as it is).
        document = manifest(SMUGGLER, "1.0.0")
        sneaky = json.dumps({"name": "sneaky", "version": "6.6.6"}).encode()
        tarball = gzip_bytes(tar_bytes([
            (_info("package/package.json"), (json.dumps(document, indent=2) + "\n").encode()),
            (_info("package/index.js"), b"module.exports = require('sneaky');\n"),
            (_info("package/node_modules/sneaky/package.json"), sneaky),
            (_info("package/node_modules/sneaky/index.js"), b"module.exports = 'smuggled';\n"),
        ]))
        registry.publish(SMUGGLER, "1.0.0", tarball, sign="good")
        registry.list(SMUGGLER, "1.0.0")
        yield registry


@pytest.fixture(scope="module")
def stack(fake):
    yield from _run_stack({
        "PLUGIND_NPM_REGISTRY": fake.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake.registry_url, "PLUGIND_RUNTIME_BRIDGE": "none",
        "PLUGIND_REQUIRE_SIGNATURES": "true", "PLUGIND_TIMEOUT_FETCH_MS": "3000", "PLUGIND_TIMEOUT_NPM_MS": "60000",
    })


@pytest.fixture
def admin(stack):
    with stack.client(stack.adminToken) as session:
        yield session


@pytest.fixture(autouse=True)
def fresh_fake(fake):
    fake.reset()
    yield
    fake.reset()


def refused(stack, admin, name: str, status: int = 422) -> tuple[dict, list[str]]:
    """Installs `name`, expects a refusal that changed nothing and never started npm; the body and the log."""
    state = stack.stateDir
    config = state / "milady.json"
    before = snapshot(state, config)
    op = str(uuid.uuid4())
    response = install(admin, name, op=op)
    assert response.status_code == status, response.text
    body = response.json()
    log = operation(admin, op)["logTail"]
    assert not any(line.startswith("npm") for line in log), f"npm ran: {log}"
    after = snapshot(state, config)
    assert after["config"] == before["config"] and after["installHistory"] == before["installHistory"]
    def installed(tree: dict) -> dict:
        return {k: v for k, v in tree.items() if k.startswith("installed/") and k != "installed/"}

    assert installed(after["plugins"]) == installed(before["plugins"])
    assert leftovers(state) == []
    return body, log


def test_the_git_attack_is_real(fake, git_attack, workdir):
    """The control: npm 10 itself, told to ignore scripts, still runs the git dependency's prepare."""
    _, marker = git_attack
    home = workdir / "npm-control"
    home.mkdir()
    (home / "npmrc").write_text("")
    tarball = home / "plugin.tgz"
    tarball.write_bytes(fake.get(GIT_DEP, "1.0.0").tarball)
    result = subprocess.run(
        ["npm", "install", str(tarball), "--ignore-scripts", "--no-audit", "--no-fund", "--registry", fake.base,
         "--cache", str(home / "cache"), "--userconfig", str(home / "npmrc"), "--prefix", str(home / "prefix")],
        capture_output=True, text=True, timeout=180, cwd=home, env={**os.environ, "HOME": str(home)})
    assert marker.exists(), f"npm did not run the git dependency's prepare (exit {result.returncode}): {result.stderr[-600:]}"
    marker.unlink()


def test_a_git_dependency_is_refused_before_npm_runs(stack, admin, git_attack):
    git_spec, marker = git_attack
    body, _ = refused(stack, admin, GIT_DEP)
    assert body["dependencyPath"] == f"{GIT_DEP} → evil-git-dep", body
    assert body["spec"] == git_spec, body
    assert "evil-git-dep" in body["error"] and "registry" in body["error"], body
    assert not marker.exists(), "the git dependency's prepare script ran"


@pytest.mark.parametrize("case", sorted(FOREIGN_SPECS))
def test_a_dependency_that_is_not_a_registry_version_is_refused(case, stack, admin):
    name, dependency, spec = FOREIGN_SPECS[case]
    body, _ = refused(stack, admin, name)
    assert body["dependencyPath"] == f"{name} → {dependency}", body
    if case == "git-credentials":
        assert "hunter2secret" not in json.dumps(body), body
        assert "git.invalid" in body["spec"], body
    else:
        assert body["spec"] == spec, body


def test_the_path_names_every_package_on_the_way(stack, admin):
    body, _ = refused(stack, admin, DEEP)
    assert body["dependencyPath"] == f"{DEEP} → trust-middle → evil-deep", body
    assert body["spec"] == "git+file:///nonexistent/deep.git"


def test_a_shrinkwrapped_or_bundling_dependency_is_refused(stack, admin):
    body, _ = refused(stack, admin, SHRINKWRAPPED)
    assert body["dependencyPath"] == f"{SHRINKWRAPPED} → trust-shrinkwrapped" and "shrinkwrap" in body["error"], body
    body, _ = refused(stack, admin, BUNDLING)
    assert body["dependencyPath"] == f"{BUNDLING} → trust-bundling" and "bundles" in body["error"], body


def test_a_transitive_tarball_that_does_not_match_its_integrity_is_refused(stack, admin, fake):
    fake.set_tarball("trust-tampered", "1.0.0", "tamper")
    body, _ = refused(stack, admin, TAMPERED_DEP)
    assert "trust-tampered@1.0.0" in body["error"] and "integrity" in body["error"], body
    assert body["dependencyPath"] == f"{TAMPERED_DEP} → trust-tampered", body


def test_an_unsigned_transitive_package_is_refused_when_signatures_are_required(stack, admin):
    body, _ = refused(stack, admin, UNSIGNED_DEP)
    assert "trust-unsigned@1.0.0" in body["error"] and "requireSignatures" in body["error"], body
    assert body["dependencyPath"] == f"{UNSIGNED_DEP} → trust-unsigned", body


def test_a_package_smuggled_inside_a_tarball_is_refused_after_npm(stack, admin):
    """npm unpacks a tarball's own node_modules/; the installed tree is compared with the verified one."""
    state = stack.stateDir
    before = snapshot(state, state / "milady.json")
    response = install(admin, SMUGGLER)
    assert response.status_code == 422, response.text
    assert "sneaky@6.6.6" in response.json()["error"], response.text
    after = snapshot(state, state / "milady.json")
    assert after["config"] == before["config"]
    assert not (package_dir(state, SMUGGLER)).exists()
    assert leftovers(state) == []


def test_a_good_tree_installs_as_npm_lays_it_out(stack, admin, fake):
    state = stack.stateDir
    response = install(admin, GOOD_TREE)
    assert response.status_code == 200, response.text
    root = state / "plugins" / "installed" / "_e2e-trust_plugin-good-tree" / "node_modules"

    def version(path: Path) -> str:
        return json.loads((path / "package.json").read_text())["version"]

    assert version(root / "trust-shared") == "2.0.0"
    assert version(root / "trust-needs-old" / "node_modules" / "trust-shared") == "1.0.0"
    assert version(root / "trust-peer") == "1.0.0"
    assert not (root / "trust-not-published").exists()
    # Exactly the verified packages, nothing else.
    found = sorted(str(p.parent.relative_to(root)) for p in root.rglob("package.json"))
    assert found == sorted(["@e2e-trust/plugin-good-tree", "trust-needs-old", "trust-needs-old/node_modules/trust-shared",
                            "trust-peer", "trust-shared", "trust-with-peer"]), found
    # Node resolves each dependency to the version its dependent asked for.
    assert node_load(root / "trust-needs-old" / "node_modules" / "trust-shared")["version"] == "1.0.0"
    # npm ran as the installer user (plugind runner): the tree and npm's own logs are its, never plugind's or root's.
    import pwd
    installer = pwd.getpwnam("plugind-install").pw_uid
    written = list(root.parent.rglob("*")) + list((state / "plugins" / ".npm").rglob("*"))
    assert {path.lstat().st_uid for path in written} == {installer}
    assert list((state / "plugins" / ".npm").rglob("_logs/*.log")), "npm's own log is there, and the installer's"
    assert uninstall(admin, GOOD_TREE).status_code == 200


# --- private scopes --------------------------------------------------------------------------------

PRIVATE = "@acme-private/plugin-secret"
PRIVATE_LIB = "@acme-private/lib"
SCOPE_TOKEN = "private-scope-token-5531"


def test_a_private_scope_comes_from_its_own_registry_only(fake):
    """`npmScopes`: a company's scope is fetched from its own registry, with its own token, and never from the
    public one, where a look-alike of the same name waits (dependency confusion)."""
    with FakeNpm() as private:
        private.publish(PRIVATE, "1.0.0", dependencies={PRIVATE_LIB: "^1.0.0", "trust-shared": "2.0.0"})
        private.publish(PRIVATE_LIB, "1.0.0")
        fake.publish(PRIVATE_LIB, "1.9.9")  # the look-alike on the public registry
        fake.list(PRIVATE, "1.0.0")
        scopes = json.dumps({"@acme-private": {"registry": private.base, "token": SCOPE_TOKEN}})
        with contextlib.contextmanager(_run_stack)({
            "PLUGIND_NPM_REGISTRY": fake.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake.registry_url, "PLUGIND_RUNTIME_BRIDGE": "none",
            "PLUGIND_NPM_SCOPES": scopes,
        }) as stack, stack.client(stack.adminToken) as admin:
            response = install(admin, PRIVATE)
            assert response.status_code == 200, response.text
            root = stack.stateDir / "plugins" / "installed" / "_acme-private_plugin-secret" / "node_modules"
            assert json.loads((root / PRIVATE_LIB / "package.json").read_text())["version"] == "1.0.0"
            # Everything of the scope came from its registry, with its token; nothing of it was asked of the public one.
            private_requests = private.seen("/npm/")
            assert private_requests and all(r.authorization == f"Bearer {SCOPE_TOKEN}" for r in private_requests), private_requests
            assert not [r for r in fake.seen("acme-private") if "registry" not in r.path], fake.seen("acme-private")
            assert all(SCOPE_TOKEN not in (r.authorization or "") for r in fake.seen("/npm/"))
            # The settings show the scope's registry, never its token.
            shown = admin.get("/api/settings").json()["settings"]["npmScopes"]
            assert shown == {"@acme-private": {"registry": private.base, "token": "****"}}, shown
            assert SCOPE_TOKEN not in caught_up_log(stack)


# --- the runner's own gate -------------------------------------------------------------------------


def runner_job(stack, job: dict) -> dict:
    """One job on plugind runner's socket, as plugind sends it; the runner's last reply line."""
    import socket as sockets
    with sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM) as connection:
        connection.settimeout(60)
        connection.connect(str(stack.stateDir / "runner.sock"))
        connection.sendall((json.dumps(job) + "\n").encode())
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    return json.loads(data.strip().split(b"\n")[-1])


def test_the_runner_refuses_jobs_outside_the_plugin_root_and_changes_nothing(stack, tmp_path):
    """plugind runner takes only the jobs plugind needs, under plugins/ only: anything else is refused and touches
    nothing, whoever connects."""
    canary = tmp_path / "canary.txt"
    canary.write_text("still here")
    plugins = stack.stateDir / "plugins"
    before = snapshot(stack.stateDir, stack.stateDir / "milady.json")
    refusals = [
        {"job": "remove", "path": str(canary)},
        {"job": "remove", "path": str(plugins)},
        {"job": "remove", "path": str(plugins / ".." / "tokens.json")},
        {"job": "write", "path": str(stack.stateDir / "tokens.json"), "data": "e30="},
        {"job": "move", "path": str(plugins / "installed"), "to": str(tmp_path / "stolen")},
        {"job": "read", "path": str(stack.stateDir / "tokens.json")},
        {"job": "run", "tool": "npm", "arguments": ["install", "evil"], "directory": str(plugins), "timeoutMs": 5000},
        {"job": "run", "tool": "git", "arguments": ["config", "core.hooksPath", "/tmp"], "directory": str(plugins), "timeoutMs": 5000},
        {"job": "run", "tool": "git", "arguments": ["clone", "file:///etc", str(tmp_path / "x")], "timeoutMs": 5000},
        {"job": "installTree"},
    ]
    for job in refusals:
        reply = runner_job(stack, job)
        assert reply.get("error", {}).get("kind") == "badRequest", (job, reply)
    assert canary.read_text() == "still here"
    assert not (tmp_path / "stolen").exists() and not (tmp_path / "x").exists()
    after = snapshot(stack.stateDir, stack.stateDir / "milady.json")
    assert after["config"] == before["config"] and after["plugins"] == before["plugins"]
    # A symbolic link inside the root leads nowhere outside it.
    link = plugins / "out"
    subprocess.run(["ln", "-s", str(tmp_path), str(link)], check=True)
    try:
        reply = runner_job(stack, {"job": "write", "path": str(link / "planted.txt"), "data": "e30="})
        assert reply.get("error", {}).get("kind") == "badRequest", reply
        assert not (tmp_path / "planted.txt").exists()
    finally:
        link.unlink()


def test_a_tree_over_its_limits_is_422_naming_the_setting_and_changes_nothing(fake):
    """`maxTreePackages` and `maxTreeUnpackedMiB`: a tree past either is refused before npm runs, naming the setting."""
    many = f"{SCOPE}/plugin-many-deps"
    big = f"{SCOPE}/plugin-big"
    for i in range(3):
        fake.publish(f"trust-leaf-{i}", "1.0.0")
    fake.publish(many, "1.0.0", dependencies={f"trust-leaf-{i}": "1.0.0" for i in range(3)})
    fake.publish(big, "1.0.0", files={"blob.bin": os.urandom(2 << 20)})
    fake.list(many, "1.0.0")
    fake.list(big, "1.0.0")
    with contextlib.contextmanager(_run_stack)({
        "PLUGIND_NPM_REGISTRY": fake.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake.registry_url, "PLUGIND_RUNTIME_BRIDGE": "none",
        "PLUGIND_MAX_TREE_PACKAGES": "3", "PLUGIND_MAX_TREE_UNPACKED_MIB": "1",
    }) as small, small.client(small.adminToken) as admin:
        for name, setting in ((many, "maxTreePackages"), (big, "maxTreeUnpackedMiB")):
            body, _ = refused(small, admin, name)
            assert setting in body["error"], body
