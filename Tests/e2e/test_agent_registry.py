"""Registering the agent with an agent registry, end to end (issue 8, contract section 8,
`docs/agent-registry.md`): the dev stack (nginx + plugind) against `FakeAgentRegistry` on loopback.

Three kinds of stack:

- `main_stack` (autoRegister off, no publicUri, the default 5-minute interval): the requests —
  status, config, register, update-uri, sync — in order, from "not registered" to registered, and
  every way the registry can fail (500, slow, down, garbage, an error that echoes the secret, an
  agent it forgot). The tests of this part run in file order: registering cannot be undone.
- `test_restart_keeps_the_registration`: a stack with `publicUri` set, registered without a body,
  then a second stack on the same state directory.
- `auto_stack` (autoRegister on, publicUri set, a 1-second interval): the background heartbeat — its
  rate, back-off while the registry fails and recovery, re-registration after a `404`, and a
  second plugind process on the same state directory that must not start a second stream.

Every response is checked against docs/openapi.yaml by the sessions, and recorded so that the tests
can show that no secret the fake issued ever came back (nor reached plugind's log). Waits are
bounded; rates are checked with generous bounds, never tight timings.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import _run_stack
from fake_agent_registry import FakeAgentRegistry
from helpers import Process, caught_up_log, plugind_binary, wait_until

TIMEOUTS = {"PLUGIND_TIMEOUT_FETCH_MS": "1500", "PLUGIND_TIMEOUT_CONNECT_MS": "1000"}
AUTO_URI = "https://agent.example"
CONFIGURED_URI = "https://configured.example/agent"

# Every response body any session of this module received (the secret check reads them).
BODIES: list[bytes] = []


def stack_env(fake: FakeAgentRegistry, **extra: str) -> dict[str, str]:
    return {"PLUGIND_AGENT_REGISTRY_URL": fake.url, "PLUGIND_RUNTIME_BRIDGE": "none", **TIMEOUTS, **extra}


def run_stack(*args, **kwargs):
    return contextlib.contextmanager(_run_stack)(*args, **kwargs)


@contextlib.contextmanager
def session(stack, token):
    with stack.client(token) as s:
        s.hooks["response"].append(lambda response, *a, **k: BODIES.append(response.content))
        yield s


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def status_of(s) -> dict:
    r = s.get("/api/registry/status")
    assert r.status_code == 200, r.text
    return r.json()


def eventually(s, predicate, timeout: float, what: str) -> dict:
    """Polls the status until `predicate(status)` holds; returns that status."""
    last = {}

    def check():
        nonlocal last
        last = status_of(s)
        return predicate(last)

    try:
        wait_until(check, timeout, what, interval=0.2)
    except TimeoutError as error:
        raise AssertionError(f"{error}; last status: {last}") from None
    return last


def assert_no_secret_shown(fake: FakeAgentRegistry, stack, extra_logs: list[Path] = ()) -> None:
    """No secret the fake issued appears in a response body this module received, nor in any log."""
    assert fake.secrets, "the fake issued no secret: nothing was registered"
    caught_up_log(stack)
    state_dir = stack.stateDir
    logs = [p for p in (state_dir / "logs").glob("*") if p.is_file()] + list(extra_logs)
    texts = {str(p): p.read_bytes() for p in logs}
    assert any(b"agent registry" in t for t in texts.values()), f"plugind logged nothing about the agent registry in {list(texts)}"
    for secret in fake.secrets:
        token = secret.encode()
        assert not any(token in body for body in BODIES), "a response body carried the agent's secret"
        for name, text in texts.items():
            assert token not in text, f"{name} carries the agent's secret"


def ensure_registered(s) -> dict:
    """The main stack's tests after `test_register_with_a_uri` need a registration; run alone (`-k`) they make one."""
    status = status_of(s)
    if not status["registered"]:
        r = s.post("/api/registry/register", json={"uri": "https://given.example/agent"})
        assert r.status_code == 200, r.text
        status = status_of(s)
    return status


def heartbeat_body_is_complete(body: dict, *, name: str, uri: str | None, version: str) -> None:
    assert body["name"] == name
    assert body["uri"] == uri
    assert body["version"] == version
    assert body["runtime"] == {"state": "none"}  # PLUGIND_RUNTIME_BRIDGE=none
    assert isinstance(body["plugins"], list) and body["plugins"], body
    for plugin in body["plugins"]:
        assert set(plugin) == {"name", "version", "installed", "enabled", "loaded"}, plugin
        assert plugin["loaded"] is False  # no runtime attached


# --- the main stack: requests -------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake():
    with FakeAgentRegistry() as registry:
        yield registry


@pytest.fixture(scope="module")
def main_stack(fake):
    yield from _run_stack(stack_env(fake, PLUGIND_AGENT_NAME="e2e-main"))


@pytest.fixture
def admin(main_stack, fake):
    fake.reset()
    with session(main_stack, main_stack.adminToken) as s:
        yield s
    fake.reset()
    fake.up()


@pytest.fixture
def reader(main_stack):
    with session(main_stack, main_stack.readToken) as s:
        yield s


@pytest.fixture(scope="module")
def version(main_stack):
    with session(main_stack, None) as s:
        return s.get("/api/health").json()["version"]


def test_config_and_settings_show_the_registry_settings(reader, fake):
    r = reader.get("/api/registry/config")
    assert r.status_code == 200
    assert r.json() == {
        "registryUrl": fake.url, "autoRegister": False, "syncInterval": 300000, "agentName": "e2e-main", "publicUri": None,
    }
    settings = reader.get("/api/settings").json()["settings"]
    assert settings["agentRegistryUrl"] == fake.url
    assert (settings["autoRegister"], settings["syncIntervalMs"], settings["agentName"], settings["publicUri"]) == (
        False, 300000, "e2e-main", None)


def test_not_registered_at_first(reader, fake):
    assert status_of(reader) == {
        "registered": False, "agentId": None, "registryUrl": fake.url, "uri": None, "lastSyncAt": None,
        "lastError": None, "nextSyncAt": None,
    }
    assert fake.requests == [], "autoRegister is off: plugind must not call the registry by itself"


def test_register_without_any_uri_is_409(admin, fake):
    for kwargs in ({}, {"json": {}}):
        r = admin.post("/api/registry/register", **kwargs)
        assert r.status_code == 409, r.text
        assert "URI" in r.json()["error"]
    assert admin.post("/api/registry/sync").status_code == 409
    assert fake.requests == []
    assert status_of(admin)["registered"] is False


@pytest.mark.parametrize(
    "uri,leak",
    [
        ("/relative/path", None),
        ("agent.example.com", None),
        ("javascript:alert(1)", "alert(1)"),
        ("data:text/html,<b>hi</b>", "<b>hi</b>"),
        ("ftp://files.example.com/", None),
        ("https://user:hunter2@agent.example.com/", "hunter2"),
        ("", None),
    ],
)
def test_update_uri_refuses_what_is_not_an_absolute_http_url(admin, fake, uri, leak):
    r = admin.post("/api/registry/update-uri", json={"uri": uri})
    assert r.status_code == 400, r.text
    if leak:
        assert leak not in r.json()["error"]
    assert admin.post("/api/registry/register", json={"uri": uri}).status_code == 400
    assert fake.requests == []
    assert status_of(admin)["uri"] is None


def test_update_uri_needs_a_uri(admin):
    for body in ({}, {"uri": 42}, {"uri": "https://a.example", "extra": 1}):
        assert admin.post("/api/registry/update-uri", json=body).status_code == 400


def test_a_body_that_is_not_json_is_415(admin, fake):
    for path in ("/api/registry/register", "/api/registry/update-uri"):
        r = admin.post(path, data="uri=https://a.example/", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 415, f"{path}: {r.status_code} {r.text}"
    assert fake.requests == []


def test_update_uri_before_registering_only_stores_it(admin, fake):
    r = admin.post("/api/registry/update-uri", json={"uri": "https://stored.example/agent"})
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "registered": False}
    status = status_of(admin)
    assert (status["registered"], status["uri"], status["agentId"]) == (False, "https://stored.example/agent", None)
    assert fake.requests == [], "not registered: the registry hears nothing"


def test_register_with_a_uri(admin, fake, version):
    before = now_utc()
    r = admin.post("/api/registry/register", json={"uri": "https://given.example/agent"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True
    agent_id = body["agentId"]
    assert agent_id in fake.agent_ids()
    [registration] = fake.registrations()
    assert registration.status == 201
    assert "authorization" not in registration.headers
    assert registration.headers["content-type"].startswith("application/json")
    heartbeat_body_is_complete(registration.body, name="e2e-main", uri="https://given.example/agent", version=version)

    status = status_of(admin)
    assert status["registered"] is True and status["agentId"] == agent_id
    assert status["uri"] == "https://given.example/agent", "the given URI wins over the stored one and is kept"
    assert status["lastError"] is None
    assert when(status["lastSyncAt"]) >= before.replace(microsecond=0)
    assert when(status["nextSyncAt"]) > when(status["lastSyncAt"])  # the heartbeat interval (5 min) from now


def test_register_again_is_idempotent(admin, fake):
    agent_id = ensure_registered(admin)["agentId"]
    admin.post("/api/registry/update-uri", json={"uri": "https://given.example/agent"})
    start = time.monotonic()
    for kwargs in ({}, {"json": {}}, {"json": {"uri": "https://given.example/agent"}}):
        r = admin.post("/api/registry/register", **kwargs)
        assert r.status_code == 200, r.text
        assert r.json() == {"ok": True, "agentId": agent_id}
    assert fake.seen(start) == [], "already registered with this URI: no registry call"

    # A different URI is sent the way update-uri sends it; still the same agent.
    r = admin.post("/api/registry/register", json={"uri": "https://other.example/agent"})
    assert r.json() == {"ok": True, "agentId": agent_id}
    assert [(u.method, u.body) for u in fake.seen(start)] == [("PUT", {"uri": "https://other.example/agent"})]
    assert status_of(admin)["uri"] == "https://other.example/agent"
    assert fake.registrations(start) == []


def test_update_uri_when_registered_goes_to_the_registry(admin, fake):
    agent_id = ensure_registered(admin)["agentId"]
    secret = fake.agents[agent_id].secret
    start = time.monotonic()
    r = admin.post("/api/registry/update-uri", json={"uri": "https://new.example/agent"})
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "registered": True}
    [update] = fake.updates(start)
    assert update.path == f"/v1/agents/{agent_id}"
    assert update.headers["authorization"] == f"Bearer {secret}"
    assert update.body == {"uri": "https://new.example/agent"} and update.status == 200
    assert fake.agents[agent_id].uri == "https://new.example/agent"
    assert status_of(admin)["uri"] == "https://new.example/agent"

    # Refused by the registry: 502 with its message, nothing stored.
    fake.set("fail", status=500)
    r = admin.post("/api/registry/update-uri", json={"uri": "https://refused.example/agent"})
    assert r.status_code == 502, r.text
    assert "down for maintenance" in r.json()["error"]
    status = status_of(admin)
    assert status["uri"] == "https://new.example/agent", "a URI the registry refused must not be stored"
    assert "down for maintenance" in status["lastError"]
    fake.reset()
    assert admin.post("/api/registry/sync").status_code == 200
    assert status_of(admin)["lastError"] is None


def test_sync_sends_the_heartbeat(admin, fake, version):
    status = ensure_registered(admin)
    agent_id, uri, before = status["agentId"], status["uri"], status["lastSyncAt"]
    time.sleep(1.1)  # lastSyncAt has a resolution of a second
    start = time.monotonic()
    r = admin.post("/api/registry/sync")
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True}
    [heartbeat] = fake.heartbeats(start)
    assert heartbeat.path == f"/v1/agents/{agent_id}/heartbeat" and heartbeat.status == 200
    assert heartbeat.headers["authorization"] == f"Bearer {fake.agents[agent_id].secret}"
    heartbeat_body_is_complete(heartbeat.body, name="e2e-main", uri=uri, version=version)

    # The plugin list is what GET /api/plugins shows: every installed or enabled plugin, by npm name.
    plugins = admin.get("/api/plugins").json()["plugins"]
    enabled = {p["npmName"] for p in plugins if p["enabled"] and p["npmName"]}
    sent = {p["name"]: p for p in heartbeat.body["plugins"]}
    assert {name for name, p in sent.items() if p["enabled"]} == enabled
    for plugin in plugins:
        if plugin["npmName"] in sent:
            assert sent[plugin["npmName"]]["version"] == plugin["version"]

    status = status_of(admin)
    assert when(status["lastSyncAt"]) > when(before)
    assert status["lastError"] is None


def test_sync_when_the_registry_fails(admin, fake):
    ensure_registered(admin)
    start = time.monotonic()
    fake.set("fail", status=500)
    r = admin.post("/api/registry/sync")
    assert r.status_code == 502
    assert "HTTP 500" in r.json()["error"] and "down for maintenance" in r.json()["error"]
    assert "down for maintenance" in status_of(admin)["lastError"]

    fake.set("garbage")
    r = admin.post("/api/registry/sync")
    assert r.status_code == 502
    assert "JSON" in r.json()["error"]

    fake.reset()
    fake.down()  # connection refused
    r = admin.post("/api/registry/sync")
    assert r.status_code == 502, r.text
    assert status_of(admin)["lastError"]
    fake.up()

    fake.set("slow", delay=8)  # past PLUGIND_TIMEOUT_FETCH_MS=1500
    t = time.monotonic()
    r = admin.post("/api/registry/sync", timeout=30)
    assert r.status_code == 504, r.text
    assert time.monotonic() - t < 8, "the fetch timeout (1.5 s) must end the call, not the registry"
    assert status_of(admin)["lastError"]

    fake.reset()
    assert admin.post("/api/registry/sync").status_code == 200
    status = status_of(admin)
    assert status["lastError"] is None and status["registered"] is True
    assert fake.registrations(start) == [], "failures that are not 401/404 never lead to a new registration"


def test_registry_errors_that_echo_the_secret_are_scrubbed(admin, fake):
    agent_id = ensure_registered(admin)["agentId"]
    secret = fake.agents[agent_id].secret
    fake.set("echo", status=403)
    for path, body in (("/api/registry/sync", None), ("/api/registry/update-uri", {"uri": "https://echo.example/"})):
        r = admin.post(path, json=body)
        assert r.status_code == 502, r.text
        assert "token rejected" in r.json()["error"]
        assert secret not in r.text
    assert secret not in json.dumps(status_of(admin))
    assert status_of(admin)["agentId"] == agent_id, "a 403 is a refusal, never a reason to register again"


def test_sync_after_the_registry_forgot_the_agent_registers_again(admin, fake):
    status = ensure_registered(admin)
    old, uri = status["agentId"], status["uri"]
    fake.forget_all()
    start = time.monotonic()
    r = admin.post("/api/registry/sync")
    assert r.status_code == 200, r.text
    calls = fake.seen(start)
    assert [(c.method, c.status) for c in calls] == [("POST", 404), ("POST", 201)]
    assert calls[0].agent_id == old and calls[1].is_register
    assert calls[1].body["uri"] == uri
    status = status_of(admin)
    assert status["registered"] is True and status["agentId"] != old and status["agentId"] in fake.agent_ids()

    # update-uri on a forgotten agent registers again too, with the new URI.
    newer = status["agentId"]
    fake.forget_all()
    start = time.monotonic()
    r = admin.post("/api/registry/update-uri", json={"uri": "https://after-forget.example/"})
    assert r.json() == {"ok": True, "registered": True}
    calls = fake.seen(start)
    assert [(c.method, c.status) for c in calls] == [("PUT", 404), ("POST", 201)]
    assert calls[1].body["uri"] == "https://after-forget.example/"
    status = status_of(admin)
    assert status["agentId"] not in (old, newer) and status["uri"] == "https://after-forget.example/"


def test_a_read_token_cannot_change_anything(reader, fake):
    start = time.monotonic()
    changes = (("/api/registry/register", {"uri": "https://x.example/"}), ("/api/registry/update-uri", {"uri": "https://x.example/"}),
               ("/api/registry/sync", None))
    for path, body in changes:
        r = reader.post(path, json=body)
        assert r.status_code == 403, f"{path}: {r.status_code} {r.text}"
    assert reader.get("/api/registry/status").status_code == 200
    assert reader.get("/api/registry/config").status_code == 200
    for path in ("status", "config", "register", "update-uri", "sync"):
        r = reader.options(f"/api/registry/{path}")
        assert r.status_code == 204 and r.headers["Allow"]
    assert fake.seen(start) == []


def test_no_token_gets_401(main_stack):
    with session(main_stack, None) as anon:
        for method, path in (("GET", "status"), ("GET", "config"), ("POST", "register"), ("POST", "update-uri"), ("POST", "sync")):
            assert anon.request(method, f"/api/registry/{path}").status_code == 401


def test_the_secret_is_never_shown(admin, reader, fake, main_stack):
    ensure_registered(admin)
    for s in (admin, reader):
        for path in ("/api/registry/status", "/api/registry/config", "/api/settings"):
            assert s.get(path).status_code == 200
    assert_no_secret_shown(fake, main_stack)


# --- a restart --------------------------------------------------------------------------------------


def test_restart_keeps_the_registration(tmp_path):
    state = tmp_path / "state"
    with FakeAgentRegistry() as registry:
        env = stack_env(registry, PLUGIND_PUBLIC_URI=CONFIGURED_URI, PLUGIND_AGENT_NAME="e2e-restart")
        with run_stack(env, state_dir=state) as first, session(first, first.adminToken) as s:
            assert s.get("/api/registry/config").json()["publicUri"] == CONFIGURED_URI
            version = s.get("/api/health").json()["version"]
            status = status_of(s)
            assert (status["registered"], status["uri"]) == (False, CONFIGURED_URI)
            # A registration answer that is not usable registers nothing.
            for mode in ("garbage", "bad-credentials"):
                registry.set(mode)
                r = s.post("/api/registry/register")
                assert r.status_code == 502, r.text
                assert status_of(s)["registered"] is False
            registry.set("fail", status=422)
            r = s.post("/api/registry/register")
            assert r.status_code == 502 and "HTTP 422" in r.json()["error"]
            registry.reset()
            registering = time.monotonic()
            # No URI given or stored: the publicUri setting is used.
            r = s.post("/api/registry/register")
            assert r.status_code == 200, r.text
            agent_id = r.json()["agentId"]
            [registration] = registry.registrations(registering)
            heartbeat_body_is_complete(registration.body, name="e2e-restart", uri=CONFIGURED_URI, version=version)
            assert s.post("/api/registry/sync").status_code == 200
            synced = status_of(s)["lastSyncAt"]

        with run_stack(env, state_dir=state) as second, session(second, second.adminToken) as s:
            status = status_of(s)
            assert status["registered"] is True and status["agentId"] == agent_id
            assert status["uri"] == CONFIGURED_URI and status["lastSyncAt"] == synced
            start = time.monotonic()
            assert s.post("/api/registry/sync").status_code == 200
            [heartbeat] = registry.heartbeats(start)
            assert heartbeat.agent_id == agent_id and heartbeat.status == 200, "the stored secret still works"
            assert s.post("/api/registry/register").json() == {"ok": True, "agentId": agent_id}
            assert len(registry.registrations(registering)) == 1
            assert_no_secret_shown(registry, second)


# --- the background heartbeat -------------------------------------------------------------------


@pytest.fixture(scope="module")
def auto_fake():
    with FakeAgentRegistry() as registry:
        yield registry


def auto_env(registry: FakeAgentRegistry) -> dict[str, str]:
    return stack_env(registry, PLUGIND_AUTO_REGISTER="true", PLUGIND_SYNC_INTERVAL_MS="1000", PLUGIND_PUBLIC_URI=AUTO_URI,
                     PLUGIND_AGENT_NAME="e2e-auto")


@pytest.fixture(scope="module")
def auto_stack(auto_fake):
    yield from _run_stack(auto_env(auto_fake))


@pytest.fixture
def auto(auto_stack, auto_fake):
    auto_fake.reset()
    with session(auto_stack, auto_stack.adminToken) as s:
        yield s
    auto_fake.reset()


def registered(s, timeout: float = 20) -> dict:
    return eventually(s, lambda st: st["registered"] and st["lastError"] is None, timeout, "a registration")


def test_auto_register_uses_the_public_uri_and_heartbeats_at_the_interval(auto, auto_fake):
    version = auto.get("/api/health").json()["version"]
    status = registered(auto)
    assert status["uri"] == AUTO_URI and status["nextSyncAt"] is not None
    config = auto.get("/api/registry/config").json()
    assert config == {"registryUrl": auto_fake.url, "autoRegister": True, "syncInterval": 1000, "agentName": "e2e-auto",
                      "publicUri": AUTO_URI}
    registration = auto_fake.registrations()[0]
    heartbeat_body_is_complete(registration.body, name="e2e-auto", uri=AUTO_URI, version=version)
    # Idempotent through the API too.
    assert auto.post("/api/registry/register").json() == {"ok": True, "agentId": status["agentId"]}

    start = time.monotonic()
    time.sleep(6)
    beats = auto_fake.heartbeats(start)
    # One a second would be about 6; allow for scheduling and slow machines, refuse a silent or runaway loop.
    assert 3 <= len(beats) <= 9, f"{len(beats)} heartbeats in 6 s with syncIntervalMs=1000"
    assert all(b.agent_id == status["agentId"] and b.status == 200 for b in beats)
    heartbeat_body_is_complete(beats[-1].body, name="e2e-auto", uri=AUTO_URI, version=version)
    assert len(auto_fake.registrations()) == 1


def test_two_processes_on_one_state_directory_send_one_stream(auto, auto_fake, auto_stack, tmp_path):
    agent_id = registered(auto)["agentId"]
    env = dict(os.environ)
    env.update(auto_env(auto_fake))
    socket = tmp_path / "second.sock"
    log = tmp_path / "second.log"
    second = Process([plugind_binary(), "serve", "--state-dir", auto_stack.stateDir, "--socket", socket], log_path=log, env=env)
    try:
        wait_until(lambda: socket.exists() or not second.alive(), 20, "the second plugind's socket")
        assert second.alive(), second.output()[-3000:]
        start = time.monotonic()
        time.sleep(8)
        assert second.alive(), second.output()[-3000:]
        beats = auto_fake.heartbeats(start)
        # One stream: about 8. Two would be about 16.
        assert 3 <= len(beats) <= 12, f"{len(beats)} heartbeats in 8 s from two processes with syncIntervalMs=1000"
        assert {b.agent_id for b in beats} == {agent_id}
        assert auto_fake.registrations(start) == [], "the second process must not register the agent again"
        assert second.stop(signal.SIGTERM, timeout=30) == 0, second.output()[-3000:]
    finally:
        if second.alive():
            second.kill()
    # The stack's process goes on alone.
    start = time.monotonic()
    wait_until(lambda: len(auto_fake.heartbeats(start, accepted=True)) >= 2, 15, "heartbeats after the second process stopped")
    assert_no_secret_shown(auto_fake, auto_stack, extra_logs=[log])


def test_backoff_while_the_registry_fails_and_recovery(auto, auto_fake):
    registered(auto)
    start = time.monotonic()
    auto_fake.set("fail", status=500)
    status = eventually(auto, lambda st: st["lastError"] is not None, 10, "the first failed heartbeat")
    assert "down for maintenance" in status["lastError"] and status["nextSyncAt"] is not None
    time.sleep(max(0.0, start + 8 - time.monotonic()))
    attempts = auto_fake.seen(start, lambda r: r.status == 500)
    # At the interval there would be about 8 attempts in 8 s; backing off (1-2 s, 2-4 s, 4-8 s) leaves at most 4.
    assert 1 <= len(attempts) <= 5, f"{len(attempts)} attempts in 8 s while the registry answered 500"
    assert auto_fake.registrations(start) == [], "a 500 is no reason to register again"
    assert status_of(auto)["registered"] is True

    auto_fake.reset()
    recovered = time.monotonic()
    wait_until(lambda: auto_fake.heartbeats(recovered, accepted=True), 30, "a heartbeat after the registry came back")
    eventually(auto, lambda st: st["lastError"] is None, 10, "lastError to clear")
    t = time.monotonic()
    time.sleep(4)
    resumed = auto_fake.heartbeats(t, accepted=True)
    assert len(resumed) >= 2, f"only {len(resumed)} heartbeats in 4 s after recovery: the regular interval should resume"


def test_reregisters_after_the_registry_forgets_the_agent(auto, auto_fake, auto_stack):
    old = registered(auto)["agentId"]
    start = time.monotonic()
    auto_fake.forget_all()
    status = eventually(auto, lambda st: st["registered"] and st["agentId"] not in (None, old), 15, "a new registration")
    assert status["lastError"] is None
    assert any(r.agent_id == old and r.status == 404 for r in auto_fake.heartbeats(start))
    [registration] = auto_fake.registrations(start)
    assert registration.body["uri"] == AUTO_URI
    new = status["agentId"]
    wait_until(lambda: auto_fake.heartbeats(start, agent_id=new, accepted=True), 10, "heartbeats of the new agent id")
    assert_no_secret_shown(auto_fake, auto_stack)

