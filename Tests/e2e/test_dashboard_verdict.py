"""The dashboard shows the runtime's verdict and offers the rollback (issue 19 items 6–8), in headless Chromium
against a stack with the reference agent host: a package upgraded (from the loopback fake npm registry, real
tarballs) to a version that throws at import, kept with `rollbackOnFailure: false`. The plugin's page must say it
did not load and why, and offer "Roll back to 1.1.0"; the rollback runs as an operation whose outcome says the agent
loaded it, and the page then shows the old version loaded. Screenshots: plugin-verdict.png, plugin-rolled-back.png
(in $PLUGIND_DASHBOARD_SCREENSHOTS, as test_dashboard.py)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

import browser
from test_dashboard import PENDING_ROUTES, SHOTS, Page, raw  # the same browser page helpers and screenshot folder
from test_verdict import MARKER, env_for, expect, install, throwing
from conftest import _run_stack
from fake_npm import FakeNpm

PLUGIN = "@e2e/plugin-vd-dash"


@pytest.fixture(scope="module")
def stack():
    with FakeNpm() as fake:
        fake.publish(PLUGIN, "1.1.0")
        fake.publish(PLUGIN, "1.2.0", files=throwing(PLUGIN, "1.2.0"))
        yield from _run_stack(env_for(fake))


@pytest.fixture(scope="module")
def page(stack):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver = browser.start_browser()
    try:
        p = Page(driver, stack)
        for path in PENDING_ROUTES:  # the plugin page asks for its recent changes too
            if raw(stack, "GET", path).status_code == 404:
                p.allow(path, 404)
        driver.get(stack.url + "/")
        p.sign_in(stack.adminToken)
        yield p
    finally:
        driver.quit()


def test_the_plugin_page_shows_the_verdict_and_rolls_back(stack, page):
    with stack.client(stack.adminToken) as admin:
        assert expect(install(admin, PLUGIN, "1.1.0"), 200)["loaded"] is True
        assert expect(install(admin, PLUGIN, "1.2.0", rollbackOnFailure=False), 200)["loaded"] is False
        plugin_id = next(p["id"] for p in expect(admin.get("/api/plugins"), 200)["plugins"] if p.get("npmName") == PLUGIN)
    page.go(f"#/plugins/{plugin_id.replace('/', '%2F')}")
    page.wait(lambda: "did not load" in page.text("#verdict"), "the verdict on the installed version")
    assert "1.2.0" in page.text("#verdict") and MARKER in page.text("#load-error")
    rollback = page.wait_css("#rollback")
    assert rollback.text == "Roll back to 1.1.0"
    page.shot("plugin-verdict")
    page.check_console("the plugin page with a version that did not load")

    page.allow("/api/operations/", 404)  # a poll may come before plugind registered the operation
    rollback.click()
    dialog = page.wait_css("dialog[open]")
    assert "1.1.0" in dialog.text
    dialog.find_element(By.CSS_SELECTOR, "button[data-confirm]").click()
    page.wait(lambda: "loaded" in page.text("#verdict") and "did not load" not in page.text("#verdict") and "1.1.0" in page.text("#verdict"),
              "the page to show 1.1.0 loaded", timeout=120)
    assert page.text("#rollback") == "Roll back to 1.2.0"
    page.shot("plugin-rolled-back")
    page.check_console("the plugin page after the rollback")
    with stack.client(stack.adminToken) as admin:
        row = next(r for r in expect(admin.get("/api/plugins/installed"), 200)["plugins"] if r["name"] == PLUGIN)
        assert row["version"] == "1.1.0" and row["loaded"] is True and row["previousVersion"] == "1.2.0"
