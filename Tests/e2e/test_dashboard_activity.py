"""The dashboard's Activity view and a plugin's "Recent changes" (the audit log, GET /api/audit), in headless
Chromium against a real stack: nginx, plugind and the reference agent host, installing from the loopback fake npm
registry (`fake_npm.FakeNpm`, real tarballs).

Changes are made through the API the way a script would (installs, an upgrade, a secret set and changed, the
enabled switch, many settings), then the page must list them newest first in words ("installed 1.0.0",
"1.0.0 → 1.1.0", "set ACT_API_KEY", "disabled") and never show the secret; the plugin filter narrows the list
through the URL; "Load more" follows the cursor; the plugin's page shows its last five changes and links to the
filtered view; a token label with markup in it stays text; a read token gets one sentence instead of a table.
Every view is checked by axe-core and for console errors, CSP violations and `null`/`undefined` on the page.
Screenshots: activity.png, activity-filtered.png, activity-narrow.png, plugin-recent-changes.png (in
$PLUGIND_DASHBOARD_SCREENSHOTS, as test_dashboard.py)."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

import browser
from conftest import _run_stack
from fake_npm import FakeNpm
from helpers import expect
from test_dashboard import SHOTS, Page  # the same page helpers and screenshot folder
from test_verdict import env_for, install

PLUGIN = "@e2e/plugin-act-demo"  # installed, upgraded, configured through the API and the form, switched off and on
OTHER = "@e2e/plugin-act-other"  # installed (disabled); its many settings fill the pages "Load more" walks
PLUGIN_ID, OTHER_ID = "act-demo", "act-other"
SECRET = "act-secret-value-0f1e2d3c4b5a"  # set, then changed: never on the page
SECRET_2 = "act-secret-value-second-99887766"
LABEL = '<img src=x id=label-injected>ops & "ci"'  # a token label as a user may write it: shown as text
BULK = 55  # settings on OTHER: more than one page of 50

PARAMETERS = {
    "ACT_API_KEY": {"type": "string", "description": "The service's key.", "sensitive": True},
    "ACT_MODE": {"type": "string", "description": "How it works.", "options": ["fast", "safe"], "default": "safe"},
}
OTHER_PARAMETERS = {"ACT_OTHER_LEVEL": {"type": "string", "description": "A level."}}

ADMIN_ONLY = "The activity log is only shown to admins: sign in with an admin token to see who changed what."
PANEL_ADMIN_ONLY = "Who changed this plugin, and when, is only shown to admins: sign in with an admin token to see it."


@pytest.fixture(scope="module")
def fake():
    with FakeNpm() as registry:
        registry.publish(PLUGIN, "1.0.0", parameters=PARAMETERS)
        registry.publish(PLUGIN, "1.1.0", parameters=PARAMETERS)
        registry.publish(OTHER, "1.0.0", parameters=OTHER_PARAMETERS)
        yield registry


@pytest.fixture(scope="module")
def stack(fake):
    yield from _run_stack(env_for(fake))


@pytest.fixture(scope="module")
def admin_api(stack):
    with stack.client(stack.adminToken) as session:
        yield session


@pytest.fixture(scope="module")
def page(stack):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver = browser.start_browser()
    try:
        p = Page(driver, stack)
        driver.get(stack.url + "/")
        p.sign_in(stack.adminToken)
        yield p
    finally:
        driver.quit()


# --- helpers ------------------------------------------------------------------------------------------------


def audit(api, **params) -> dict:
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
    return expect(api.get("/api/audit" + (f"?{query}" if query else "")), 200)


def all_entries(api, **params) -> list[dict]:
    entries, cursor = [], None
    while True:
        body = audit(api, limit=500, **params, **({"cursor": cursor} if cursor else {}))
        entries += body["entries"]
        cursor = body["nextCursor"]
        if not cursor:
            return entries


def put(api, plugin_id: str, body: dict) -> dict:
    return expect(api.put(f"/api/plugins/{quote(plugin_id, safe='')}", json=body), 200)


def rows(page: Page) -> list:
    return page.all("#activity-table tbody tr")


def row_ids(page: Page) -> list[str]:
    return page.d.execute_script("return [...document.querySelectorAll('#activity-table tbody tr')].map(r => r.dataset.id)")


def cell(row, label: str) -> str:
    return row.find_element(By.CSS_SELECTOR, f'td[data-label="{label}"]').text


def open_activity(page: Page, hash_: str = "#/activity") -> None:
    page.go(hash_)
    page.wait(lambda: page.all("#activity-table tbody tr, #activity-empty:not([hidden]), #activity-error .message, #activity-admin-only")
              and not page.all("main .loading"), f"{hash_} loaded")


def assert_accessible(page: Page, where: str) -> None:
    violations = browser.axe_violations(page.d)
    assert violations == [], f"axe-core finds accessibility violations on {where}:\n{browser.describe(violations)}"


def assert_no_secret(page: Page, where: str) -> None:
    source = page.d.page_source
    for secret in (SECRET, SECRET_2):
        assert secret not in source, f"the secret is in the page on {where}"


# --- the tests, in order ------------------------------------------------------------------------------------


def test_activity_lists_the_changes_newest_first_in_words_and_never_a_value(page, stack, admin_api):
    assert expect(install(admin_api, PLUGIN, "1.0.0", enable=True), 200)["loaded"] is True
    assert expect(install(admin_api, PLUGIN, "1.1.0"), 200)["loaded"] is True
    put(admin_api, PLUGIN_ID, {"config": {"ACT_API_KEY": SECRET}})
    put(admin_api, PLUGIN_ID, {"config": {"ACT_API_KEY": SECRET_2}})
    put(admin_api, PLUGIN_ID, {"enabled": False})
    put(admin_api, PLUGIN_ID, {"enabled": True})
    expect(install(admin_api, OTHER, "1.0.0"), 200)
    # Each request, newest first: its target (plugind records the npm name, however the path named it) and
    # what the Changes column must say.
    wanted = [
        ("POST /api/plugins/install", OTHER, "installed 1.0.0"),
        ("PUT /api/plugins/:id", PLUGIN, "enabled"),
        ("PUT /api/plugins/:id", PLUGIN, "disabled"),
        ("PUT /api/plugins/:id", PLUGIN, "changed ACT_API_KEY"),
        ("PUT /api/plugins/:id", PLUGIN, "set ACT_API_KEY"),
        ("POST /api/plugins/install", PLUGIN, "1.0.0 → 1.1.0"),
        ("POST /api/plugins/install", PLUGIN, "installed 1.0.0"),
    ]
    api_entries = audit(admin_api)["entries"]
    assert SECRET not in json.dumps(api_entries) and SECRET_2 not in json.dumps(api_entries)

    page.go("#/activity")
    page.wait(lambda: len(rows(page)) >= len(wanted), "the activity table", timeout=30)
    assert page.css('#nav a[data-view="activity"]').get_attribute("aria-current") == "page"
    assert page.d.title == "Activity — plugind"
    # The table is the API's answer in its order (newest first) …
    assert row_ids(page) == [e["id"] for e in api_entries]
    times = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in
             page.d.execute_script("return [...document.querySelectorAll('#activity-table tbody time')].map(t => t.getAttribute('datetime'))")]
    assert times == sorted(times, reverse=True), times
    # … and says what each change did, in words.
    assert len(api_entries) == len(wanted)
    for tr, (request, target, words) in zip(rows(page), wanted):
        assert tr.find_element(By.CSS_SELECTOR, "code.request").text == request
        assert tr.find_element(By.CSS_SELECTOR, ".activity-target").text == target
        changes = [li.text for li in tr.find_elements(By.CSS_SELECTOR, "td[data-label=Changes] li")]
        assert words in changes, (words, changes)
        assert cell(tr, "Status") == "200"
        assert cell(tr, "Who").startswith("admin")
    # The install and the upgrade ran as operations: their outcome, with the operation's id.
    upgrade = rows(page)[5].find_element(By.CSS_SELECTOR, "td[data-label=Operation] .badge")
    assert upgrade.text == "succeeded" and upgrade.get_attribute("data-operation-id")
    assert cell(rows(page)[1], "Operation") == "—"  # a PUT starts no operation
    # The time is local, with the exact ISO time in its title.
    first = rows(page)[0].find_element(By.CSS_SELECTOR, "time")
    assert first.get_attribute("title") == api_entries[0]["time"] and first.text and first.text != api_entries[0]["time"]
    assert page.text("#activity-count") == f"{len(api_entries)} entries"
    assert_no_secret(page, "the activity view")
    page.shot("activity", full_page=False)
    assert_accessible(page, "the activity view")
    page.check_console("the activity view")


def test_the_plugin_filter_narrows_the_list_through_the_url(page, admin_api):
    field = page.css("#activity-filter input[type=search]")
    assert page.css(f'label[for="{field.get_attribute("id")}"]').text == "Plugin"
    # Known plugins are offered as suggestions.
    page.wait(lambda: page.d.execute_script("return [...arguments[0].list.options].map(o => o.value)", field).count(PLUGIN_ID) == 1,
              "the plugin suggestions")
    field.send_keys(PLUGIN, Keys.ENTER)
    page.wait(lambda: page.d.current_url.endswith("#/activity/" + quote(PLUGIN, safe="")), "the filter in the URL")
    expected = [e["id"] for e in audit(admin_api, plugin=PLUGIN)["entries"]]
    page.wait(lambda: row_ids(page) == expected, "the filtered rows")
    assert len(expected) == 6
    for tr in rows(page):
        assert tr.find_element(By.CSS_SELECTOR, ".activity-target").text in (PLUGIN, PLUGIN_ID)
    assert page.text("#activity-count") == f"6 entries for {PLUGIN}"
    page.shot("activity-filtered", full_page=False)
    assert_accessible(page, "the filtered activity view")

    # "Show all" clears the filter; a target links to its own filter; Back returns to the previous one.
    everything = [e["id"] for e in audit(admin_api)["entries"]]
    page.css("#activity-show-all").click()
    page.wait(lambda: page.d.current_url.endswith("#/activity") and row_ids(page) == everything, "every entry again")
    assert page.css("#activity-filter input[type=search]").get_attribute("value") == ""
    link = next(a for a in page.all("#activity-table .activity-target") if a.text == OTHER)
    link.click()
    others = [e["id"] for e in audit(admin_api, plugin=OTHER)["entries"]]
    assert len(others) == 1
    page.wait(lambda: row_ids(page) == others, "OTHER's entry alone")
    assert page.css("#activity-filter input[type=search]").get_attribute("value") == OTHER
    page.d.back()
    page.wait(lambda: row_ids(page) == everything, "every entry after going back")

    # A plugin nobody changed: the empty state, in a sentence.
    untouched = next(p["id"] for p in expect(admin_api.get("/api/plugins"), 200)["plugins"]
                     if p["id"] not in (PLUGIN_ID, OTHER_ID) and p.get("npmName"))
    open_activity(page, f"#/activity/{quote(untouched, safe='')}")
    assert page.text("#activity-empty") == f"No change to {untouched} has been recorded."
    assert not page.css("#activity-table").is_displayed() and not page.css("#activity-more").is_displayed()
    assert_accessible(page, "the activity view's empty state")
    page.check_console("the activity filter")


def test_load_more_follows_the_cursor_and_keeps_the_keyboard_on_the_list(page, admin_api):
    for n in range(BULK):
        put(admin_api, OTHER_ID, {"config": {"ACT_OTHER_LEVEL": f"level-{n}"}})
    everything = all_entries(admin_api)
    assert len(everything) == 7 + BULK
    open_activity(page, "#/activity")
    page.wait(lambda: len(rows(page)) == 50, "the first page")
    assert row_ids(page) == [e["id"] for e in everything[:50]]
    assert page.text("#activity-count") == "50 entries, more to load"
    # The newest: OTHER's last setting, named without its value.
    assert [li.text for li in rows(page)[0].find_elements(By.CSS_SELECTOR, "td[data-label=Changes] li")] == ["changed ACT_OTHER_LEVEL"]
    assert f"level-{BULK - 1}" not in page.text("#activity-table")
    more = page.css("#activity-more")
    assert more.text == "Load more"
    more.send_keys(Keys.ENTER)  # from the keyboard
    page.wait(lambda: len(rows(page)) == len(everything), "the second page")
    assert row_ids(page) == [e["id"] for e in everything]
    assert not page.css("#activity-more").is_displayed()
    assert page.text("#activity-count") == f"{len(everything)} entries"
    # The button went away: the keyboard continues at the first row it brought.
    assert page.d.execute_script("return document.activeElement.dataset.id") == everything[50]["id"]
    assert_accessible(page, "the activity view after Load more")
    page.check_console("Load more")


def test_a_plugins_page_shows_its_recent_changes_and_links_to_the_filtered_view(page, admin_api):
    page.go(f"#/plugins/{PLUGIN_ID}")
    section = page.wait_css("#recent-changes")
    page.wait(lambda: len(section.find_elements(By.CSS_SELECTOR, "li")) == 5, "five recent changes")
    items = [li.text for li in section.find_elements(By.CSS_SELECTOR, "ol > li")]
    for item, words in zip(items, ["enabled", "disabled", "changed ACT_API_KEY", "set ACT_API_KEY", "1.0.0 → 1.1.0"]):
        assert words in item and "by admin" in item, (words, item)
    assert_no_secret(page, "the plugin page")

    # A change made in the panel shows at the top once it is redrawn.
    form = page.css("#config-form")
    Select(form.find_element(By.CSS_SELECTOR, '.field[data-key="ACT_MODE"] select')).select_by_value("fast")
    page.css("#save-config").click()
    page.wait_css("#panel-notice")
    page.wait(lambda: "set ACT_MODE" in page.css("#recent-changes ol > li").text, "the saved setting among the recent changes")
    assert len(page.all("#recent-changes ol > li")) == 5
    page.d.execute_script("document.getElementById('recent-changes').scrollIntoView({block: 'end'})")
    page.shot("plugin-recent-changes", full_page=False)
    assert_accessible(page, "the plugin page with its recent changes")
    page.check_console("the plugin page's recent changes")

    link = page.css("#recent-changes-all")
    assert link.text.startswith("All changes to ") and link.text.endswith(" in Activity"), link.text
    link.click()
    page.wait(lambda: page.d.current_url.endswith("#/activity/" + quote(PLUGIN, safe="")), "the filtered activity view")
    expected = [e["id"] for e in audit(admin_api, plugin=PLUGIN)["entries"]]
    page.wait(lambda: row_ids(page) == expected, "the plugin's entries")
    assert len(expected) == 7 and page.css("#activity-filter input[type=search]").get_attribute("value") == PLUGIN
    page.check_console("the activity view from a plugin's page")


def test_a_token_label_is_shown_as_text_and_a_refused_request_says_its_status(page, stack, admin_api):
    cli = json.loads((stack.stateDir / "run.json").read_text())["cli"]
    made = subprocess.run([cli, "token", "create", "--role", "admin", "--label", LABEL], capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    with stack.client(token) as labelled:
        put(labelled, OTHER_ID, {"config": {"ACT_OTHER_LEVEL": None}})
    newest = audit(admin_api, limit=1)["entries"][0]
    assert newest["tokenLabel"] == LABEL and newest["tokenId"]
    open_activity(page, "#/activity")
    page.wait(lambda: row_ids(page)[:1] == [newest["id"]], "the labelled token's change")
    who = rows(page)[0].find_element(By.CSS_SELECTOR, ".who")
    assert who.text == f"admin · {LABEL}"
    assert who.find_element(By.CSS_SELECTOR, ".who-label").get_attribute("title") == f"token {newest['tokenId']}"
    assert not page.all("#label-injected"), "the label's markup became an element"
    assert [li.text for li in rows(page)[0].find_elements(By.CSS_SELECTOR, "td[data-label=Changes] li")] == ["unset ACT_OTHER_LEVEL"]
    page.check_console("a labelled token's entry")

    # A request plugind refused (a key the plugin does not declare) is listed too: its status, and no change.
    assert admin_api.put(f"/api/plugins/{OTHER_ID}", json={"config": {"ACT_UNDECLARED": "x"}}).status_code == 422
    page.css("#activity-apply").click()  # the same filter again reads the newest entries
    page.wait(lambda: cell(rows(page)[0], "Status") == "422", "the refused request at the top")
    assert cell(rows(page)[0], "Changes") == "no change"
    assert rows(page)[0].find_element(By.CSS_SELECTOR, "code.request").text == "PUT /api/plugins/:id"
    page.check_console("a refused request's entry")


def test_a_narrow_screen_shows_each_entry_as_a_labelled_card(page):
    open_activity(page, f"#/activity/{quote(PLUGIN, safe='')}")
    page.wait(lambda: len(rows(page)) == 7, "the plugin's entries")
    browser.set_viewport(page.d, *browser.NARROW)
    try:
        label = page.d.execute_script(
            "return getComputedStyle(document.querySelector('#activity-table tbody td[data-label=Changes]'), '::before').content")
        assert label == '"Changes"', label
        page.shot("activity-narrow", full_page=False)
        assert_accessible(page, "the activity view on a narrow screen")
    finally:
        browser.set_viewport(page.d, *browser.WINDOW)
    page.check_console("the narrow activity view")


def test_a_read_token_gets_a_sentence_instead_of_the_log(page, stack):
    with stack.client(stack.readToken) as reader:
        refused = reader.get("/api/audit")
        assert refused.status_code == 403, refused.text
    page.sign_out()
    page.sign_in(stack.readToken)
    open_activity(page, "#/activity")
    assert page.text("#activity-admin-only") == ADMIN_ONLY
    assert not page.all("#activity-table") and not page.all("#activity-filter")
    assert_accessible(page, "the activity view for a read token")
    page.go(f"#/plugins/{PLUGIN_ID}")
    page.wait_css("#config-form .field")
    assert page.text("#recent-changes-admin-only") == PANEL_ADMIN_ONLY
    assert not page.all("#recent-changes ol") and not page.all("#recent-changes-all")
    assert_accessible(page, "a plugin page for a read token")
    page.check_console("the activity for a read token")  # no 403: the page does not ask
    page.sign_out()
