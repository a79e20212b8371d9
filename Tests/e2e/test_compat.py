"""Compatibility and soundness before install, end to end (issue 19, items 1-5).

One stack whose agent runs `@elizaos/core` 1.4.0 (`PLUGIND_AGENT_CORE_VERSION`), pointed at the fake npm
registry (real tarballs, real sha512 integrity) and at a plugin registry document made of the real `next`
snapshot (../shared/data/registry) plus the test packages. The fake also answers npm's bulk security advisories
endpoint with what each test records.

What a user sees: an incompatible version refused before anything is downloaded, naming both versions, and
installed with `force` (recorded in the operation); a range that skips an incompatible newest version and says
so; a dist-tag pointing at an incompatible version refused, never swapped; a range with nothing fitting refused
naming a version that fits; registry entries' `compatible` from the real snapshot's pins; a deprecated dependency
and a low advisory warned; a critical advisory refused; installed rows carrying their advisories.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from conftest import _run_stack
from fake_npm import FakeNpm

SCOPE = "@e2e-compat"
FITS = f"{SCOPE}/plugin-fits"  # 1.0.0 (^1.0.0), 1.1.0 (^1.2.0), 2.0.0 (^2.0.0, latest)
OLD = f"{SCOPE}/plugin-old"  # 1.0.0 needs ^0.1.9
TAGGED = f"{SCOPE}/plugin-tagged"  # latest 1.0.0 fits; next 2.0.0 needs ^2.0.0
DEPRECATING = f"{SCOPE}/plugin-deprecating"  # depends on a deprecated package
VULNERABLE = f"{SCOPE}/plugin-vulnerable"  # depends on a package with a critical advisory
LOWRISK = f"{SCOPE}/plugin-lowrisk"  # has a low advisory itself
DEP_OLD = "e2e-compat-dep-old"
DEP_VULN = "e2e-compat-dep-vuln"
CORE = "@elizaos/core"
REAL_SNAPSHOT = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "registry" / "generated-registry.next.json").resolve()


def publish_all(fake: FakeNpm) -> None:
    for version in ("0.1.9", "1.4.0", "2.0.0"):
        fake.publish(CORE, version, tag="latest" if version == "1.4.0" else None)
    fake.publish(FITS, "1.0.0", extra={"peerDependencies": {CORE: "^1.0.0"}})
    fake.publish(FITS, "1.1.0", extra={"peerDependencies": {CORE: "^1.2.0"}})
    fake.publish(FITS, "2.0.0", dependencies={CORE: "^2.0.0"})
    fake.publish(OLD, "1.0.0", extra={"peerDependencies": {CORE: "^0.1.9"}})
    fake.publish(TAGGED, "1.0.0", extra={"peerDependencies": {CORE: "^1.0.0"}})
    fake.publish(TAGGED, "2.0.0", extra={"peerDependencies": {CORE: "^2.0.0"}}, tag="next")
    fake.publish(DEP_OLD, "1.0.0", deprecated="e2e-compat-dep-old is no longer maintained; use e2e-compat-dep-new")
    fake.publish(DEPRECATING, "1.0.0", dependencies={DEP_OLD: "^1.0.0"})
    fake.publish(DEP_VULN, "1.0.0")
    fake.publish(VULNERABLE, "1.0.0", dependencies={DEP_VULN: "1.0.0"})
    fake.publish(LOWRISK, "1.0.0")
    fake.set_advisory(DEP_VULN, "<1.0.1", "critical", "Remote code execution in e2e-compat-dep-vuln")
    fake.set_advisory(LOWRISK, "<=1.0.0", "low", "Verbose logging of request ids")
    fake.extra_registry = json.loads(REAL_SNAPSHOT.read_text())["registry"]
    fake.list(FITS, "2.0.0", core_range="^2.0.0")
    fake.list(OLD, "1.0.0", core_range="0.1.9")
    fake.list(TAGGED, "1.0.0", core_range="^1.0.0")
    for name in (DEPRECATING, VULNERABLE, LOWRISK):
        fake.list(name, "1.0.0")


@pytest.fixture(scope="module")
def fake() -> FakeNpm:
    with FakeNpm(hang_seconds=30) as registry:
        publish_all(registry)
        yield registry


@pytest.fixture(scope="module")
def stack(fake):
    yield from _run_stack({
        "PLUGIND_NPM_REGISTRY": fake.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake.registry_url, "PLUGIND_RUNTIME_BRIDGE": "none",
        "PLUGIND_AGENT_CORE_VERSION": "1.4.0",
    })


@pytest.fixture
def admin(stack):
    with stack.client(stack.adminToken) as session:
        yield session


def install(session, name, version=None, force=None, op=None):
    body = {"name": name}
    if version is not None:
        body["version"] = version
    if force is not None:
        body["force"] = force
    return session.post("/api/plugins/install", json=body, headers={"X-Operation-Id": op or str(uuid.uuid4())}, timeout=120)


def tarballs_fetched(fake: FakeNpm, name: str, since: float) -> list[str]:
    return [s.path for s in fake.seen(name.split("/")[-1], since=since) if s.path.endswith(".tgz")]


def installed_row(session, name):
    rows = session.get("/api/plugins/installed").json()["plugins"]
    return next((row for row in rows if row["name"] == name), None)


def test_an_incompatible_version_is_refused_naming_both_and_installs_with_force(fake, admin):
    import time
    since = time.monotonic()
    r = install(admin, OLD, "1.0.0")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"].startswith(f"{OLD} 1.0.0 needs {CORE} ^0.1.9; this agent runs 1.4.0"), body
    assert "force" in body["error"]
    assert body["agentCoreVersion"] == "1.4.0" and body["requires"] == "^0.1.9" and body["version"] == "1.0.0"
    assert tarballs_fetched(fake, OLD, since) == [], "refused before anything was downloaded"
    assert installed_row(admin, OLD) is None

    assert install(admin, OLD, "1.0.0", force="yes").status_code == 400, "force must be a boolean"
    op = str(uuid.uuid4())
    r = install(admin, OLD, "1.0.0", force=True, op=op)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["forced"] is True and body["plugin"]["version"] == "1.0.0"
    assert any("needs @elizaos/core ^0.1.9" in w and "force" in w for w in body["warnings"]), body["warnings"]
    operation = admin.get(f"/api/operations/{op}").json()["operation"]
    assert operation["result"]["forced"] is True
    assert any(line.startswith("forced") for line in operation["logTail"]), operation["logTail"]
    assert installed_row(admin, OLD)["version"] == "1.0.0"


def test_a_range_skips_an_incompatible_newest_version_and_says_so(admin):
    r = install(admin, FITS, ">=1.0.0")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["plugin"]["version"] == "1.1.0" and body["forced"] is False
    assert any(w.startswith(f"{FITS} 2.0.0 is newer, but it needs {CORE} ^2.0.0") for w in body["warnings"]), body["warnings"]
    row = installed_row(admin, FITS)
    assert row["version"] == "1.1.0" and row["missing"] is False, "its package.json is on disk"
    # The registry's newest (2.0.0) needs core 2: not an update for this agent.
    assert row["latestVersion"] == "2.0.0" and row["updateAvailable"] is False


def test_no_version_takes_the_newest_that_fits(admin):
    r = install(admin, TAGGED)
    assert r.status_code == 200, r.text
    assert r.json()["plugin"]["version"] == "1.0.0" and r.json()["warnings"] == []


def test_a_dist_tag_on_an_incompatible_version_is_refused_not_substituted(fake, admin):
    r = install(admin, TAGGED, "next")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"].startswith(f"{TAGGED} 2.0.0 needs {CORE} ^2.0.0; this agent runs 1.4.0"), body
    assert body["compatibleVersion"] == "1.0.0" and f"{TAGGED} 1.0.0 fits it" in body["error"]


def test_a_range_with_nothing_that_fits_names_a_version_outside_it(admin):
    r = install(admin, FITS, "^2.0.0")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"].startswith(f"No version of {FITS} in '^2.0.0' works with this agent's {CORE} 1.4.0: 2.0.0 needs ^2.0.0; {FITS} 1.1.0 fits it")
    assert body["compatibleVersion"] == "1.1.0" and f"{FITS} 1.1.0 fits it" in body["error"], body


def test_registry_entries_say_whether_they_fit_from_the_real_pins(admin):
    mongo = admin.get("/api/registry/plugins/@elizaos/adapter-mongodb").json()["plugin"]
    assert mongo["compatible"] is False and mongo["compatibility"] == "needs @elizaos/core 0.1.x"
    assert mongo["coreRanges"] == {"v0": "0.1.9", "v1": None, "v2": None}
    allora = admin.get("/api/registry/plugins/@elizaos/plugin-allora").json()["plugin"]
    assert allora["compatible"] is True and allora["channel"] == "v1" and allora["compatibility"] is None
    anthropic = admin.get("/api/registry/plugins/@elizaos/plugin-anthropic").json()["plugin"]
    assert anthropic["compatible"] is False and anthropic["compatibility"] == "needs @elizaos/core ^1.6.1"
    listing = {p["name"]: p for p in admin.get("/api/registry/plugins").json()["plugins"]}
    assert listing["@elizaos/adapter-mongodb"]["compatible"] is False
    assert listing[OLD]["compatible"] is False and listing[OLD]["compatibility"] == "needs @elizaos/core 0.1.x"
    assert listing["@bealers/plugin-mattermost"]["compatible"] is None, "v0CoreRange latest is unknown"
    results = admin.get("/api/registry/search", params={"q": "allora"}).json()["results"]
    assert results[0]["name"] == "@elizaos/plugin-allora" and results[0]["compatible"] is True


def test_a_deprecated_dependency_is_a_warning(admin):
    r = install(admin, DEPRECATING)
    assert r.status_code == 200, r.text
    assert f"{DEP_OLD}@1.0.0 is deprecated: e2e-compat-dep-old is no longer maintained; use e2e-compat-dep-new" in r.json()["warnings"]


def test_a_critical_advisory_refuses_and_force_installs(fake, admin):
    import time
    since = time.monotonic()
    r = install(admin, VULNERABLE)
    assert r.status_code == 409, r.text
    body = r.json()
    assert f"critical advisory for {DEP_VULN}@1.0.0: Remote code execution" in body["error"] and "force" in body["error"]
    assert body["advisories"][0]["package"] == DEP_VULN and body["advisories"][0]["severity"] == "critical"
    assert tarballs_fetched(fake, VULNERABLE, since) == [] and tarballs_fetched(fake, DEP_VULN, since) == []
    assert {DEP_VULN: ["1.0.0"], VULNERABLE: ["1.0.0"]}.items() <= fake.advisory_requests[-1].items()
    r = install(admin, VULNERABLE, force=True)
    assert r.status_code == 200, r.text
    assert any("Critical advisory" in w and "force" in w for w in r.json()["warnings"])
    row = installed_row(admin, VULNERABLE)
    assert [a["package"] for a in row["advisories"]] == [DEP_VULN]


def test_a_low_advisory_is_a_warning_and_shows_on_the_installed_row(admin):
    r = install(admin, LOWRISK)
    assert r.status_code == 200, r.text
    assert r.json()["warnings"] == [f"Low advisory for {LOWRISK}@1.0.0: Verbose logging of request ids (https://github.com/advisories/GHSA-fake-0)."]
    row = installed_row(admin, LOWRISK)
    assert row["advisories"] == [{"package": LOWRISK, "version": "1.0.0", "severity": "low", "title": "Verbose logging of request ids",
                                  "url": "https://github.com/advisories/GHSA-fake-0"}]


def test_advisories_are_rechecked_on_registry_refresh(fake, admin):
    import time
    assert install(admin, LOWRISK).status_code == 200
    fake.set_advisory(LOWRISK, "<=1.0.0", "moderate", "Second finding")
    assert admin.post("/api/registry/refresh").status_code == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        titles = [a["title"] for a in installed_row(admin, LOWRISK)["advisories"] or []]
        if "Second finding" in titles:
            break
        time.sleep(0.3)
    assert "Second finding" in titles


def test_advisories_that_cannot_be_fetched_are_a_warning(fake, admin):
    fake.set_advisories_behaviour("500")
    try:
        r = install(admin, FITS, "1.0.0")
        assert r.status_code == 200, r.text
        assert any(w.startswith("Security advisories could not be checked") for w in r.json()["warnings"]), r.json()
    finally:
        fake.reset()
