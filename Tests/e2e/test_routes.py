"""The plugin, core and runtime routes end to end through nginx (every response is also held to
docs/openapi.yaml). They share the session's stack, so each test leaves the plugins it touches
as it found them, or uses plugins no other test touches."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat

import pytest

from conftest import NPM_TOKEN_SECRET
from helpers import caught_up_log

OPENAI_SECRET = "sk-e2e-0123456789abcdefghijklmnop"


def error(response, status: int) -> dict:
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:300]}"
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    return body


def config_digest(stack) -> str | None:
    path = stack.stateDir / "milady.json"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def plugin(session, ident: str) -> dict:
    r = session.get(f"/api/plugins/{ident}")
    assert r.status_code == 200, r.text
    return r.json()["plugin"]


# --- GET /api/plugins ---------------------------------------------------------------------------


def test_the_list_has_the_bundled_catalogue(reader):
    r = reader.get("/api/plugins")
    assert r.status_code == 200
    plugins = r.json()["plugins"]
    assert len(plugins) >= 50
    ids = [p["id"] for p in plugins]
    assert len(ids) == len(set(ids)), "ids are unique"
    by_id = {p["id"]: p for p in plugins}
    assert by_id["openai"]["npmName"] == "@elizaos/plugin-openai"
    assert by_id["openai"]["category"] == "ai-provider"
    assert by_id["sql"]["enabled"] is True, "core plugins are always enabled"
    if _no_runtime_answers(reader):
        assert all(p["isActive"] is False for p in plugins), "no runtime answers: nothing is active"
    key = next(p for p in by_id["openai"]["parameters"] if p["key"] == "OPENAI_API_KEY")
    assert key["sensitive"] is True and key["required"] is True


def test_the_list_answers_304_to_its_etag(reader):
    first = reader.get("/api/plugins")
    tag = first.headers["ETag"]
    again = reader.get("/api/plugins", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == tag
    assert reader.get("/api/plugins", headers={"If-None-Match": '"something-else"'}).status_code == 200
    one = reader.get("/api/plugins/openai")
    assert reader.get("/api/plugins/openai", headers={"If-None-Match": one.headers["ETag"]}).status_code == 304


def test_filters(reader):
    providers = reader.get("/api/plugins?category=ai-provider").json()["plugins"]
    assert providers and all(p["category"] == "ai-provider" for p in providers)
    enabled = reader.get("/api/plugins?enabled=true").json()["plugins"]
    assert enabled and all(p["enabled"] for p in enabled)
    disabled = reader.get("/api/plugins?enabled=false").json()["plugins"]
    assert disabled and not any(p["enabled"] for p in disabled)
    assert reader.get("/api/plugins?category=no-such-category").json() == {"plugins": []}
    error(reader.get("/api/plugins?enabled=maybe"), 400)


# --- GET /api/plugins/:id -----------------------------------------------------------------------


def test_one_plugin_by_id_npm_name_or_encoded_scoped_name(reader):
    by_id = plugin(reader, "openai")
    assert by_id["id"] == "openai"
    assert plugin(reader, "plugin-openai")["id"] == "openai"
    assert reader.raw("GET", "/api/plugins/%40elizaos%2Fplugin-openai").json()["plugin"]["id"] == "openai"


def test_an_unknown_plugin_is_404(reader):
    body = error(reader.get("/api/plugins/no-such-plugin-e2e"), 404)
    assert "no-such-plugin-e2e" in body["error"]


def test_the_core_list_is_not_taken_for_a_plugin_id(reader):
    r = reader.get("/api/plugins/core")
    assert r.status_code == 200
    assert set(r.json()) == {"core", "optionalCore"}


# --- PUT /api/plugins/:id -----------------------------------------------------------------------


def test_put_needs_an_admin_token(reader):
    error(reader.put("/api/plugins/openai", json={"enabled": True}), 403)


@pytest.mark.parametrize(
    "kwargs,status",
    [
        ({"json": {}}, 400),
        ({"data": b""}, 400),
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"data": b"[]", "headers": {"Content-Type": "application/json"}}, 400),
        ({"json": {"enabled": True, "colour": "red"}}, 400),
        ({"json": {"enabled": "yes"}}, 400),
        ({"json": {"config": ["OPENAI_API_KEY"]}}, 400),
        ({"data": b'{"enabled":true}', "headers": {"Content-Type": "text/plain"}}, 415),
        ({"data": b"[" * 100 + b"]" * 100, "headers": {"Content-Type": "application/json"}}, 400),
    ],
    ids=["empty-object", "no-body", "invalid-json", "array", "unknown-field", "enabled-not-bool",
         "config-not-object", "text-plain", "too-deep"],
)
def test_malformed_put_bodies_change_nothing(stack, admin, kwargs, status):
    before = config_digest(stack)
    error(admin.put("/api/plugins/openai", **kwargs), status)
    assert config_digest(stack) == before


def test_put_on_an_unknown_plugin_is_404(admin):
    error(admin.put("/api/plugins/no-such-plugin-e2e", json={"enabled": True}), 404)


def test_a_core_plugin_cannot_be_disabled(stack, admin):
    before = config_digest(stack)
    error(admin.put("/api/plugins/sql", json={"enabled": False}), 409)
    assert config_digest(stack) == before
    assert plugin(admin, "sql")["enabled"] is True


@pytest.mark.parametrize(
    "config",
    [
        {"NOT_DECLARED_BY_OPENAI": "x"},
        {"openai_api_key": "sk-lowercase"},  # declared keys keep their case
        {"NODE_OPTIONS": "--require /tmp/evil.js"},
        {"OPENAI_EMBEDDING_DIMENSIONS": "many"},
        {"OPENAI_EXPERIMENTAL_TELEMETRY": "perhaps"},
        {"OPENAI_BASE_URL": ["https://a"]},
        {"OPENAI_SMALL_MODEL": "gpt-x", "OPENAI_EMBEDDING_DIMENSIONS": "many"},  # one bad key refuses all
    ],
    ids=["undeclared", "wrong-case", "blocked", "not-a-number", "not-a-boolean", "array-value", "all-or-nothing"],
)
def test_refused_configuration_is_422_and_changes_nothing(stack, admin, config):
    before = config_digest(stack)
    body = error(admin.put("/api/plugins/openai", json={"config": config}), 422)
    fields = {issue["field"] for issue in body["validationErrors"]}
    assert fields and fields <= set(config)
    assert config_digest(stack) == before
    small = next(p for p in plugin(admin, "openai")["parameters"] if p["key"] == "OPENAI_SMALL_MODEL")
    assert small["currentValue"] != "gpt-x"


def test_a_secret_is_stored_masked_kept_on_resend_and_cleared(stack, admin, reader):
    r = admin.put("/api/plugins/openai", json={"config": {"OPENAI_API_KEY": OPENAI_SECRET}})
    assert r.status_code == 200, r.text
    assert OPENAI_SECRET not in r.text
    body = r.json()
    assert body["ok"] is True
    key = next(p for p in body["plugin"]["parameters"] if p["key"] == "OPENAI_API_KEY")
    assert key["isSet"] is True
    mask = key["currentValue"]
    assert mask == OPENAI_SECRET[:3] + "****..." + OPENAI_SECRET[-4:]

    for session in (admin, reader):
        for path in ("/api/plugins", "/api/plugins/openai", "/api/settings"):
            text = session.get(path).text
            assert OPENAI_SECRET not in text and NPM_TOKEN_SECRET not in text, path

    # Sending the mask back keeps the stored secret.
    r = admin.put("/api/plugins/openai", json={"config": {"OPENAI_API_KEY": mask}})
    assert r.status_code == 200
    assert OPENAI_SECRET in (stack.stateDir / "milady.json").read_text()

    # null clears it.
    r = admin.put("/api/plugins/openai", json={"config": {"OPENAI_API_KEY": None}})
    assert r.status_code == 200
    key = next(p for p in r.json()["plugin"]["parameters"] if p["key"] == "OPENAI_API_KEY")
    assert key["isSet"] is False and key["currentValue"] is None
    assert OPENAI_SECRET not in (stack.stateDir / "milady.json").read_text()
    log = caught_up_log(stack)
    assert OPENAI_SECRET not in log
    # The retired value is scrubbed from the runtime's words from memory only: never in the database (issue 16).
    for name in ("state.db", "state.db-wal"):
        path = stack.stateDir / name
        if path.exists():
            assert OPENAI_SECRET.encode() not in path.read_bytes(), name


def test_values_are_stored_in_canonical_form(admin):
    r = admin.put("/api/plugins/openai", json={"config": {"OPENAI_EMBEDDING_DIMENSIONS": 1024.0,
                                                         "OPENAI_EXPERIMENTAL_TELEMETRY": "TRUE"}})
    assert r.status_code == 200, r.text
    params = {p["key"]: p for p in r.json()["plugin"]["parameters"]}
    assert params["OPENAI_EMBEDDING_DIMENSIONS"]["currentValue"] == "1024"
    assert params["OPENAI_EXPERIMENTAL_TELEMETRY"]["currentValue"] == "true"
    r = admin.put("/api/plugins/openai", json={"config": {"OPENAI_EMBEDDING_DIMENSIONS": "", "OPENAI_EXPERIMENTAL_TELEMETRY": None}})
    assert r.status_code == 200


def test_enabling_a_plugin_schedules_a_restart(admin):
    r = admin.put("/api/plugins/anthropic", json={"enabled": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["plugin"]["enabled"] is True
    assert body["requiresRestart"] is True
    assert "anthropic" in body["affectedPlugins"]
    assert plugin(admin, "anthropic")["enabled"] is True
    assert any(p["id"] == "anthropic" for p in admin.get("/api/plugins?enabled=true").json()["plugins"])
    runtime = admin.get("/api/runtime").json()
    assert runtime["pendingRestart"] is True
    assert any("anthropic" in reason for reason in runtime["pendingRestartReasons"])

    again = admin.put("/api/plugins/anthropic", json={"enabled": True}).json()
    assert again["requiresRestart"] is False, "no change, no restart"
    off = admin.put("/api/plugins/anthropic", json={"enabled": False}).json()
    assert off["plugin"]["enabled"] is False and off["requiresRestart"] is True


def test_changes_keep_the_rest_of_the_agent_config(stack, admin):
    admin.put("/api/plugins/openai", json={"config": {"OPENAI_SMALL_MODEL": "gpt-e2e"}})
    path = stack.stateDir / "milady.json"
    text = path.read_text()
    assert '"OPENAI_SMALL_MODEL"' in text
    # Readable by the agent runtime's group only (it runs as its own user, issue 16), writable by plugind only.
    import grp
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert os.stat(path).st_gid == grp.getgrnam("plugind").gr_gid
    assert json.loads(text)["env"]["OPENAI_SMALL_MODEL"] == "gpt-e2e"
    admin.put("/api/plugins/openai", json={"config": {"OPENAI_SMALL_MODEL": None}})


# --- core -----------------------------------------------------------------------------------------


def test_core_status_lists_short_ids(reader):
    body = reader.get("/api/core/status").json()
    assert body["available"] is True
    assert "sql" in body["corePlugins"]
    assert "vision" in body["optionalCorePlugins"]
    assert not set(body["corePlugins"]) & set(body["optionalCorePlugins"])


def test_core_list_and_toggle(admin, reader):
    core = reader.get("/api/plugins/core").json()
    assert {c["name"] for c in core["core"]} >= {"sql", "knowledge"}
    assert all(c["npmName"].startswith("@elizaos/plugin-") for c in core["core"] + core["optionalCore"])
    assert len(core["core"]) == 18 and len(core["optionalCore"]) == 14

    error(reader.post("/api/plugins/core/toggle", json={"name": "edge-tts", "enabled": True}), 403)

    r = admin.post("/api/plugins/core/toggle", json={"name": "edge-tts", "enabled": True})
    assert r.status_code == 200, r.text
    # `restarting` and `message` are Milady's (docs/milady-compatibility.md); this stack restarts the agent itself.
    assert r.json() == {"ok": True, "requiresRestart": True, "restarting": True, "message": "edge-tts enabled; the agent restarts to apply it."}
    assert admin.post("/api/plugins/core/toggle", json={"npmName": "@elizaos/plugin-edge-tts", "enabled": True}).json() == {
        "ok": True, "requiresRestart": False, "restarting": False, "message": "edge-tts was already enabled."}
    listed = {c["name"]: c for c in reader.get("/api/plugins/core").json()["optionalCore"]}
    assert listed["edge-tts"]["enabled"] is True
    assert plugin(reader, "edge-tts")["enabled"] is True, "/api/plugins and /api/plugins/core agree"
    assert admin.post("/api/plugins/core/toggle", json={"name": "edge-tts", "enabled": False}).json()["requiresRestart"] is True
    assert plugin(reader, "edge-tts")["enabled"] is False


@pytest.mark.parametrize(
    "body,status",
    [
        ({"name": "sql", "enabled": False}, 400),
        ({"name": "sql", "enabled": True}, 400),
        ({"enabled": True}, 400),
        ({"name": "edge-tts"}, 400),
        ({"name": "edge-tts", "enabled": "yes"}, 400),
        ({"name": "edge-tts", "enabled": True, "extra": 1}, 400),
        ({"name": "no-such-core-plugin", "enabled": True}, 404),
    ],
    ids=["core-off", "core-on", "no-name", "no-enabled", "enabled-not-bool", "unknown-field", "unknown"],
)
def test_bad_toggles(stack, admin, body, status):
    before = config_digest(stack)
    error(admin.post("/api/plugins/core/toggle", json=body), status)
    assert config_digest(stack) == before


# --- runtime ----------------------------------------------------------------------------------------


def test_runtime_without_a_bridge(reader):
    body = reader.get("/api/runtime").json()
    assert body["state"] is None or isinstance(body["state"], str)
    assert isinstance(body["pendingRestartReasons"], list)
    assert body["pendingRestart"] == bool(body["pendingRestartReasons"])
    assert re.match(r"^\w", reader.get("/api/runtime").headers["X-Request-Id"])


def _no_runtime_answers(session) -> bool:
    state = session.get("/api/runtime").json()["state"]
    return state is None or state == "unreachable"


def test_runtime_reports_its_fields(reader):
    body = reader.get("/api/runtime").json()
    if not body["attached"]:
        assert body["state"] is None and body["pid"] is None


# POST /api/plugins/:id/test and POST /api/runtime/restart without a runtime: test_plugins_milady.py
# (its stack has PLUGIND_RUNTIME_BRIDGE=none); with the agent host: test_runtime_host.py.
