"""The dashboard's Manifest view (docs/fleet.md, docs/dashboard.md) in headless Chromium, against a real stack
(scripts/run: nginx, plugind, the reference agent host) and the loopback npm registry of `fake_npm.py` (real
tarballs, real integrity).

Export downloads exactly the bytes `GET /api/manifest` answers; importing a manifest that differs shows the plan
(the changes, a missing secret) and applying it runs one operation whose result the Plugins view then shows; a
malformed manifest shows the API's 400 sentence and its field; an apply whose download fails names the failed
step; a read token can export but sees no import. The view passes axe-core for both roles. The tests run in file
order on one stack and one browser.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import browser
from conftest import _run_stack
from test_dashboard import SHOTS, Page, assert_accessible

from fake_npm import FakeNpm  # noqa: E402  (after test_dashboard's browser check)
from selenium.webdriver.common.by import By  # noqa: E402

WEATHER = "@e2e-dm/plugin-weather"
FAILING = "@e2e-dm/plugin-failing"
PARAMETERS = {
    "DM_UNITS": {"type": "string", "description": "Units the forecast uses."},
    "DM_API_KEY": {"type": "string", "description": "The weather service's key.", "sensitive": True},
}


@pytest.fixture(scope="module")
def fake():
    with FakeNpm(hang_seconds=30) as registry:
        registry.publish(WEATHER, "1.0.0", parameters=PARAMETERS)
        registry.publish(FAILING, "1.0.0")
        registry.list(WEATHER, "1.0.0")
        registry.list(FAILING, "1.0.0")
        yield registry


@pytest.fixture(scope="module")
def stack(fake):
    env = {"PLUGIND_AUTO_RESTART": "false", "PLUGIND_NPM_REGISTRY": fake.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake.registry_url}
    yield from _run_stack(env)


@pytest.fixture(scope="module")
def admin(stack):
    with stack.client(stack.adminToken) as session:
        yield session


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def page(stack, downloads):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver = browser.start_browser()
    try:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        p = Page(driver, stack)
        p.allow("/api/operations/", 404)  # a poll may come before plugind registered the operation
        driver.get(stack.url + "/")
        p.sign_in(stack.adminToken)
        yield p
    finally:
        driver.quit()


def manifest_for(fake: FakeNpm, name: str) -> dict:
    """A manifest with `name` installed and enabled, a setting, and a secret this agent does not have."""
    return {
        "manifestVersion": 1,
        "packages": {name: {"version": "1.0.0", "tree": [f"{name}@1.0.0@{fake.get(name, '1.0.0').integrity}"]}},
        "plugins": {name: {"enabled": True}},
        "settings": {"DM_UNITS": "metric"} if name == WEATHER else {},
        "secrets": ["DM_API_KEY"] if name == WEATHER else [],
    }


def open_view(page: Page) -> None:
    page.d.execute_script("document.querySelectorAll('.notice-success, .notice-info').forEach(n => n.remove())")
    page.go("#/plugins")
    page.wait_css("#plugins-table tbody tr")
    page.go("#/manifest")
    page.wait_css("#manifest-export h2")


def import_file(page: Page, path: Path) -> None:
    page.css("#manifest-import input[type=file]").send_keys(str(path))


def test_export_downloads_the_exact_bytes_of_the_api(page, admin, downloads):
    open_view(page)
    page.css("#manifest-download").click()

    def downloaded():
        files = [f for f in downloads.iterdir() if f.name == "plugind-manifest.json"]
        return files[0] if files and not any(f.suffix == ".crdownload" for f in downloads.iterdir()) else None

    file = page.wait(downloaded, "the download", timeout=20)
    page.wait_css("#manifest-export-result .message-success")
    assert file.read_bytes() == admin.get("/api/manifest").content
    page.check_console("the manifest export")


def test_a_malformed_manifest_shows_the_apis_sentence(page, admin, fake, tmp_path):
    open_view(page)
    bad = manifest_for(fake, WEATHER)
    bad["packages"][WEATHER]["version"] = "^1.0.0"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    expected = admin.post("/api/manifest/plan", json=bad)
    assert expected.status_code == 400
    page.allow("/api/manifest/plan", 400)
    import_file(page, path)
    box = page.wait_css("#manifest-import-error .message-error")
    assert box.find_element(By.CSS_SELECTOR, ".error-text").text == expected.json()["error"]
    assert page.text("#manifest-error-field") == f"Field: packages.{WEATHER}.version"
    assert "HTTP 400" in box.text
    assert page.css("#manifest-plan-section").get_attribute("hidden") is not None
    # Not JSON at all: said here, before anything is sent.
    text = page.css("#manifest-import textarea")
    text.clear()
    text.send_keys("{not json")
    page.css("#manifest-plan").click()
    page.wait(lambda: "not JSON" in page.text("#manifest-import-error"), "the local refusal")
    page.check_console("a malformed manifest")


def test_import_plan_apply_and_the_plugins_view_reflects_it(page, admin, fake, tmp_path):
    open_view(page)
    path = tmp_path / "weather.json"
    path.write_text(json.dumps(manifest_for(fake, WEATHER), indent=2))
    import_file(page, path)
    page.wait_css("#manifest-plan-table")
    rows = [(tr.get_attribute("data-action"), tr.get_attribute("data-subject")) for tr in page.all("#manifest-plan-table tbody tr")]
    expected = [(c["action"], c["plugin"] or c["key"]) for c in admin.post("/api/manifest/plan", json=manifest_for(fake, WEATHER)).json()["changes"]]
    assert rows == expected and ("install", WEATHER) in rows and ("set", "DM_UNITS") in rows and ("enable", WEATHER) in rows, rows
    assert "DM_API_KEY" in page.text("#manifest-missing-secrets")
    assert_accessible(page, "the manifest view with a plan")
    page.shot("manifest-plan")

    page.css("#manifest-apply").click()
    page.wait_css("dialog [data-confirm]").click()
    page.wait(lambda: page.css("#manifest-operation").get_attribute("data-state") == "succeeded", "the apply", timeout=180)
    page.wait_css("#manifest-apply-result .message-success")
    # The plan is judged again: nothing is left to change.
    page.wait(lambda: "Nothing to change" in page.text("#manifest-plan-section"), "the plan after the apply")
    assert admin.get(f"/api/plugins/{WEATHER.replace('/', '%2F')}").json()["plugin"]["enabled"] is True
    page.shot("manifest-applied")
    page.check_console("the manifest applied")

    page.go("#/plugins")
    tr = page.wait(lambda: next((r for r in page.all("#plugins-table tbody tr") if WEATHER in r.text or r.get_attribute("data-id") == "weather"), None),
                   "the applied plugin in the Plugins view", timeout=30)
    assert tr.find_element(By.CSS_SELECTOR, "input[role=switch]").is_selected()
    page.check_console("the plugins view after the apply")


def test_a_failed_apply_names_its_step_and_changes_nothing(page, admin, fake, tmp_path):
    open_view(page)
    before = admin.get("/api/manifest").content
    wanted = json.loads(before)
    wanted["packages"][FAILING] = manifest_for(fake, FAILING)["packages"][FAILING]
    wanted["plugins"][FAILING] = {"enabled": True}
    path = tmp_path / "failing.json"
    path.write_text(json.dumps(wanted))
    fake.set_tarball(FAILING, "1.0.0", "500")
    page.allow("/api/manifest/apply", 502)
    try:
        import_file(page, path)
        page.wait(lambda: any(tr.get_attribute("data-subject") == FAILING for tr in page.all("#manifest-plan-table tbody tr")), "the plan")
        page.css("#manifest-apply").click()
        page.wait_css("dialog [data-confirm]").click()
        page.wait(lambda: page.css("#manifest-operation").get_attribute("data-state") == "failed", "the apply to fail", timeout=120)
    finally:
        fake.reset()
    assert page.text("#manifest-failed-step") == f"Failed step: install {FAILING}@1.0.0"
    assert "put back" in page.text("#manifest-operation .error-text")
    assert admin.get("/api/manifest").content == before
    page.shot("manifest-failed")
    page.check_console("a failed apply")


def test_a_read_token_exports_but_cannot_import(page, stack, downloads):
    page.sign_out()
    page.sign_in(stack.readToken)
    open_view(page)
    assert page.all("#manifest-read-only") and not page.all("#manifest-import input, #manifest-import textarea")
    for old in downloads.iterdir():
        old.unlink()
    page.css("#manifest-download").click()
    page.wait(lambda: (downloads / "plugind-manifest.json").exists(), "the reader's download", timeout=20)
    assert_accessible(page, "the manifest view as a reader")
    page.check_console("the manifest view as a reader")
    page.sign_out()
    page.sign_in(stack.adminToken)
