"""A manifest's apply and the runtime's verdict (issue 23, docs/fleet.md): nginx, plugind and the reference agent host
loading what the apply put in place, from the loopback npm registry of `fake_npm.py`.

An apply that upgrades a plugin which loaded before to a version that throws at import is put back as a whole: the
answer is a 422 naming the step (`verifying load`) and the plugin's error, the operation failed, and the agent is
exactly as before — the old tree loads again, the package the apply added is gone, the setting it changed has its
old value, `GET /api/manifest` answers the same bytes as before. A plugin new to the agent that does not load is a
warning only (its secret may simply not be set yet): the apply stays.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import _run_stack
from fake_npm import FakeNpm
from helpers import expect
from test_install import leftovers

GOOD = "@e2e/plugin-mv-good"  # 1.1.0 loads, 1.2.0 throws
FRESH = "@e2e/plugin-mv-fresh"  # loads; new to the agent
FRESH_BAD = "@e2e/plugin-mv-fresh-bad"  # throws; new to the agent
MARKER = "exploded while importing (mv-marker-4410)"
PARAMETERS = {"MV_MODE": {"type": "string", "description": "A plain setting the manifest changes."}}


def throwing(name: str, version: str) -> dict[str, bytes]:
    return {"index.js": f"throw new Error({json.dumps(f'{name} {version} {MARKER}')});\n".encode()}


@pytest.fixture(scope="module")
def fake():
    with FakeNpm() as registry:
        registry.publish(GOOD, "1.1.0", parameters=PARAMETERS)
        registry.publish(GOOD, "1.2.0", parameters=PARAMETERS, files=throwing(GOOD, "1.2.0"))
        registry.publish(FRESH, "1.0.0")
        registry.publish(FRESH_BAD, "1.0.0", files=throwing(FRESH_BAD, "1.0.0"))
        yield registry


@pytest.fixture(scope="module")
def stack(fake):
    env = {"PLUGIND_NPM_REGISTRY": fake.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake.registry_url,
           "PLUGIND_ALLOW_UNLISTED_PACKAGES": "true", "PLUGIND_RESTART_DEBOUNCE_MS": "300", "PLUGIND_VERDICT_TIMEOUT_MS": "30000"}
    yield from _run_stack(env)


@pytest.fixture(scope="module")
def admin(stack):
    with stack.client(stack.adminToken) as session:
        yield session


def pin(fake: FakeNpm, name: str, version: str) -> str:
    return f"{name}@{version}@{fake.get(name, version).integrity}"


def active(session, name: str) -> bool:
    response = session.get(f"/api/plugins/{quote(name, safe='')}")
    return response.status_code == 200 and response.json()["plugin"].get("isActive") is True


def settled(session) -> bool:
    runtime = expect(session.get("/api/runtime"), 200)
    return runtime["state"] == "running" and not runtime["pendingRestart"]


def wait(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def tree_version(state: Path, name: str) -> str | None:
    config = json.loads((state / "milady.json").read_text())
    record = config.get("plugins", {}).get("installs", {}).get(name)
    if record is None:
        return None
    manifest = Path(record["installPath"]) / "node_modules" / name / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


def test_an_apply_that_breaks_a_loaded_plugin_is_put_back_whole(stack, admin, fake):
    body = expect(admin.post("/api/plugins/install", json={"name": GOOD, "version": "1.1.0"}, timeout=180), 200)
    assert body["loaded"] is True, body
    expect(admin.put(f"/api/plugins/{quote(GOOD, safe='')}", json={"config": {"MV_MODE": "old"}}), 200)
    wait(lambda: settled(admin) and active(admin, GOOD), "the agent to load GOOD 1.1.0")
    before = admin.get("/api/manifest").content
    config_before = json.loads((stack.stateDir / "milady.json").read_text())

    manifest = json.loads(before)
    manifest["packages"][GOOD] = {"version": "1.2.0", "tree": [pin(fake, GOOD, "1.2.0")]}
    manifest["packages"][FRESH] = {"version": "1.0.0", "tree": [pin(fake, FRESH, "1.0.0")]}
    manifest["plugins"][FRESH] = {"enabled": True}
    manifest["settings"]["MV_MODE"] = "new"
    op = str(uuid.uuid4())
    r = admin.post("/api/manifest/apply", json=manifest, headers={"X-Operation-Id": op}, timeout=300)
    assert r.status_code == 422, r.text
    answer = r.json()
    assert answer["failedStep"] == "verifying load"
    assert "put back" in answer["error"] and MARKER in answer["error"] and GOOD in answer["error"], answer["error"]
    assert any(v["plugin"] == GOOD and v["loaded"] is False for v in answer["verdicts"]), answer
    record = expect(admin.get(f"/api/operations/{op}"), 200)["operation"]
    assert (record["kind"], record["state"]) == ("manifest-apply", "failed"), record

    wait(lambda: settled(admin) and active(admin, GOOD), "the agent to load GOOD 1.1.0 again")
    assert admin.get("/api/manifest").content == before
    assert tree_version(stack.stateDir, GOOD) == "1.1.0"
    assert not (stack.stateDir / "plugins" / "installed" / "_e2e_plugin-mv-fresh").exists()
    config_after = json.loads((stack.stateDir / "milady.json").read_text())
    assert config_after["env"] == config_before["env"]
    assert config_after["plugins"]["installs"] == config_before["plugins"]["installs"]
    assert leftovers(stack.stateDir) == []


def test_a_new_plugin_that_does_not_load_is_a_warning_and_the_apply_stays(stack, admin, fake):
    wait(lambda: settled(admin), "the agent to settle")
    manifest = json.loads(admin.get("/api/manifest").content)
    manifest["packages"][FRESH_BAD] = {"version": "1.0.0", "tree": [pin(fake, FRESH_BAD, "1.0.0")]}
    manifest["plugins"][FRESH_BAD] = {"enabled": True}
    body = expect(admin.post("/api/manifest/apply", json=manifest, timeout=300), 200)
    assert [v for v in body["verdicts"] if v["plugin"] == FRESH_BAD][0]["loaded"] is False, body
    assert any(FRESH_BAD in w and "did not load" in w for w in body["warnings"]), body["warnings"]
    assert tree_version(stack.stateDir, FRESH_BAD) == "1.0.0"
    assert admin.get("/api/manifest").content == (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
