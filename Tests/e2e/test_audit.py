"""The audit trail (issue 22): every changing request that passed the gates leaves exactly one entry,
with who asked (role, token id and label), the request id, the route's pattern, the target, the
status and the names it changed; never a value; refused requests leave none. `GET /api/audit`
(admin) pages through it. Retention prunes by age and by count. A SIGKILL between an entry's intent
and the agent config write, or between the write and the entry's completion, recovers to a config
and a trail that agree.

The route walk goes through nginx (`scripts/run`, a fake npm registry for installs); the crash and
retention tests run plugind themselves on FastCGI (test_faults.py's `Plugind`), so a SIGKILL is
plugind's alone and a restart costs a fifth of a second.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fcgi_client as fcgi  # noqa: E402
from conftest import _run_stack, get_checker  # noqa: E402
from fake_npm import FakeNpm  # noqa: E402
from helpers import SPEC_PATH, plugind_binary, wait_until  # noqa: E402
from test_faults import (  # noqa: E402,F401  (fixtures used by name)
    HAND_WRITTEN,
    KEY_A,
    KEY_B,
    PLUGIN,
    Plugind,
    base_dir,
    plugind_factory,
    write_body,
    written_state,
)

PACKAGE = "@e2e-audit/plugin-ledger"
IN_PATH = PACKAGE.replace("/", "%2F")  # `:id` as a path segment
PARAMETERS = {
    "LEDGER_API_KEY": {"type": "string", "description": "The ledger's key.", "required": False, "sensitive": True},
    "LEDGER_MODE": {"type": "string", "description": "How it runs.", "required": False},
}
# Values PUT in this file: none may ever appear in an audit answer or in state.db.
SECRETS = ["sk-ledger-first-secret-7f3a9c", "sk-ledger-second-secret-1b8e44", "plain-mode-value-d41d8c",
           "matrix-user-secret-value-0aa1", "matrix-device-secret-value-77c2"]
MUTATING = ("post", "put", "patch", "delete")


def run_cli(cli: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(cli), *args], capture_output=True, text=True, timeout=60)


def token_ids(cli_args: list[str]) -> dict[str, tuple[str, str]]:
    """`plugind token list`: label → (id, role)."""
    result = subprocess.run([*cli_args, "token", "list"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    found = {}
    for line in result.stdout.splitlines():
        token_id, role, label = line.split("\t")
        assert re.fullmatch(r"tok_[0-9a-f]{12}", token_id), line
        found[label] = (token_id, role)
    return found


def all_entries(get) -> list[dict]:
    """Every entry, page by page (`get(query)` answers the JSON of GET /api/audit?query)."""
    entries, cursor = [], None
    while True:
        page = get("limit=500" + (f"&cursor={cursor}" if cursor else ""))
        entries += page["entries"]
        cursor = page["nextCursor"]
        if cursor is None:
            return entries


def changing_routes() -> set[tuple[str, str]]:
    """(METHOD, /api/pattern with :params) of every changing route docs/openapi.yaml lists."""
    spec = yaml.safe_load(Path(SPEC_PATH).read_text())
    routes = set()
    for path, item in spec["paths"].items():
        for method in item:
            if method in MUTATING:
                routes.add((method.upper(), re.sub(r"\{([^}]+)\}", r":\1", path)))
    return routes


# --- every changing route, through nginx -------------------------------------------------------------


@pytest.fixture(scope="module")
def fake():
    with FakeNpm(hang_seconds=60) as registry:
        for version in ("1.0.0", "2.0.0"):
            registry.publish(PACKAGE, version, parameters=PARAMETERS)
        registry.list(PACKAGE, "2.0.0")
        yield registry


@pytest.fixture(scope="module")
def audit_stack(fake):
    yield from _run_stack({"PLUGIND_NPM_REGISTRY": fake.base, "PLUGIND_PLUGIN_REGISTRY_URLS": fake.registry_url,
                           "PLUGIND_RUNTIME_BRIDGE": "none", "PLUGIND_AGENT_REGISTRY_URL": "http://127.0.0.1:9",
                           "PLUGIND_TIMEOUT_CONNECT_MS": "1000", "PLUGIND_TIMEOUT_FETCH_MS": "3000"})


@pytest.fixture(scope="module")
def cli(audit_stack) -> Path:
    return Path(json.loads((audit_stack.stateDir / "run.json").read_text())["cli"])


def test_every_changing_route_leaves_exactly_one_entry(audit_stack, cli):
    """Each changing route of docs/openapi.yaml, driven with an admin token labelled `ci`: exactly one
    entry per request, carrying the token's id and label, the `X-Request-Id` the client saw, the route's
    pattern, the target, the status answered and the names it changed. Requests refused at the gates
    leave none. No value PUT appears in any audit answer or in state.db's bytes."""
    made = run_cli(cli, "token", "create", "--role", "admin", "--label", "ci")
    assert made.returncode == 0, made.stderr
    ci = audit_stack.client(made.stdout.strip())
    ids = token_ids([str(cli)])
    assert ids["ci"][1] == "admin" and ids["dev-admin"][1] == "admin" and ids["dev-read"][1] == "read", ids

    sent: list[tuple[str, str, int, str]] = []  # (method, route pattern, status, request id)

    def call(method: str, route: str, path: str, body: dict | None = None, expected: int | tuple = 200):
        r = ci.request(method, "/api" + path, json=body)
        wanted = expected if isinstance(expected, tuple) else (expected,)
        assert r.status_code in wanted, f"{method} {path}: {r.status_code} {r.text[:400]}"
        sent.append((method, route, r.status_code, r.headers["X-Request-Id"]))
        return r

    call("POST", "/api/plugins/install", "/plugins/install", {"name": PACKAGE, "version": "1.0.0"})
    call("PUT", "/api/plugins/:id", f"/plugins/{IN_PATH}", {"config": {"LEDGER_API_KEY": SECRETS[0], "LEDGER_MODE": SECRETS[2]}})
    call("PUT", "/api/plugins/:id", f"/plugins/{IN_PATH}", {"config": {"LEDGER_API_KEY": SECRETS[1]}})
    call("PUT", "/api/plugins/:id", f"/plugins/{IN_PATH}", {"config": {"LEDGER_API_KEY": None}, "enabled": False})
    call("PUT", "/api/plugins/:id", f"/plugins/{IN_PATH}", {"config": {"NOT_DECLARED": SECRETS[1]}}, 422)
    call("POST", "/api/plugins/install", "/plugins/install", {"name": PACKAGE, "version": "2.0.0"})
    call("POST", "/api/plugins/:id/rollback", f"/plugins/{IN_PATH}/rollback")
    call("POST", "/api/plugins/core/toggle", "/plugins/core/toggle", {"name": "browser", "enabled": True})
    call("POST", "/api/plugins/:id/test", f"/plugins/{IN_PATH}/test", expected=503)
    call("POST", "/api/plugins/:id/eject", f"/plugins/{IN_PATH}/eject", expected=(422, 502, 503, 504))
    call("POST", "/api/plugins/:id/sync", f"/plugins/{IN_PATH}/sync", expected=404)
    call("POST", "/api/plugins/:id/reinject", f"/plugins/{IN_PATH}/reinject", expected=404)
    call("POST", "/api/registry/refresh", "/registry/refresh")
    call("POST", "/api/registry/update-uri", "/registry/update-uri", {"uri": "https://agent.example.com"})
    call("POST", "/api/registry/register", "/registry/register", expected=(502, 503, 504))
    call("POST", "/api/registry/sync", "/registry/sync", expected=409)
    call("POST", "/api/runtime/restart", "/runtime/restart", expected=(200, 503))
    exported = ci.get("/api/manifest")
    assert exported.status_code == 200, exported.text
    call("POST", "/api/manifest/plan", "/manifest/plan", exported.json())
    call("POST", "/api/manifest/apply", "/manifest/apply", exported.json())
    call("POST", "/api/plugins/uninstall", "/plugins/uninstall", {"name": PACKAGE})
    assert changing_routes() <= {(m, r) for m, r, _, _ in sent}, "a changing route was not driven"

    # Refused at the gates: counted in the metrics, never audited.
    refused = [
        audit_stack.client(audit_stack.readToken).put(f"/api/plugins/{IN_PATH}", json={"enabled": True}),
        audit_stack.client().put(f"/api/plugins/{IN_PATH}", json={"enabled": True}),
        ci.put(f"/api/plugins/{IN_PATH}", json={"enabled": True}, headers={"Origin": "https://evil.example"}),
        ci.post("/api/no/such/route", json={}),
        ci.delete(f"/api/plugins/{IN_PATH}"),
        ci.put(f"/api/plugins/{IN_PATH}", json={"unknown": 1}),
        ci.put(f"/api/plugins/{IN_PATH}", data="x=1", headers={"Content-Type": "application/x-www-form-urlencoded"}),
    ]
    assert [r.status_code for r in refused] == [403, 401, 403, 404, 405, 400, 415]

    answer = ci.get("/api/audit?limit=500")
    assert answer.status_code == 200, answer.text
    for secret in SECRETS:
        assert secret not in answer.text
    entries = all_entries(lambda query: ci.get(f"/api/audit?{query}").json())
    by_request: dict[str, list[dict]] = {}
    for entry in entries:
        by_request.setdefault(entry["requestId"], []).append(entry)
    for r in refused:
        assert r.headers["X-Request-Id"] not in by_request, f"a refused request ({r.status_code}) was audited"
    for method, route, status, request_id in sent:
        found = by_request.get(request_id, [])
        assert len(found) == 1, f"{method} {route}: {len(found)} entries for request {request_id}"
        entry = found[0]
        assert (entry["method"], entry["route"], entry["status"]) == (method, route, status), entry
        assert (entry["role"], entry["tokenId"], entry["tokenLabel"]) == ("admin", ids["ci"][0], "ci"), entry
        if route.startswith("/api/plugins") and route != "/api/plugins/core/toggle":
            assert entry["target"] == PACKAGE, entry

    def changes(i: int) -> list[dict]:
        return by_request[sent[i][3]][0]["changes"]

    install, first, second, clear, refused_put, upgrade, rollback, toggle = (sent[i] for i in range(8))
    assert {"plugin": PACKAGE, "kind": "version", "from": None, "to": "1.0.0"} in changes(0)
    assert {"plugin": PACKAGE, "kind": "enabled", "from": False, "to": True} in changes(0)
    assert by_request[install[3]][0]["outcome"] == "succeeded" and by_request[install[3]][0]["operationId"]
    assert sorted((c["name"], c["action"]) for c in changes(1)) == [("LEDGER_API_KEY", "set"), ("LEDGER_MODE", "set")]
    assert changes(2) == [{"plugin": PACKAGE, "kind": "setting", "name": "LEDGER_API_KEY", "action": "changed"}]
    assert changes(3) == [{"plugin": PACKAGE, "kind": "setting", "name": "LEDGER_API_KEY", "action": "unset"},
                          {"plugin": PACKAGE, "kind": "enabled", "from": True, "to": False}]
    assert changes(4) == [] and by_request[refused_put[3]][0]["status"] == 422
    assert {"plugin": PACKAGE, "kind": "version", "from": "1.0.0", "to": "2.0.0"} in changes(5)
    assert {"plugin": PACKAGE, "kind": "version", "from": "2.0.0", "to": "1.0.0"} in changes(6)
    assert changes(7) == [{"plugin": "@elizaos/plugin-browser", "kind": "enabled", "from": False, "to": True}]
    assert {"plugin": PACKAGE, "kind": "version", "from": "1.0.0", "to": None} in changes(len(sent) - 1)
    refresh = next(by_request[s[3]][0] for s in sent if s[1] == "/api/registry/refresh")
    assert refresh["operationId"] and refresh["outcome"] == "succeeded" and refresh["target"] is None, refresh
    register = next(by_request[s[3]][0] for s in sent if s[1] == "/api/registry/register")
    assert register["target"] is None and register["changes"] == [] and register["outcome"] is None, register

    # The plugin filter, by npm name or id, and paging with a small limit.
    about = ci.get("/api/audit", params={"plugin": PACKAGE, "limit": 500}).json()["entries"]
    assert {e["requestId"] for e in about} >= {s[3] for s in sent if s[1].startswith("/api/plugins/") and s[1] != "/api/plugins/core/toggle"}
    paged = all_entries(lambda query: ci.get("/api/audit?" + query.replace("limit=500", "limit=3")).json())
    assert [e["id"] for e in paged] == [e["id"] for e in entries]

    # Nothing PUT is in the database's bytes either.
    for name in ("state.db", "state.db-wal"):
        path = audit_stack.stateDir / name
        if path.exists():
            data = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in data, f"{name} holds a value PUT ({secret[:10]}…)"


def test_the_trail_needs_an_admin_token_and_names_a_bad_parameter(audit_stack):
    """A read token is 403; each bad parameter is a 400 whose error names it, and changes nothing."""
    assert audit_stack.client(audit_stack.readToken).get("/api/audit").status_code == 403
    assert audit_stack.client().get("/api/audit").status_code == 401
    admin = audit_stack.client(audit_stack.adminToken)
    for query, name in [("limit=0", "limit"), ("limit=501", "limit"), ("limit=many", "limit"), ("since=yesterday", "since"),
                        ("until=2026-02-30T00:00:00Z", "until"), ("cursor=garbage", "cursor"), ("plugin=%01", "plugin")]:
        r = admin.get(f"/api/audit?{query}")
        assert r.status_code == 400, f"{query}: {r.status_code} {r.text}"
        assert f"'{name}'" in r.json()["error"], f"{query}: {r.json()['error']}"
    r = admin.get("/api/audit", params={"since": "2000-01-01T00:00:00.123456+02:00", "until": "2999-01-01T00:00:00Z", "limit": ""})
    assert r.status_code == 200, r.text


# --- plugind run directly: crashes and retention ---------------------------------------------------


def labelled(plugind: Plugind, label: str) -> str:
    result = subprocess.run([str(plugind_binary()), "token", "create", "--role", "admin", "--label", label, "--state-dir", str(plugind.state)],
                            capture_output=True, text=True, timeout=60, env=plugind.full_env())
    assert result.returncode == 0, result.stderr
    plugind.token = result.stdout.strip()
    return plugind.token


def request_id(n: int) -> str:
    return f"{n:032x}"


def put(plugind: Plugind, n: int, timeout: float = 10.0) -> fcgi.CGIResponse:
    """Write number n (test_faults' `write_body`) under request id n."""
    body = json.dumps(write_body(n)).encode()
    response = fcgi.request(str(plugind.sock), "PUT", f"/api/plugins/{PLUGIN}",
                            headers={"Authorization": f"Bearer {plugind.token}", "Content-Type": "application/json"},
                            body=body, extra={"PLUGIND_REQUEST_ID": request_id(n)}, timeout=timeout)
    get_checker().check("PUT", f"/api/plugins/{PLUGIN}", response.status, response.header_map, response.body)
    return response


def trail(plugind: Plugind) -> list[dict]:
    return all_entries(lambda query: plugind.json("GET", f"/api/audit?{query}")[1])


def wait_for_pause(plugind: Plugind, point: str) -> None:
    marker = plugind.state / f"paused-{point}"
    wait_until(lambda: marker.exists() or not plugind.process.alive(), 30, f"plugind to pause at {point}")
    assert marker.exists(), f"plugind exited before pausing at {point}:\n{plugind.process.output()[-2000:]}"


@pytest.mark.parametrize("point", ["audit-after-intent", "audit-after-write"])
def test_sigkill_at_each_crash_point_recovers_a_consistent_trail(plugind_factory, point):
    """PLUGIND_TEST_PAUSE stops plugind between the intent and the write, or between the write and the
    entry's completion; it is SIGKILLed there and started again. After the intent only: the config is
    the old one and the trail has no entry. After the write: the config holds the change and the trail
    has exactly one entry for it, its status null (plugind never answered), naming what changed."""
    plugind = plugind_factory(env={"PLUGIND_TEST_PAUSE": point})
    plugind.config.write_text(HAND_WRITTEN)
    plugind.config.chmod(0o600)
    labelled(plugind, "crash")
    plugind.start()

    def writer():  # its first write pauses plugind, which never answers
        with contextlib.suppress(OSError, fcgi.FastCGIError, TimeoutError):
            put(plugind, 8, timeout=60)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    wait_for_pause(plugind, point)
    plugind.kill()
    thread.join(15)
    (plugind.state / f"paused-{point}").unlink()
    held = written_state(plugind.config)  # parses, keeps the hand-written keys, never a mix
    plugind.env.pop("PLUGIND_TEST_PAUSE")
    plugind.start()
    entries = trail(plugind)
    assert written_state(plugind.config) == held, "recovery changed the agent config"
    if point == "audit-after-intent":
        assert held is None, "the write happened although plugind was stopped before it"
        assert entries == [], f"an entry for a change that did not happen: {entries}"
    else:
        assert held == 8, "the write did not happen although plugind was stopped after it"
        assert len(entries) == 1, entries
        entry = entries[0]
        assert entry["requestId"] == request_id(8) and entry["status"] is None and entry["tokenLabel"] == "crash", entry
        assert {(c.get("name"), c.get("action")) for c in entry["changes"] if c["kind"] == "setting"} == {(KEY_A, "set"), (KEY_B, "set")}
        assert {"plugin": "@elizaos/plugin-matrix", "kind": "enabled", "from": False, "to": True} in entry["changes"], entry
    # A write after the restart is audited as usual.
    assert put(plugind, 9).status == 200
    assert [e["requestId"] for e in trail(plugind)][:1] == [request_id(9)]
    plugind.stop()


def test_random_sigkills_leave_an_entry_exactly_for_each_change_the_file_holds(plugind_factory):
    """PUTs in a row while plugind is SIGKILLed at random moments: after each restart every
    acknowledged write has exactly one entry (status 200), the write the file holds has one, and a
    write in flight that the file does not hold has none."""
    rng = random.Random(int(os.environ.get("PLUGIND_FAULT_SEED", "20261207")))
    rounds = int(os.environ.get("PLUGIND_AUDIT_ROUNDS", "12"))
    plugind = plugind_factory()
    plugind.config.write_text(HAND_WRITTEN)
    plugind.config.chmod(0o600)
    labelled(plugind, "soak")
    counter = 0
    acknowledged: list[int] = []
    lost: set[int] = set()  # in flight at a kill, and not what the file held
    for round_ in range(rounds):
        plugind.start()
        in_flight: list[int] = []
        stop = threading.Event()

        def writer() -> None:
            nonlocal counter
            while not stop.is_set():
                counter += 1
                n = counter
                in_flight.append(n)
                try:
                    response = put(plugind, n, timeout=10)
                except (OSError, fcgi.FastCGIError, TimeoutError):
                    return
                assert response.status == 200, response.body[:300]
                acknowledged.append(n)
                in_flight.remove(n)

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        time.sleep(rng.uniform(0.005, 0.2))
        plugind.kill()
        stop.set()
        thread.join(15)
        held = written_state(plugind.config)
        lost.update(n for n in in_flight if n != held)
        plugind.start()
        entries = trail(plugind)
        by_request: dict[str, list[dict]] = {}
        for entry in entries:
            by_request.setdefault(entry["requestId"], []).append(entry)
        for n in acknowledged:
            found = by_request.get(request_id(n), [])
            assert len(found) == 1 and found[0]["status"] == 200, f"round {round_}: acknowledged write {n}: {found}"
        if held is not None:
            assert len(by_request.get(request_id(held), [])) == 1, f"round {round_}: the file holds write {held}, the trail has no entry"
        for n in lost:
            assert request_id(n) not in by_request, f"round {round_}: write {n} never happened, yet it has an entry"
        assert set(by_request) <= {request_id(n) for n in range(1, counter + 1)}
        plugind.kill()
    assert len(acknowledged) > rounds, f"too few writes were acknowledged to mean anything: {len(acknowledged)}"


def test_retention_prunes_by_age_and_by_count(plugind_factory):
    """An entry older than auditRetentionDays goes at start; past auditMaxEntries the oldest go, in the
    background, while the newest stay."""
    plugind = plugind_factory(env={"PLUGIND_AUDIT_RETENTION_DAYS": "1", "PLUGIND_AUDIT_MAX_ENTRIES": "3"})
    labelled(plugind, "retention")
    plugind.start()
    assert put(plugind, 1).status == 200
    plugind.stop()
    with contextlib.closing(sqlite3.connect(plugind.state / "state.db")) as db:
        db.execute("UPDATE auditEntry SET time = '2020-01-01T00:00:00.000Z'")
        db.commit()
    plugind.start()
    wait_until(lambda: request_id(1) not in {e["requestId"] for e in trail(plugind)}, 30, "the old entry to be pruned")
    for n in range(2, 9):
        assert put(plugind, n).status == 200
    wait_until(lambda: len(trail(plugind)) <= 3, 30, "the trail to be pruned to auditMaxEntries")
    assert [e["requestId"] for e in trail(plugind)] == [request_id(n) for n in (8, 7, 6)]
    plugind.stop()


def test_token_labels_are_checked_and_listed_without_secrets(tmp_path):
    """`plugind token create --label` refuses a label that is not short printable text (exit non-zero,
    one line naming --label, nothing written); `plugind token list` prints id, role and label, never a
    token or its hash."""
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGIND_")}
    base = [str(plugind_binary()), "token"]
    for bad in ["", " padded", "x" * 65, "tab\there", "new\nline"]:
        result = subprocess.run([*base, "create", "--role", "admin", "--label", bad, "--state-dir", str(state)],
                                capture_output=True, text=True, timeout=60, env=env)
        assert result.returncode != 0, f"label {bad!r} was accepted"
        assert "--label" in result.stderr and "pld_" not in result.stdout, result.stderr
        assert not (state / "tokens.json").exists()
    made = subprocess.run([*base, "create", "--role", "read", "--label", "Grafana (ops)", "--state-dir", str(state)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert made.returncode == 0, made.stderr
    listed = subprocess.run([*base, "list", "--state-dir", str(state)], capture_output=True, text=True, timeout=60, env=env)
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    token_id, role, label = line.split("\t")
    assert re.fullmatch(r"tok_[0-9a-f]{12}", token_id) and role == "read" and label == "Grafana (ops)", line
    stored = json.loads((state / "tokens.json").read_text())["tokens"][0]
    assert made.stdout.strip() not in listed.stdout and stored["sha256"] not in listed.stdout
    assert stored["id"] == token_id and stored["label"] == "Grafana (ops)"
