"""The manifest of an agent's plugin set, end to end (issue 23, docs/fleet.md).

Two stacks (A and B) share one loopback npm registry (`fake_npm.FakeNpm`, real tarballs with real sha512
integrity). A gets three packages, settings and a secret; its export is applied to an empty B through the
CLI and the API. What "nothing changed" means is `test_install.snapshot()` (the plugins tree, tmp, the agent
config's bytes, the install history).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import jsonschema
import pytest

from fake_npm import FakeNpm
from helpers import REPO, plugind_binary
from test_install import assert_unchanged, run_stack, stack_env
from test_install import snapshot as full_snapshot

SCOPE = "@e2e-mf"
ONE = f"{SCOPE}/plugin-one"
TWO = f"{SCOPE}/plugin-two"  # has a dependency
THREE = f"{SCOPE}/plugin-three"
DEP = "e2e-mf-dep"
SCHEMA = json.loads((REPO / "docs" / "manifest.schema.json").read_text())
CREDENTIALED = "postgres://mfuser:mfpass-9876@db.example/x"
SECRET = "mf-secret-value-abcdef-123456"


@pytest.fixture(scope="module")
def fake():
    with FakeNpm() as registry:
        registry.publish(DEP, "1.0.0")
        registry.publish(ONE, "1.0.0", parameters={
            "MF_ONE_API_KEY": {"type": "string", "description": "A secret.", "sensitive": True},
            "MF_ONE_MODE": {"type": "string", "description": "A plain setting."},
            "MF_ONE_DATABASE": {"type": "string", "description": "A URL that may carry credentials."},
        })
        registry.publish(TWO, "1.0.0", dependencies={DEP: "^1.0.0"})
        registry.publish(THREE, "1.0.0")
        for name in (ONE, TWO, THREE):
            registry.list(name, "1.0.0")
        yield registry


@pytest.fixture(scope="module")
def stacks(fake):
    with run_stack(stack_env(fake)) as a, run_stack(stack_env(fake)) as b:
        yield a, b


def snapshot(state: Path, config: Path) -> dict:
    """test_install's snapshot, without empty directories: the install layout's folders are made on first use."""
    taken = full_snapshot(state, config)
    taken["plugins"] = {k: v for k, v in taken["plugins"].items() if v != "dir"}
    return taken


def config_path(stack) -> Path:
    return stack.stateDir / "milady.json"


def without_secret_values(plugins: list[dict], secrets: list[str]) -> list[dict]:
    """The plugin list with every secret's value (a sensitive key's, a credentialed URL's) taken out."""
    out = []
    for plugin in plugins:
        plugin = dict(plugin)
        plugin["parameters"] = [{**p, "currentValue": None if p["sensitive"] or p["key"] in secrets else p["currentValue"]}
                                for p in plugin["parameters"]]
        plugin.pop("isActive", None)
        out.append(plugin)
    # The list's order follows the install directories' order on disk, which is no part of the plugin set.
    return sorted(out, key=lambda p: p["id"])


def cli(stack, *args: str, stdin: bytes | None = None, token: str | None = None) -> subprocess.CompletedProcess:
    token_file = stack.stateDir.parent / f"token-{uuid.uuid4().hex}"
    token_file.write_text((token or stack.adminToken) + "\n")
    token_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGIND_")}
    env.update({"PLUGIND_URL": stack.url, "PLUGIND_TOKEN_FILE": str(token_file), "PLUGIND_CA_FILE": str(stack.ca)})
    try:
        return subprocess.run([plugind_binary(), "manifest", *args], input=stdin, capture_output=True, env=env, timeout=600)
    finally:
        token_file.unlink()


@pytest.fixture(scope="module")
def exported(stacks):
    """A with three packages, two enabled, a setting, a secret and a credentialed URL; its export."""
    a, _ = stacks
    admin = a.client(a.adminToken)
    for name in (ONE, TWO, THREE):
        r = admin.post("/api/plugins/install", json={"name": name, "enable": name != THREE}, timeout=300)
        assert r.status_code == 200, r.text
    r = admin.put(f"/api/plugins/{quote(ONE, safe='')}", json={"config": {"MF_ONE_API_KEY": SECRET, "MF_ONE_MODE": "fast", "MF_ONE_DATABASE": CREDENTIALED}})
    assert r.status_code == 200, r.text
    r = admin.get("/api/manifest")
    assert r.status_code == 200
    return r.content


def test_the_export_is_schema_valid_byte_stable_and_secret_free(stacks, exported):
    a, _ = stacks
    manifest = json.loads(exported)
    jsonschema.validate(manifest, SCHEMA)
    assert exported.endswith(b"}\n")
    assert exported == (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    assert a.client(a.readToken).get("/api/manifest").content == exported
    assert SECRET.encode() not in exported and b"mfpass" not in exported and b"mfuser" not in exported
    assert manifest["secrets"] == ["MF_ONE_API_KEY", "MF_ONE_DATABASE"]
    assert manifest["settings"]["MF_ONE_MODE"] == "fast"
    assert manifest["plugins"][ONE] == {"enabled": True} and manifest["plugins"][THREE] == {"enabled": False}
    assert sorted(manifest["packages"]) == [ONE, THREE, TWO]
    tree = manifest["packages"][TWO]["tree"]
    assert any(item.startswith(f"{DEP}@1.0.0@sha512-") for item in tree) and any(item.startswith(f"{TWO}@1.0.0@sha512-") for item in tree)


def test_a_malformed_manifest_is_a_400_naming_the_field_and_a_secret_value_a_422(stacks, exported):
    _, b = stacks
    admin = b.client(b.adminToken)
    before = snapshot(b.stateDir, config_path(b))
    manifest = json.loads(exported)
    manifest["packages"][ONE]["version"] = "^1.0.0"
    r = admin.post("/api/manifest/plan", json=manifest)
    assert r.status_code == 400 and r.json()["field"] == f"packages.{ONE}.version"
    manifest = json.loads(exported)
    manifest["settings"]["MF_ONE_DATABASE"] = CREDENTIALED
    manifest["secrets"].remove("MF_ONE_DATABASE")
    r = admin.post("/api/manifest/apply", json=manifest)
    assert r.status_code == 422 and [e["field"] for e in r.json()["validationErrors"]] == ["settings.MF_ONE_DATABASE"]
    assert "mfpass" not in r.text
    assert_unchanged(before, snapshot(b.stateDir, config_path(b)), "refused manifests")


def test_a_tree_the_registry_does_not_serve_is_refused_with_nothing_changed(stacks, exported):
    _, b = stacks
    before = snapshot(b.stateDir, config_path(b))
    manifest = json.loads(exported)
    manifest["packages"][TWO]["tree"] = [t if not t.startswith(DEP) else f"{DEP}@1.0.0@sha512-AAAA" for t in manifest["packages"][TWO]["tree"]]
    r = b.client(b.adminToken).post("/api/manifest/apply", json=manifest, timeout=300)
    assert r.status_code == 409, r.text
    assert r.json()["failedStep"] == f"install {TWO}@1.0.0"
    assert_unchanged(before, snapshot(b.stateDir, config_path(b)), "a tree the registry does not serve")


def test_an_apply_whose_third_install_fails_leaves_b_as_before(stacks, exported, fake):
    _, b = stacks
    before = snapshot(b.stateDir, config_path(b))
    fake.set_tarball(TWO, "1.0.0", "500")  # installs run by name: one, three, two
    try:
        r = b.client(b.adminToken).post("/api/manifest/apply", json=json.loads(exported), timeout=300)
    finally:
        fake.reset()
    assert r.status_code == 502, r.text
    assert r.json()["failedStep"] == f"install {TWO}@1.0.0"
    assert_unchanged(before, snapshot(b.stateDir, config_path(b)), "a failed third install")


def test_the_plan_warns_about_missing_secrets(stacks, exported):
    _, b = stacks
    r = b.client(b.adminToken).post("/api/manifest/plan", json=json.loads(exported))
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["missingSecrets"] == ["MF_ONE_API_KEY", "MF_ONE_DATABASE"]
    assert any("MF_ONE_API_KEY" in w for w in plan["warnings"])
    actions = [(c["action"], c["plugin"] or c["key"]) for c in plan["changes"]]
    assert actions == [("install", ONE), ("install", THREE), ("install", TWO), ("set", "MF_ONE_MODE"), ("enable", ONE), ("enable", TWO)]


def test_the_cli_applies_a_to_b_and_b_exports_the_same_bytes(stacks, exported, tmp_path):
    a, b = stacks
    file = tmp_path / "manifest.json"
    done = cli(a, "export", str(file), token=a.readToken)
    assert done.returncode == 0, done.stderr.decode()
    assert file.read_bytes() == exported
    plan = cli(b, "plan", str(file), "--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr.decode()
    assert b"install" in plan.stdout and b"missing secret: MF_ONE_API_KEY" in plan.stdout
    applied = cli(b, "apply", str(file))
    assert applied.returncode == 0, applied.stderr.decode() + applied.stdout.decode()
    # B now holds the secrets by hand, as the warnings asked.
    admin = b.client(b.adminToken)
    r = admin.put(f"/api/plugins/{quote(ONE, safe='')}", json={"config": {"MF_ONE_API_KEY": "another-secret-987654321", "MF_ONE_DATABASE": "postgres://u2:p2@h/y"}})
    assert r.status_code == 200, r.text
    assert admin.get("/api/manifest").content == exported
    secrets = json.loads(exported)["secrets"]
    plugins_a = without_secret_values(a.client(a.adminToken).get("/api/plugins").json()["plugins"], secrets)
    plugins_b = without_secret_values(admin.get("/api/plugins").json()["plugins"], secrets)
    assert plugins_a == plugins_b


def test_a_second_apply_changes_nothing_and_schedules_no_restart(stacks, exported):
    _, b = stacks
    admin = b.client(b.adminToken)
    reasons_before = admin.get("/api/runtime").json()["pendingRestartReasons"]
    before = snapshot(b.stateDir, config_path(b))
    operation = str(uuid.uuid4())
    r = admin.post("/api/manifest/apply", json=json.loads(exported), headers={"X-Operation-Id": operation}, timeout=300)
    assert r.status_code == 200, r.text
    assert r.json()["changes"] == [] and r.json()["requiresRestart"] is False
    assert admin.get("/api/runtime").json()["pendingRestartReasons"] == reasons_before
    assert_unchanged(before, snapshot(b.stateDir, config_path(b)), "a second apply")
    record = admin.get(f"/api/operations/{operation}").json()["operation"]
    assert record["kind"] == "manifest-apply" and record["state"] == "succeeded"


def test_the_cli_fails_with_a_nonzero_exit_and_one_line(stacks, tmp_path):
    _, b = stacks
    file = tmp_path / "bad.json"
    file.write_text('{"manifestVersion": 2}')
    done = cli(b, "apply", str(file))
    assert done.returncode != 0
    assert b"manifestVersion" in done.stderr
    no_token = subprocess.run([plugind_binary(), "manifest", "export"], capture_output=True,
                              env={"PATH": os.environ["PATH"], "PLUGIND_URL": b.url}, timeout=60)
    assert no_token.returncode != 0 and b"token" in no_token.stderr
