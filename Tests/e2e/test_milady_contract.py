"""Milady's own app, unchanged, drives plugind (issue 21): the requests of Milady's API client replayed verbatim —
bodies, `Content-Type: application/json`, `X-Milady-Client-Id`, `Authorization: Bearer` — and every field its
components read checked, route by route, through nginx with Milady's catalogue, the reference agent host as the
runtime and the loopback fake npm registry.

The client is `apps/app/src/api-client.ts` of github.com/milady-ai/milady (read at commit 0a41cdfe; its components
`apps/app/src/components/PluginsView.tsx` at 0ba47c10 and `AppContext.tsx`). Each test names the client method it
replays and the interface it reads; the stored copy carries no line numbers, so the citation is file and symbol.
docs/milady-compatibility.md is the route-by-route table these tests hold the server to.

Every response goes through `Stack.client()`, so it is also held to docs/openapi.yaml."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from browser import missing as browser_missing, start_browser, wait_for
from conftest import MILADY_CATALOGUE, _run_stack
from fake_npm import FakeNpm
from helpers import expect, free_port, wait_until

CLIENT = "apps/app/src/api-client.ts"
HELLO = "@e2e-milady/plugin-mc-hello"
SLOW = "@e2e-milady/plugin-mc-slow"
QUICK = "@e2e-milady/plugin-mc-quick"
HELLO_SOURCE = b"""export default {
  name: 'mc-hello',
  description: 'loads, and its check passes',
  async init() {},
  async testConnection() { return { ok: true, message: 'mc-hello: connected' }; },
};
"""
# Milady's client aborts every request after DEFAULT_FETCH_TIMEOUT_MS (api-client.ts, `rawRequest`).
MILADY_TIMEOUT_S = 10.0
PAGE_PORT = free_port()
PAGE_ORIGIN = f"http://127.0.0.1:{PAGE_PORT}"


@pytest.fixture(scope="module")
def fake():
    with FakeNpm(hang_seconds=60) as registry:
        for name in (HELLO, SLOW, QUICK):
            registry.publish(name, "1.0.0", files={"index.js": HELLO_SOURCE.replace(b"mc-hello", name.split("/")[1].encode())},
                             extra={"type": "module"})
            registry.list(name, "1.0.0")
        yield registry


@pytest.fixture(scope="module")
def mc(fake):
    if not MILADY_CATALOGUE.is_file():
        pytest.fail(f"Milady's catalogue is not at {MILADY_CATALOGUE} (../shared beside the clone)")
    yield from _run_stack({
        "PLUGIND_NPM_REGISTRY": fake.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake.registry_url,
        "PLUGIND_CATALOGUE": str(MILADY_CATALOGUE), "PLUGIND_RESTART_DEBOUNCE_MS": "300", "PLUGIND_VERDICT_TIMEOUT_MS": "30000",
        "PLUGIND_PUBLIC_ORIGINS": PAGE_ORIGIN,
        # A closed loopback port: the agent registry routes answer at once (502), never after a network timeout.
        "PLUGIND_AGENT_REGISTRY_URL": f"http://127.0.0.1:{free_port()}",
    })


class Milady:
    """Requests exactly as MiladyClient sends them (`rawRequest` and `fetch` in api-client.ts): the client id header on
    every request, `Content-Type: application/json` from `fetch`, the bearer token, JSON.stringify'd bodies."""

    def __init__(self, stack, token: str):
        self.session = stack.client(token)
        self.headers = {"X-Milady-Client-Id": f"ui-{uuid.uuid4()}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body=None, timeout: float = MILADY_TIMEOUT_S) -> requests.Response:
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        return self.session.request(method, path, data=data, headers=self.headers, timeout=timeout)


@pytest.fixture
def app(mc):
    client = Milady(mc, mc.adminToken)
    with client.session:
        yield client


def finished(app: Milady, response: requests.Response) -> dict:
    """The change's result: the answer itself, or — when it outlasted `clientAnswerWithinMs` (202) — the result its
    operation recorded once done (what the app sees on its next reload)."""
    if response.status_code != 202:
        return expect(response, 200)
    operation = expect(response, 202)["operation"]
    wait_until(lambda: expect(app.call("GET", operation), 200)["operation"]["state"] != "running", 120, "the operation to end")
    record = expect(app.call("GET", operation), 200)["operation"]
    assert record["state"] == "succeeded", record
    return record["result"]


def plugin(app: Milady, plugin_id: str) -> dict:
    return next(p for p in expect(app.call("GET", "/api/plugins"), 200)["plugins"] if p["id"] == plugin_id)


# --- GET /api/plugins ------------------------------------------------------------------------------


def test_get_plugins_has_every_field_the_plugin_views_read(app):
    """`getPlugins()` → `{plugins: PluginInfo[]}` (api-client.ts `getPlugins`, interfaces `PluginInfo` and
    `PluginParamDef`); PluginsView.tsx `renderCard`/`renderField` read `parameters[].isSet/required/sensitive/
    currentValue/default/options`, `validationErrors`, `enabled`, `category`, `id`, `name`, `description`."""
    plugins = expect(app.call("GET", "/api/plugins"), 200)["plugins"]
    assert len(plugins) >= 99
    for p in plugins:
        for key in ("id", "name", "description", "enabled", "configured", "envKey", "category", "source", "parameters",
                    "validationErrors", "validationWarnings", "npmName", "version", "isActive", "loadError", "configKeys"):
            assert key in p, f"{p['id']} lacks {key}"
        # configKeys: the parameters' keys, in order.
        assert p["configKeys"] == [param["key"] for param in p["parameters"]], p["id"]
        for param in p["parameters"]:
            for key in ("key", "type", "description", "required", "sensitive", "currentValue", "isSet"):
                assert key in param, f"{p['id']}.{param.get('key')} lacks {key}"
        # The seed's `source` wins over Milady's "bundled" | "store" (docs/milady-compatibility.md).
        assert p["source"] in ("bundled", "installed", "ejected", "config")
    anthropic = next(p for p in plugins if p["id"] == "anthropic")
    assert anthropic["envKey"] == "ANTHROPIC_API_KEY"
    assert anthropic["configUiHints"] is not None and isinstance(anthropic["configUiHints"], dict)
    with_deps = [p for p in plugins if p["pluginDeps"]]
    assert with_deps, "the catalogue's pluginDeps are missing"


def test_infrastructure_injected_key_is_not_offered_and_cannot_be_set(app):
    """Milady hides keys its host injects (`VERCEL_OIDC_TOKEN` of the Vercel AI Gateway plugin; Milady's own test
    asserts it is not offered). `getPlugins()` must not list it; `updatePlugin(id, {config})` (api-client.ts
    `updatePlugin`) of it is refused like a blocked key."""
    gateway = plugin(app, "vercel-ai-gateway")
    assert "VERCEL_OIDC_TOKEN" not in [p["key"] for p in gateway["parameters"]]
    assert "VERCEL_OIDC_TOKEN" not in gateway["configKeys"]
    assert "VERCEL_OIDC_TOKEN" not in json.dumps(gateway["validationErrors"] + gateway["validationWarnings"])
    refused = app.call("PUT", "/api/plugins/vercel-ai-gateway", {"config": {"VERCEL_OIDC_TOKEN": "oidc-e2e-token"}})
    body = expect(refused, 422)
    assert "VERCEL_OIDC_TOKEN" in json.dumps(body)
    assert "VERCEL_OIDC_TOKEN" not in json.dumps(plugin(app, "vercel-ai-gateway"))


def test_a_whitespace_only_value_is_unset_and_clears_a_stored_one(app):
    """Milady's app (and its tests) treat `"   "` as no value: `isSet` false, `configured` false. Replays
    `updatePlugin(id, {config: {KEY: value}})` (PluginsView.tsx `handleConfigSave` → AppContext
    `handlePluginConfigSave`)."""
    put = expect(app.call("PUT", "/api/plugins/bluebubbles", {"config": {"BLUEBUBBLES_PASSWORD": "   "}}), 200)
    assert put["ok"] is True
    entry = plugin(app, "bluebubbles")
    param = next(p for p in entry["parameters"] if p["key"] == "BLUEBUBBLES_PASSWORD")
    assert param["isSet"] is False and entry["configured"] is False
    assert any(e["field"] == "BLUEBUBBLES_PASSWORD" for e in entry["validationErrors"])
    expect(app.call("PUT", "/api/plugins/bluebubbles", {"config": {"BLUEBUBBLES_PASSWORD": "a-real-password-e2e"}}), 200)
    assert next(p for p in plugin(app, "bluebubbles")["parameters"] if p["key"] == "BLUEBUBBLES_PASSWORD")["isSet"] is True
    # A PUT of only whitespace clears the stored value.
    expect(app.call("PUT", "/api/plugins/bluebubbles", {"config": {"BLUEBUBBLES_PASSWORD": " \t "}}), 200)
    param = next(p for p in plugin(app, "bluebubbles")["parameters"] if p["key"] == "BLUEBUBBLES_PASSWORD")
    assert param["isSet"] is False and param["currentValue"] is None


# --- PUT /api/plugins/:id --------------------------------------------------------------------------


def test_update_plugin_answers_ok_and_restarting(app):
    """`updatePlugin(id, {enabled})` → `{ok, restarting?}` (api-client.ts `updatePlugin`); AppContext
    `handlePluginToggle` waits for the restart when `restarting` is true."""
    on = expect(app.call("PUT", "/api/plugins/bluesky", {"enabled": True}), 200)
    assert on["ok"] is True and on["requiresRestart"] is True
    # A runtime is attached and autoRestart is on: plugind restarts the agent itself.
    assert on["restarting"] is True
    again = expect(app.call("PUT", "/api/plugins/bluesky", {"enabled": True}), 200)
    assert again["restarting"] is False
    off = expect(app.call("PUT", "/api/plugins/bluesky", {"enabled": False}), 200)
    assert off["restarting"] is True and off["plugin"]["enabled"] is False


# --- install, test, installed, uninstall ------------------------------------------------------------


def test_install_with_miladys_body_then_test_then_uninstall(app, mc):
    """`installRegistryPlugin(name, autoRestart = true)` sends `{name, autoRestart}` (api-client.ts
    `installRegistryPlugin`, `PluginInstallResult {ok, plugin, requiresRestart, message}`);
    `testPluginConnection(id)` reads `success, pluginId, message, error, durationMs`;
    `getInstalledPlugins()` reads `{count, plugins[{name, version, installPath, installedAt}]}`;
    `uninstallRegistryPlugin(name, autoRestart)` sends `{name, autoRestart}` and reads `{ok, pluginName, message}`."""
    installed = finished(app, app.call("POST", "/api/plugins/install", {"name": HELLO, "autoRestart": True}))
    assert installed["ok"] is True and installed["requiresRestart"] is True
    assert installed["plugin"]["name"] == HELLO and installed["plugin"]["version"] == "1.0.0" and installed["plugin"]["installPath"]
    assert HELLO in installed["message"]
    assert installed["loaded"] is True  # autoRestart true: the verdict was waited for, as before

    test = expect(app.call("POST", f"/api/plugins/{quote('mc-hello', safe='')}/test"), 200)
    assert test["success"] is True and test["pluginId"] == "mc-hello"
    assert test["message"] == "plugin-mc-hello: connected" and test["error"] is None
    assert isinstance(test["durationMs"], int) and test["durationMs"] >= 0

    listing = expect(app.call("GET", "/api/plugins/installed"), 200)
    assert listing["count"] == len(listing["plugins"])
    row = next(r for r in listing["plugins"] if r["name"] == HELLO)
    assert row["version"] == "1.0.0" and row["installPath"] and row["installedAt"]

    gone = finished(app, app.call("POST", "/api/plugins/uninstall", {"name": HELLO, "autoRestart": True}))
    assert gone["ok"] is True and gone["pluginName"] == HELLO and HELLO in gone["message"]
    assert HELLO not in [r["name"] for r in expect(app.call("GET", "/api/plugins/installed"), 200)["plugins"]]


def test_autorestart_false_leaves_the_restart_pending(app):
    """`installRegistryPlugin(name, false)`: the change is done, `requiresRestart` true, nobody waits for the
    runtime's verdict (`loaded` null)."""
    started = time.monotonic()
    body = expect(app.call("POST", "/api/plugins/install", {"name": QUICK, "autoRestart": False}), 200)
    assert body["ok"] is True and body["requiresRestart"] is True and body["loaded"] is None
    assert time.monotonic() - started < MILADY_TIMEOUT_S
    expect(app.call("POST", "/api/plugins/uninstall", {"name": QUICK, "autoRestart": False}), 200)


def test_unknown_fields_are_still_refused(app):
    """The allow-list grew by exactly what Milady sends; anything else is still a 400 naming it."""
    body = expect(app.call("POST", "/api/plugins/install", {"name": HELLO, "autoRestart": True, "restartNow": True}), 400)
    assert "restartNow" in body["error"]


def test_an_install_longer_than_the_apps_timeout_ends_up_shown_correctly(app, fake, mc):
    """What PluginsView.tsx does (`handleAddFromDirectory`/`handleInstallPlugin`): `await installRegistryPlugin(name)`
    under the client's 10 s abort, then `await loadPlugins()` (GET /api/plugins), and the plugin list again whenever
    the view mounts. The tarball takes 11 s: the app must get a 2xx before its abort (not "Request timed out"), and
    its plugin list must end up showing the plugin installed."""
    fake.set_tarball(SLOW, "1.0.0", "delay", delay=11.0)
    try:
        started = time.monotonic()
        response = app.call("POST", "/api/plugins/install", {"name": SLOW, "autoRestart": True})
        elapsed = time.monotonic() - started
        body = expect(response, 202)
        assert elapsed < MILADY_TIMEOUT_S
        # `res.ok` is true for 202: the app shows its success notice and reloads the list.
        assert response.ok and body["ok"] is True and body["pending"] is True
        assert body["operation"] == f"/api/operations/{body['operationId']}"
        # loadPlugins(), as the app calls it after the answer and on every mount, until the plugin shows.
        def shown() -> bool:
            entry = next((p for p in expect(app.call("GET", "/api/plugins"), 200)["plugins"] if p["npmName"] == SLOW), None)
            return entry is not None and entry["available"] is True and entry["source"] == "installed" and entry["enabled"] is True
        wait_until(shown, 90, "the slow plugin to show as installed in GET /api/plugins")
        # The operation ends once the runtime's verdict is in (the plugin already shows as installed before that).
        wait_until(lambda: expect(app.call("GET", body["operation"]), 200)["operation"]["state"] != "running", 90, "the install to end")
        record = expect(app.call("GET", body["operation"]), 200)["operation"]
        assert record["state"] == "succeeded" and record["kind"] == "install" and record["result"]["loaded"] is True
        assert SLOW in [r["name"] for r in expect(app.call("GET", "/api/plugins/installed"), 200)["plugins"]]
    finally:
        fake.reset()


def test_plugind_clients_keep_the_synchronous_answer(mc, fake):
    """Without `X-Milady-Client-Id` (plugind's dashboard, curl) the install answers when it is done, as before."""
    fake.set_tarball(QUICK, "1.0.0", "delay", delay=3.0)
    try:
        with mc.client(mc.adminToken) as session:
            body = expect(session.post("/api/plugins/install", json={"name": QUICK}, timeout=120), 200)
            assert body["plugin"]["name"] == QUICK and "pending" not in body
            expect(session.post("/api/plugins/uninstall", json={"name": QUICK}, timeout=60), 200)
    finally:
        fake.reset()


# --- core plugins ------------------------------------------------------------------------------------


def test_core_plugins_keep_the_seeds_shape_and_toggle_answers_miladys_fields(app):
    """`getCorePlugins()` reads `{core, optional}` of `{npmName, id, name, isCore, loaded, enabled}`; the seed's
    `{core, optionalCore}` of `{name, npmName, loaded, required, enabled}` wins (a clash, written down).
    `toggleCorePlugin(npmName, enabled)` sends `{npmName, enabled}` and reads `{ok, restarting, message}`."""
    core = expect(app.call("GET", "/api/plugins/core"), 200)
    assert set(core) == {"core", "optionalCore"}
    assert all({"name", "npmName", "loaded"} <= set(entry) for entry in core["core"] + core["optionalCore"])
    target = core["optionalCore"][0]
    toggled = expect(app.call("POST", "/api/plugins/core/toggle", {"npmName": target["npmName"], "enabled": not target["enabled"]}), 200)
    assert toggled["ok"] is True and toggled["restarting"] is True and toggled["message"]
    back = expect(app.call("POST", "/api/plugins/core/toggle", {"npmName": target["npmName"], "enabled": target["enabled"]}), 200)
    assert back["ok"] is True and isinstance(back["restarting"], bool) and back["message"]


# --- registry -----------------------------------------------------------------------------------------


def _assert_registry_plugin(p: dict) -> None:
    for key in ("name", "gitRepo", "gitUrl", "description", "homepage", "topics", "stars", "language", "npm", "git",
                "supports", "installed", "installedVersion", "loaded", "bundled"):
        assert key in p, f"{p.get('name')} lacks {key}"
    for key in ("package", "v0Version", "v1Version", "v2Version"):
        assert key in p["npm"], f"{p['name']}.npm lacks {key}"
    for key in ("v0Branch", "v1Branch", "v2Branch"):
        assert key in p["git"], f"{p['name']}.git lacks {key}"
    assert p["topics"] == p["tags"]


def test_registry_list_and_details_have_miladys_fields(app):
    """`getRegistryPlugins()` → `{count, plugins: RegistryPlugin[]}` and `getRegistryPluginInfo(name)` →
    `{plugin: RegistryPlugin}` (api-client.ts, interface `RegistryPlugin`: gitRepo, gitUrl, topics, supports,
    homepage, language, npm.v0Version/v1Version/v2Version, git.v0Branch/v1Branch/v2Branch)."""
    listing = expect(app.call("GET", "/api/registry/plugins"), 200)
    assert listing["count"] == len(listing["plugins"]) and listing["count"] >= 3
    for p in listing["plugins"]:
        _assert_registry_plugin(p)
    hello = next(p for p in listing["plugins"] if p["name"] == HELLO)
    assert hello["npm"]["v1Version"] == "1.0.0"
    details = expect(app.call("GET", f"/api/registry/plugins/{quote(HELLO, safe='')}"), 200)["plugin"]
    _assert_registry_plugin(details)
    assert details["npm"] == hello["npm"]


# --- agent registry (Milady's is on-chain; plugind's is the seed's HTTP registry) ----------------------


def test_agent_registry_routes_accept_miladys_bodies(app):
    """`registerAgent({name, endpoint, tokenURI})`, `updateRegistryTokenURI(tokenURI)` sends `{tokenURI}`,
    `syncRegistryProfile({name, endpoint, tokenURI})` (api-client.ts, ERC-8004 section). The registry here is
    unreachable, so each answers 502 — but none is refused for its body (400)."""
    uri = "https://agent.example.org/milady"
    for path, body in (("/api/registry/register", {"name": "milady", "endpoint": uri, "tokenURI": uri}),
                       ("/api/registry/update-uri", {"tokenURI": uri}),
                       ("/api/registry/sync", {"name": "milady", "endpoint": uri, "tokenURI": uri})):
        response = app.call("POST", path, body, timeout=60)
        assert response.status_code != 400, f"{path}: {response.text}"
        assert response.status_code in (200, 409, 502, 503, 504), f"{path}: {response.status_code} {response.text}"
    config = expect(app.call("GET", "/api/registry/config"), 200)
    assert config  # the seed's shape; Milady's on-chain fields (chainId, …) are a documented difference
    # update-uri stored the URI even though the registry is down.
    assert uri in json.dumps(expect(app.call("GET", "/api/registry/status"), 200)) or uri in json.dumps(config)


# --- CORS --------------------------------------------------------------------------------------------


def test_preflight_from_a_listed_origin_needs_no_token(mc):
    """Browsers send no Authorization on a preflight: a listed origin gets 204 with the headers Milady's client sends
    allowed; another origin gets no CORS headers."""
    headers = {"Origin": PAGE_ORIGIN, "Access-Control-Request-Method": "PUT",
               "Access-Control-Request-Headers": "authorization,content-type,x-milady-client-id"}
    with mc.client() as anon:
        ok = anon.options("/api/plugins/anthropic", headers=headers)
        assert ok.status_code == 204, ok.text
        assert ok.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
        allowed = {h.strip().lower() for h in ok.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "content-type", "x-milady-client-id"} <= allowed
        assert "PUT" in ok.headers["Access-Control-Allow-Methods"]
        other = anon.options("/api/plugins/anthropic", headers={**headers, "Origin": "http://127.0.0.1:9"})
        assert other.status_code == 401 and "Access-Control-Allow-Origin" not in other.headers


class _Page(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b"<!doctype html><title>milady app stand-in</title><p>another origin</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def page_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", PAGE_PORT), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


FETCH = """
const [base, token, method, path, body, done] = arguments;
fetch(base + path, {method, headers: {'X-Milady-Client-Id': 'ui-e2e-browser', 'Authorization': 'Bearer ' + token,
                                      'Content-Type': 'application/json'}, body})
  .then(async r => done({status: r.status, body: await r.json()}))
  .catch(e => done({error: String(e)}));
"""


@pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")
def test_the_app_on_another_listed_origin_works_in_chromium(mc):
    """Milady's client from a page on another origin (`__MILADY_API_BASE__` pointing at plugind): `getPlugins()` and
    `updatePlugin(id, {enabled})` through CORS in a real Chromium, errors readable too."""
    with page_server():
        driver = start_browser()
        try:
            driver.get(PAGE_ORIGIN + "/")
            wait_for(driver, lambda: driver.execute_script("return document.readyState") == "complete", what="the page")
            got = driver.execute_async_script(FETCH, mc.url, mc.adminToken, "GET", "/api/plugins", None)
            assert got.get("status") == 200, got
            assert any(p["id"] == "anthropic" for p in got["body"]["plugins"])
            put = driver.execute_async_script(FETCH, mc.url, mc.adminToken, "PUT", "/api/plugins/farcaster",
                                              json.dumps({"enabled": False}))
            assert put.get("status") == 200 and put["body"]["ok"] is True, put
            # An error is readable too (the app shows `error`).
            missing = driver.execute_async_script(FETCH, mc.url, mc.adminToken, "GET", "/api/plugins/no-such-plugin-e2e", None)
            assert missing.get("status") == 404 and missing["body"]["error"], missing
        finally:
            driver.quit()
