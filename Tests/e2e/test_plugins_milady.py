"""The plugin routes end to end through nginx with Milady's own catalogue configured
(`PLUGIND_CATALOGUE=../shared/data/catalogue/milady-plugins.json`, no runtime bridge) and an agent
config seeded with packages named only there (conftest.MILADY_SEED_CONFIG). Every response goes
through `Stack.client()`, so it is held to docs/openapi.yaml, and through `secret_guarded_session`, so no
response body of this module ever contains a plain secret value this module stored.

The tests share one stack: each uses plugins no other test here changes, or restores what it
changed."""

from __future__ import annotations

import collections
import json
import threading

import pytest

from helpers import caught_up_log, expect, secret_guarded_session

from conftest import MILADY_CATALOGUE, MILADY_SEED_CONFIG

# Secrets this module stores. None of them may appear in any response body (see `secret_guarded_session`).
OPENAI_SECRET = "sk-milady-e2e-0123456789abcdefWXYZ"  # ≥ 16 characters: masked as sk-****...WXYZ
SHORT_SECRET = "tok-e2e-short1"  # 14 characters: masked as ****
EVM_SECRET = "0x" + "5eed" * 16
ANTHROPIC_SECRET = "sk-ant-e2e-milady-shared-key-0123456789"
SECRETS = (OPENAI_SECRET, SHORT_SECRET, EVM_SECRET, ANTHROPIC_SECRET)

# Milady's 18 core and 14 optional-core plugins (the settings' defaults).
CORE = {
    "sql", "local-embedding", "secrets-manager", "form", "knowledge", "rolodex", "trajectory-logger",
    "agent-orchestrator", "coding-agent", "cron", "shell", "plugin-manager", "agent-skills", "pdf",
    "trust", "todo", "personality", "experience",
}
OPTIONAL_CORE = {
    "cua", "obsidian", "code", "repoprompt", "claude-code-workbench", "computeruse", "browser", "vision",
    "cli", "discord", "telegram", "twitch", "edge-tts", "elevenlabs",
}
# The optional-core plugins Milady's plugins.json does not list; plugind adds them (contract §4).
MISSING_OPTIONAL_CORE = {"cua", "obsidian", "repoprompt", "claude-code-workbench"}

# Plugins the single-purpose tests below change; the concurrency test keeps away from them.
USED_ELSEWHERE = {
    "openai", "acp", "evm", "anthropic", "browser", "knowledge", "n8n", "farcaster", "bluesky", "vision",
    "discord", "rss",
}


def milady_file() -> dict:
    return json.loads(MILADY_CATALOGUE.read_text())


# --- sessions -------------------------------------------------------------------------------------


def _session(stack, token):
    return secret_guarded_session(stack, token, SECRETS)


@pytest.fixture
def admin(milady_stack):
    with _session(milady_stack, milady_stack.adminToken) as session:
        yield session


@pytest.fixture
def reader(milady_stack):
    with _session(milady_stack, milady_stack.readToken) as session:
        yield session


# --- helpers --------------------------------------------------------------------------------------




def error(response, status: int) -> dict:
    body = expect(response, status)
    assert isinstance(body["error"], str) and body["error"]
    return body


def config_path(stack):
    return stack.stateDir / "milady.json"


def config_bytes(stack) -> bytes:
    return config_path(stack).read_bytes()


def agent_config(stack) -> dict:
    return json.loads(config_bytes(stack))


def plugin(session, ident: str) -> dict:
    return expect(session.get(f"/api/plugins/{ident}"), 200)["plugin"]


def param(entry: dict, key: str) -> dict:
    return next(p for p in entry["parameters"] if p["key"] == key)


def mask(value: str) -> str:
    return "****" if len(value) < 16 else value[:3] + "****..." + value[-4:]


def put(session, ident: str, **body) -> dict:
    return expect(session.put(f"/api/plugins/{ident}", json=body), 200)


# --- GET /api/plugins -----------------------------------------------------------------------------


def test_the_list_holds_all_of_miladys_entries_plus_the_missing_optional_core(reader):
    plugins = expect(reader.get("/api/plugins"), 200)["plugins"]
    file_entries = milady_file()["plugins"]
    assert milady_file()["count"] == 99 and len(file_entries) == 104, "the fixture file itself"

    # 108 = the file's 104 entries (its `count` says 99; all are loaded) + the 4 optional-core plugins
    # the file lacks (cua, obsidian, repoprompt, claude-code-workbench), which plugind adds itself.
    # The 3 packages the seeded agent config names (source "config") come on top: 111 in all.
    by_source = collections.Counter(p["source"] for p in plugins)
    assert by_source == {"bundled": 108, "config": 3}, by_source
    assert len(plugins) == 111
    ids = [p["id"] for p in plugins]
    assert len(ids) == len(set(ids)), "ids are unique"
    file_ids = {e["id"] for e in file_entries}
    bundled = {p["id"] for p in plugins if p["source"] == "bundled"}
    assert file_ids <= bundled
    assert bundled - file_ids == MISSING_OPTIONAL_CORE
    assert {p["id"] for p in plugins if p["source"] == "config"} == {
        "@acme/plugin-discord", "@x/plugin-foo", "@y/plugin-foo"}
    by_id = {p["id"]: p for p in plugins}
    for extra in MISSING_OPTIONAL_CORE:
        assert by_id[extra]["npmName"] == f"@elizaos/plugin-{extra}"
        assert by_id[extra]["parameters"] == [], "shipped without parameters"

    # Category counts of the file's entries, as the file has them.
    categories = collections.Counter(by_id[i]["category"] for i in file_ids)
    assert categories == {"feature": 53, "connector": 31, "ai-provider": 9, "app": 4, "streaming": 4, "database": 3}
    for entry in file_entries:
        assert by_id[entry["id"]]["category"] == entry["category"], entry["id"]
        assert by_id[entry["id"]]["npmName"] == entry["npmName"], entry["id"]
    streaming = expect(reader.get("/api/plugins?category=streaming"), 200)["plugins"]
    assert {p["id"] for p in streaming} == {e["id"] for e in file_entries if e["category"] == "streaming"}

    rtmp = by_id["custom-rtmp"]
    assert rtmp["npmName"] is None
    assert rtmp["category"] == "streaming"
    assert {p["key"] for p in rtmp["parameters"]} == {"CUSTOM_RTMP_URL", "CUSTOM_RTMP_KEY"}
    assert param(rtmp, "CUSTOM_RTMP_KEY")["sensitive"] is True

    # The parameters are Milady's: keys, types, required and sensitive flags.
    evm_file = next(e for e in file_entries if e["id"] == "evm")["pluginParameters"]
    evm = {p["key"]: p for p in by_id["evm"]["parameters"]}
    assert set(evm) == set(evm_file)
    for key, declared in evm_file.items():
        assert (evm[key]["type"], evm[key]["required"], evm[key]["sensitive"]) == (
            declared["type"], declared["required"], declared["sensitive"]), key
    assert evm["TEE_MODE"]["default"] == "OFF"


def test_the_wrong_count_is_logged_as_a_warning(milady_stack, reader):
    expect(reader.get("/api/plugins"), 200)  # the catalogue has been loaded
    log = (milady_stack.stateDir / "logs" / "plugind.log").read_text(errors="replace")
    assert "count 99" in log and "104" in log


# --- GET /api/plugins/:id -------------------------------------------------------------------------


def test_one_plugin_by_short_id_and_encoded_npm_name(reader):
    discord = plugin(reader, "discord")
    assert discord["id"] == "discord" and discord["npmName"] == "@elizaos/plugin-discord"
    assert discord["source"] == "bundled" and discord["category"] == "connector"
    encoded = expect(reader.raw("GET", "/api/plugins/%40elizaos%2Fplugin-discord"), 200)["plugin"]
    assert encoded == discord
    assert plugin(reader, "plugin-discord")["id"] == "discord"


def test_a_short_id_two_packages_share(reader):
    # The seeded config names @acme/plugin-discord: its short id is `discord` too, which the
    # @elizaos/ package keeps; the other one's id is its npm name.
    assert plugin(reader, "discord")["npmName"] == "@elizaos/plugin-discord"
    acme = expect(reader.raw("GET", "/api/plugins/%40acme%2Fplugin-discord"), 200)["plugin"]
    assert acme["id"] == "@acme/plugin-discord"
    assert acme["npmName"] == "@acme/plugin-discord"
    assert acme["source"] == "config"
    assert acme["enabled"] is False, "its plugins.entries record says enabled: false"
    listed = [p for p in expect(reader.get("/api/plugins"), 200)["plugins"] if p["npmName"] in (
        "@elizaos/plugin-discord", "@acme/plugin-discord")]
    assert sorted(p["id"] for p in listed) == ["@acme/plugin-discord", "discord"]


def test_an_ambiguous_short_id_is_409_with_candidates(milady_stack, admin, reader):
    for ident in ("foo", "plugin-foo"):
        body = error(reader.get(f"/api/plugins/{ident}"), 409)
        assert sorted(body["candidates"]) == ["@x/plugin-foo", "@y/plugin-foo"]
    before = config_bytes(milady_stack)
    body = error(admin.put("/api/plugins/foo", json={"enabled": True}), 409)
    assert sorted(body["candidates"]) == ["@x/plugin-foo", "@y/plugin-foo"]
    assert config_bytes(milady_stack) == before
    # Each is reachable by its npm name.
    for name in ("@x/plugin-foo", "@y/plugin-foo"):
        entry = expect(reader.raw("GET", "/api/plugins/" + name.replace("@", "%40").replace("/", "%2F")), 200)["plugin"]
        assert entry["id"] == name and entry["npmName"] == name


def test_unknown_plugins_are_404(milady_stack, admin, reader):
    before = config_bytes(milady_stack)
    assert "milady-nope" in error(reader.get("/api/plugins/milady-nope"), 404)["error"]
    error(admin.put("/api/plugins/milady-nope", json={"enabled": True}), 404)
    error(admin.put("/api/plugins/milady-nope", json={"config": {"X": "1"}}), 404)
    error(admin.post("/api/plugins/milady-nope/test"), 404)
    error(admin.post("/api/plugins/core/toggle", json={"name": "milady-nope", "enabled": True}), 404)
    error(admin.raw("GET", "/api/plugins/%40elizaos%2Fplugin-milady-nope"), 404)
    assert config_bytes(milady_stack) == before


# --- PUT /api/plugins/:id: enabling -------------------------------------------------------------


def test_enabling_a_plugin_requires_a_restart_and_is_written_to_the_file(milady_stack, admin, reader):
    assert plugin(reader, "farcaster")["enabled"] is False
    body = put(admin, "farcaster", enabled=True)
    assert body["ok"] is True and body["requiresRestart"] is True
    assert body["plugin"]["id"] == "farcaster" and body["plugin"]["enabled"] is True
    assert body["plugin"]["loadError"] == "not installed", "enabled, but its code is not available"
    assert agent_config(milady_stack)["plugins"]["entries"]["farcaster"]["enabled"] is True
    # The seeded entries are still there.
    for name, entry in MILADY_SEED_CONFIG["plugins"]["entries"].items():
        assert agent_config(milady_stack)["plugins"]["entries"][name] == entry
    assert plugin(reader, "farcaster")["enabled"] is True
    assert "farcaster" in {p["id"] for p in expect(reader.get("/api/plugins?enabled=true"), 200)["plugins"]}

    assert put(admin, "farcaster", enabled=True)["requiresRestart"] is False, "no change, no restart"
    off = put(admin, "farcaster", enabled=False)
    assert off["requiresRestart"] is True and off["plugin"]["enabled"] is False
    assert agent_config(milady_stack)["plugins"]["entries"]["farcaster"]["enabled"] is False


def test_the_runtime_lists_the_pending_restart_after_an_enable(admin, reader):
    put(admin, "bluesky", enabled=True)
    runtime = expect(reader.get("/api/runtime"), 200)
    assert runtime["attached"] is False and runtime["state"] is None, "PLUGIND_RUNTIME_BRIDGE=none"
    assert runtime["pendingRestart"] is True
    assert any("bluesky" in reason for reason in runtime["pendingRestartReasons"]), runtime
    assert len(runtime["pendingRestartReasons"]) == len(set(runtime["pendingRestartReasons"])), "deduplicated"
    # The same change again adds no second reason.
    put(admin, "bluesky", enabled=False)
    put(admin, "bluesky", enabled=True)
    again = expect(reader.get("/api/runtime"), 200)["pendingRestartReasons"]
    assert len(again) == len(set(again))
    put(admin, "bluesky", enabled=False)


# No runtime attached (this stack has PLUGIND_RUNTIME_BRIDGE=none); with the agent host these routes
# are tested in test_runtime_host.py.


def test_plugin_test_order_unknown_then_no_runtime(admin, reader):
    assert expect(reader.get("/api/runtime"), 200)["attached"] is False
    error(reader.post("/api/plugins/openai/test"), 403)
    error(admin.post("/api/plugins/no-such-plugin-e2e/test"), 404)
    body = error(admin.post("/api/plugins/openai/test"), 503)
    assert "runtime" in body["error"].lower()


def test_restart_without_a_runtime_is_503(admin, reader):
    error(reader.post("/api/runtime/restart"), 403)
    body = error(admin.post("/api/runtime/restart"), 503)
    assert "runtime" in body["error"].lower()
    runtime = expect(reader.get("/api/runtime"), 200)
    assert runtime["attached"] is False and runtime["state"] is None and runtime["lastRestartAt"] is None


# --- PUT /api/plugins/:id: secrets -----------------------------------------------------------------


@pytest.mark.parametrize(
    "ident,key,secret",
    [("openai", "OPENAI_API_KEY", OPENAI_SECRET), ("acp", "ACP_GATEWAY_TOKEN", SHORT_SECRET)],
    ids=["long", "short"],
)
def test_a_sensitive_value_is_only_shown_masked(milady_stack, admin, reader, ident, key, secret):
    shown = mask(secret)
    assert shown == ("sk-****...WXYZ" if secret == OPENAI_SECRET else "****")
    body = put(admin, ident, config={key: secret})
    assert param(body["plugin"], key)["isSet"] is True
    assert param(body["plugin"], key)["currentValue"] == shown
    assert param(body["plugin"], key)["sensitive"] is True

    for session in (admin, reader):
        assert param(plugin(session, ident), key)["currentValue"] == shown
        # Every plugin declaring the key shows the same mask.
        for entry in expect(session.get("/api/plugins"), 200)["plugins"]:
            for p in entry["parameters"]:
                if p["key"] == key:
                    assert p["currentValue"] == shown and p["isSet"] is True, entry["id"]
    assert agent_config(milady_stack)["env"][key] == secret, "the file holds the plain value"
    log = caught_up_log(milady_stack)
    assert secret not in log


@pytest.mark.parametrize("clear", [None, ""], ids=["null", "empty-string"])
def test_echoing_the_mask_keeps_the_secret_and_null_or_empty_clears_it(milady_stack, admin, clear):
    put(admin, "openai", config={"OPENAI_API_KEY": OPENAI_SECRET})
    shown = param(plugin(admin, "openai"), "OPENAI_API_KEY")["currentValue"]
    assert shown == mask(OPENAI_SECRET)

    echoed = put(admin, "openai", config={"OPENAI_API_KEY": shown})
    assert param(echoed["plugin"], "OPENAI_API_KEY")["currentValue"] == shown
    assert agent_config(milady_stack)["env"]["OPENAI_API_KEY"] == OPENAI_SECRET, "the mask was not stored"

    cleared = put(admin, "openai", config={"OPENAI_API_KEY": clear})
    key = param(cleared["plugin"], "OPENAI_API_KEY")
    assert key["isSet"] is False and key["currentValue"] is None
    assert param(plugin(admin, "openai"), "OPENAI_API_KEY")["isSet"] is False
    assert "OPENAI_API_KEY" not in agent_config(milady_stack).get("env", {})
    assert OPENAI_SECRET.encode() not in config_bytes(milady_stack)


def test_a_short_mask_echoed_keeps_the_secret(milady_stack, admin):
    put(admin, "acp", config={"ACP_GATEWAY_TOKEN": SHORT_SECRET})
    echoed = put(admin, "acp", config={"ACP_GATEWAY_TOKEN": "****"})
    assert param(echoed["plugin"], "ACP_GATEWAY_TOKEN")["currentValue"] == "****"
    assert agent_config(milady_stack)["env"]["ACP_GATEWAY_TOKEN"] == SHORT_SECRET
    put(admin, "acp", config={"ACP_GATEWAY_TOKEN": None})
    assert "ACP_GATEWAY_TOKEN" not in agent_config(milady_stack).get("env", {})


def test_an_evm_private_key_is_accepted_and_masked(milady_stack, admin, reader):
    body = put(admin, "evm", config={"EVM_PRIVATE_KEY": EVM_SECRET})
    key = param(body["plugin"], "EVM_PRIVATE_KEY")
    assert key["blocked"] is False, "plugin credentials are not blocked"
    assert key["currentValue"] == mask(EVM_SECRET) == "0x5****...5eed"
    assert param(plugin(reader, "evm"), "EVM_PRIVATE_KEY")["currentValue"] == mask(EVM_SECRET)
    assert agent_config(milady_stack)["env"]["EVM_PRIVATE_KEY"] == EVM_SECRET
    put(admin, "evm", config={"EVM_PRIVATE_KEY": None})


def test_a_shared_key_reports_every_plugin_declaring_it(milady_stack, admin):
    declaring = {e["id"] for e in milady_file()["plugins"] if "ANTHROPIC_API_KEY" in (e.get("pluginParameters") or {})}
    assert declaring == {"anthropic", "browser", "knowledge", "n8n"}, "Milady's file"
    body = put(admin, "anthropic", config={"ANTHROPIC_API_KEY": ANTHROPIC_SECRET})
    assert set(body["affectedPlugins"]) == declaring
    assert body["requiresRestart"] is True, "knowledge declares it and is core, so always enabled"
    # The key is global to the agent: every declaring plugin sees it set.
    for ident in declaring:
        assert param(plugin(admin, ident), "ANTHROPIC_API_KEY")["currentValue"] == mask(ANTHROPIC_SECRET), ident
    assert agent_config(milady_stack)["env"]["ANTHROPIC_API_KEY"] == ANTHROPIC_SECRET
    cleared = put(admin, "n8n", config={"ANTHROPIC_API_KEY": None})
    assert set(cleared["affectedPlugins"]) == declaring
    assert param(plugin(admin, "anthropic"), "ANTHROPIC_API_KEY")["isSet"] is False


# --- PUT /api/plugins/:id: refused writes ---------------------------------------------------------


@pytest.mark.parametrize(
    "ident,config,field",
    [
        ("openai", {"NOT_DECLARED_BY_OPENAI": "x"}, "NOT_DECLARED_BY_OPENAI"),
        ("openai", {"openai_api_key": OPENAI_SECRET}, "openai_api_key"),
        ("openai", {"NODE_OPTIONS": "--require /tmp/evil.js"}, "NODE_OPTIONS"),
        ("openai", {"node_options": "--require /tmp/evil.js"}, "node_options"),
        ("openai", {"OPENAI_EMBEDDING_DIMENSIONS": "many"}, "OPENAI_EMBEDDING_DIMENSIONS"),
        ("farcaster", {"FARCASTER_FID": "not-a-fid"}, "FARCASTER_FID"),
        ("farcaster", {"FARCASTER_FID": True}, "FARCASTER_FID"),
        # One refused key refuses the whole PUT, the valid key and the enable included.
        ("openai", {"OPENAI_SMALL_MODEL": "gpt-e2e", "NODE_OPTIONS": "--inspect"}, "NODE_OPTIONS"),
    ],
    ids=["undeclared", "wrong-case", "NODE_OPTIONS", "node_options", "not-a-number", "milady-number",
         "bool-for-number", "all-or-nothing"],
)
def test_refused_writes_are_422_and_leave_the_file_byte_identical(milady_stack, admin, ident, config, field):
    before = config_bytes(milady_stack)
    body = error(admin.put(f"/api/plugins/{ident}", json={"enabled": True, "config": config}), 422)
    fields = [issue["field"] for issue in body["validationErrors"]]
    assert fields == [field], body
    assert all(isinstance(issue["message"], str) and issue["message"] for issue in body["validationErrors"])
    assert config_bytes(milady_stack) == before
    entry = plugin(admin, ident)
    assert entry["enabled"] is False
    if "OPENAI_SMALL_MODEL" in config:
        assert param(entry, "OPENAI_SMALL_MODEL")["isSet"] is False


def test_a_value_outside_options_is_422(milady_stack, admin, reader):
    # Milady's plugins.json declares `options` on no pluginParameter (its only option list is the
    # UI hint of TWITCH_ALLOWED_ROLES, a multiselect in configUiHints, which is not a declaration).
    # The rule is covered by the unit test PluginsTests/PluginServiceTests.allOrNothing
    # (ANTHROPIC_MODE "slow"); should plugind ever expose options for this file, this runs.
    with_options = [(p["id"], q) for p in expect(reader.get("/api/plugins"), 200)["plugins"]
                    for q in p["parameters"] if q["options"] and not q["blocked"] and q["type"] == "string"]
    if not with_options:
        pytest.skip("no parameter in Milady's catalogue declares options (see PluginServiceTests.allOrNothing)")
    ident, parameter = with_options[0]
    before = config_bytes(milady_stack)
    body = error(admin.put(f"/api/plugins/{ident}", json={"config": {parameter["key"]: "not-an-option-e2e"}}), 422)
    assert [issue["field"] for issue in body["validationErrors"]] == [parameter["key"]]
    assert config_bytes(milady_stack) == before


# --- core plugins ---------------------------------------------------------------------------------


def test_core_status_and_the_core_list(reader):
    status = expect(reader.get("/api/core/status"), 200)
    assert status["available"] is True
    assert set(status["corePlugins"]) == CORE and len(status["corePlugins"]) == 18
    assert set(status["optionalCorePlugins"]) == OPTIONAL_CORE and len(status["optionalCorePlugins"]) == 14

    core = expect(reader.get("/api/plugins/core"), 200)
    assert {c["name"] for c in core["core"]} == CORE
    assert {c["name"] for c in core["optionalCore"]} == OPTIONAL_CORE
    assert all(c["required"] is True and c["loaded"] is False for c in core["core"])
    assert all(c["required"] is False and c["loaded"] is False for c in core["optionalCore"])
    listed = {p["id"]: p for p in expect(reader.get("/api/plugins"), 200)["plugins"]}
    for c in core["core"] + core["optionalCore"]:
        assert c["npmName"] == f"@elizaos/plugin-{c['name']}"
        assert listed[c["name"]]["npmName"] == c["npmName"], "every core plugin is in the list"
    for c in core["core"]:
        assert listed[c["name"]]["enabled"] is True, "core plugins are always enabled"
    for c in core["optionalCore"]:
        assert listed[c["name"]]["enabled"] is c["enabled"], c["name"]


@pytest.mark.parametrize("ident", ["sql", "knowledge", "@elizaos/plugin-shell"])
def test_a_core_plugin_cannot_be_disabled(milady_stack, admin, ident):
    before = config_bytes(milady_stack)
    path = "/api/plugins/" + ident.replace("@", "%40").replace("/", "%2F")
    error(admin.raw("PUT", path, headers={"Content-Type": "application/json"}, data=b'{"enabled":false}'), 409)
    error(admin.post("/api/plugins/core/toggle", json={"name": ident, "enabled": False}), 400)
    error(admin.post("/api/plugins/core/toggle", json={"npmName": ident, "enabled": False}), 400)
    assert config_bytes(milady_stack) == before
    short = ident.rsplit("plugin-", 1)[-1]
    assert plugin(admin, short)["enabled"] is True


def _vision_views(reader) -> tuple[bool, bool, bool]:
    core = expect(reader.get("/api/plugins/core"), 200)
    in_core = next(c for c in core["optionalCore"] if c["name"] == "vision")["enabled"]
    in_list = plugin(reader, "vision")["enabled"]
    in_filter = "vision" in {p["id"] for p in expect(reader.get("/api/plugins?enabled=true"), 200)["plugins"]}
    return in_core, in_list, in_filter


@pytest.mark.parametrize("on_via,off_via", [("toggle", "put"), ("put", "toggle")])
def test_an_optional_core_plugin_is_seen_identically_in_both_lists(milady_stack, admin, reader, on_via, off_via):
    def switch(via: str, enabled: bool) -> bool:
        if via == "toggle":
            body = expect(admin.post("/api/plugins/core/toggle", json={"name": "vision", "enabled": enabled}), 200)
            assert set(body) == {"ok", "requiresRestart", "restarting", "message"}
            assert body["restarting"] is False  # no runtime here: nothing restarts by itself
        else:
            body = put(admin, "vision", enabled=enabled)
            assert body["plugin"]["enabled"] is enabled
        return body["requiresRestart"]

    assert _vision_views(reader) == (False, False, False)
    assert switch(on_via, True) is True
    assert _vision_views(reader) == (True, True, True)
    config = agent_config(milady_stack)
    assert "@elizaos/plugin-vision" in config["plugins"]["allow"], "plugins.allow holds npm names"
    assert config["features"]["vision"] is True
    assert "vision" not in config["plugins"].get("entries", {}), "optional-core is not in plugins.entries"
    assert switch(on_via, True) is False, "unchanged: no restart"

    assert switch(off_via, False) is True
    assert _vision_views(reader) == (False, False, False)
    config = agent_config(milady_stack)
    assert "@elizaos/plugin-vision" not in config["plugins"]["allow"]
    assert "vision" not in config["plugins"]["allow"]
    assert config["features"]["vision"] is False


# --- concurrency ----------------------------------------------------------------------------------


def _sixteen_plugins(reader) -> list[tuple[str, str]]:
    """16 plugins that are neither core nor optional-core nor used by other tests here, each with a
    non-sensitive string parameter no other plugin declares."""
    plugins = expect(reader.get("/api/plugins"), 200)["plugins"]
    declared_by = collections.Counter(q["key"] for p in plugins for q in p["parameters"])
    chosen = []
    for p in sorted(plugins, key=lambda p: p["id"]):
        if p["source"] != "bundled" or p["id"] in CORE | OPTIONAL_CORE | USED_ELSEWHERE or p["enabled"]:
            continue
        keys = [q["key"] for q in p["parameters"] if q["type"] == "string" and not q["sensitive"]
                and not q["blocked"] and not q["isSet"] and declared_by[q["key"]] == 1]
        if keys:
            chosen.append((p["id"], keys[0]))
    assert len(chosen) >= 16, chosen
    return chosen[:16]


def test_sixteen_concurrent_puts_lose_no_update(milady_stack, reader):
    targets = _sixteen_plugins(reader)
    barrier = threading.Barrier(len(targets))
    results: dict[str, object] = {}

    def worker(ident: str, key: str) -> None:
        with _session(milady_stack, milady_stack.adminToken) as session:
            barrier.wait(timeout=30)
            try:
                results[ident] = session.put(f"/api/plugins/{ident}",
                                             json={"enabled": True, "config": {key: f"e2e-concurrent-{ident}"}})
            except BaseException as exc:  # the openapi hook raises from the request call
                results[ident] = exc

    threads = [threading.Thread(target=worker, args=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    statuses = {ident: getattr(r, "status_code", r) for ident, r in results.items()}
    assert statuses == {ident: 200 for ident, _ in targets}

    config = agent_config(milady_stack)
    for ident, key in targets:
        # plugins.entries keys: the short id for @elizaos/plugin-* packages (and for custom-rtmp,
        # which has no npm name), else the npm name.
        npm = plugin(reader, ident)["npmName"]
        entry_key = ident if npm in (None, f"@elizaos/plugin-{ident}") else npm
        assert config["plugins"]["entries"][entry_key]["enabled"] is True, ident
        assert config["env"][key] == f"e2e-concurrent-{ident}", key
        shown = plugin(reader, ident)
        assert shown["enabled"] is True and param(shown, key)["currentValue"] == f"e2e-concurrent-{ident}"
    for name, entry in MILADY_SEED_CONFIG["plugins"]["entries"].items():
        assert config["plugins"]["entries"][name] == entry


# --- ETag -----------------------------------------------------------------------------------------


def test_etags_answer_304_and_change_after_a_put(admin, reader):
    listing = expect(reader.get("/api/plugins"), 200)
    list_tag = reader.get("/api/plugins").headers["ETag"]
    one_tag = reader.get("/api/plugins/rss").headers["ETag"]
    assert list_tag and one_tag and list_tag != one_tag

    not_modified = reader.get("/api/plugins", headers={"If-None-Match": list_tag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["ETag"] == list_tag
    one = reader.get("/api/plugins/rss", headers={"If-None-Match": one_tag})
    assert one.status_code == 304 and one.content == b""
    assert listing["plugins"], "a 200 has the list"

    key = next(q["key"] for q in plugin(reader, "rss")["parameters"] if q["type"] == "string" and not q["sensitive"])
    put(admin, "rss", config={key: "e2e-etag"})
    after_list = reader.get("/api/plugins", headers={"If-None-Match": list_tag})
    assert after_list.status_code == 200 and after_list.headers["ETag"] != list_tag
    after_one = reader.get("/api/plugins/rss", headers={"If-None-Match": one_tag})
    assert after_one.status_code == 200 and after_one.headers["ETag"] != one_tag
    assert param(after_one.json()["plugin"], key)["currentValue"] == "e2e-etag"
    assert reader.get("/api/plugins/rss", headers={"If-None-Match": after_one.headers["ETag"]}).status_code == 304
    put(admin, "rss", config={key: None})
