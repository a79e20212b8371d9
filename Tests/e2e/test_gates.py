"""The contract's section 1 end to end: HTTPS through nginx to plugind, as curl and the dashboard
talk to it. Every /api response is also held to docs/openapi.yaml by the session's hook."""

from __future__ import annotations

import os
import re
import stat
import time
import uuid

import pytest

from conftest import NPM_TOKEN_SECRET
from helpers import caught_up_log

JSON_TYPE = re.compile(r"^application/json\s*;\s*charset=utf-8$", re.I)


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:300]}"
    assert JSON_TYPE.match(response.headers.get("Content-Type", "")), response.headers.get("Content-Type")
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"].strip(), body
    assert response.headers.get("X-Request-Id"), "every response carries X-Request-Id"
    return body


# --- 1. health is open; everything else needs a token ----------------------------------------------


def test_health_is_open_without_a_token(anon):
    r = anon.get("/api/health")
    assert r.status_code == 200
    assert JSON_TYPE.match(r.headers["Content-Type"])
    body = r.json()
    assert body["ok"] is True
    assert body["stateDir"] == {"usable": True}
    assert body["database"] == {"usable": True}
    assert re.match(r"^\d+\.\d+\.\d+", body["version"])


def test_head_health_has_the_headers_of_get_and_no_body(anon):
    get = anon.get("/api/health")
    head = anon.head("/api/health")
    assert head.status_code == 200
    assert head.content == b""
    assert JSON_TYPE.match(head.headers["Content-Type"])
    assert head.headers.get("Content-Length") == str(len(get.content))
    assert head.headers.get("X-Request-Id")


def test_options_with_a_token_lists_the_methods(admin, reader):
    for session in (admin, reader):
        r = session.options("/api/health")
        assert r.status_code == 204
        assert r.content == b""
        assert {m.strip() for m in r.headers["Allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}
    r = admin.options("/api/operations/" + str(uuid.uuid4()))
    assert r.status_code == 204
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}


def test_options_answers_on_every_documented_path(admin, openapi):
    for template in openapi.spec["paths"]:
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), template)
        r = admin.options(path)
        assert r.status_code == 204, path
        methods = {m.strip() for m in r.headers["Allow"].split(",")}
        documented = {m.upper() for m in openapi.spec["paths"][template] if m in ("get", "put", "post", "delete", "patch")}
        assert documented <= methods and "OPTIONS" in methods, (path, methods)


def test_options_without_a_token_is_401(anon):
    r = anon.options("/api/health")
    assert_json_error(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


PROTECTED = [
    ("GET", "/api/settings"),
    ("GET", "/api/operations"),
    ("GET", "/api/operations/" + str(uuid.uuid4())),
    ("HEAD", "/api/settings"),
    ("GET", "/api/no-such-route"),
    ("GET", "/api/plugins/some-plugin"),
    ("POST", "/api/plugins/install"),
    ("DELETE", "/api/health"),  # only GET (and HEAD) of /api/health is open
    ("PUT", "/api/health"),
]

BAD_AUTHORIZATION = [
    None,
    "Bearer pld_this-token-does-not-exist",
    "Bearer ",
    "Basic YWRtaW46YWRtaW4=",
    "pld_no-scheme",
]


@pytest.mark.parametrize("method,path", PROTECTED)
@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION, ids=["none", "unknown", "empty", "basic", "no-scheme"])
def test_missing_or_invalid_token_is_401_with_a_bearer_challenge(stack, method, path, authorization):
    with stack.client() as session:
        headers = {"Authorization": authorization} if authorization is not None else {}
        r = session.request(method, path, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"].split()[0] == "Bearer"
    if method != "HEAD":
        assert_json_error(r, 401)


def test_a_token_is_checked_before_the_route(stack, admin):
    # With a good token the unknown route is a 404; without one it is a 401 (no route probing).
    assert admin.get("/api/no-such-route").status_code == 404
    with stack.client() as anon:
        assert anon.get("/api/no-such-route").status_code == 401


# --- 2. read tokens only look -------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/api/settings"),
        ("PUT", "/api/settings"),
        ("DELETE", "/api/operations"),
        ("PATCH", "/api/health"),
        ("POST", "/api/health"),
        ("POST", "/api/no-such-route"),
        ("DELETE", "/api/plugins/anything"),
        ("POST", "/api/plugins/install"),
    ],
)
def test_read_token_may_not_change_anything(reader, method, path):
    r = reader.request(method, path, json={} if method != "DELETE" else None)
    assert_json_error(r, 403)


def test_read_token_reads(reader):
    assert reader.get("/api/settings").status_code == 200
    assert reader.get("/api/operations").status_code == 200


# --- 3. no cross-site changes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "https://127.0.0.1"},  # another port
        {"Origin": "https://127.0.0.1:1"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "{own}", "Sec-Fetch-Site": "cross-site"},
    ],
    ids=["foreign", "no-port", "other-port", "null", "sec-fetch-cross-site", "own-but-cross-site"],
)
@pytest.mark.parametrize("path", ["/api/settings", "/api/no-such-route"])
def test_changes_from_another_site_are_403(stack, admin, headers, path):
    headers = {k: v.replace("{own}", stack.origin) for k, v in headers.items()}
    r = admin.post(path, headers=headers)
    assert_json_error(r, 403)


def test_plain_http_origin_of_the_same_host_is_foreign(stack, admin):
    r = admin.post("/api/settings", headers={"Origin": f"http://127.0.0.1:{stack.port}"})
    assert_json_error(r, 403)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "{own}"},
        {"Origin": "{own}", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "{own}/"},
        {},  # curl sends no Origin
        {"Sec-Fetch-Site": "none"},
    ],
    ids=["own", "own-same-origin", "own-trailing-slash", "no-origin", "sec-fetch-none"],
)
def test_the_dashboards_own_origin_is_not_refused(stack, admin, headers):
    headers = {k: v.replace("{own}", stack.origin) for k, v in headers.items()}
    r = admin.post("/api/settings", headers=headers)
    # Past the origin gate: the route has no POST.
    assert_json_error(r, 405)
    assert "GET" in r.headers["Allow"]


def test_get_is_not_subject_to_the_origin_check(admin):
    r = admin.get("/api/settings", headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 200


# --- 4. route lookup ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/no-such-route", "/api/operations/a/b", "/api/settings/x", "/api", "/api/", "/api/healthz"]
)
def test_unknown_route_is_404_json(admin, path):
    assert_json_error(admin.get(path), 404)


@pytest.mark.parametrize(
    "method,path,allowed",
    [
        ("DELETE", "/api/health", {"GET", "HEAD", "OPTIONS"}),
        ("POST", "/api/settings", {"GET", "HEAD", "OPTIONS"}),
        ("PUT", "/api/operations", {"GET", "HEAD", "OPTIONS"}),
        ("DELETE", "/api/operations/" + str(uuid.uuid4()), {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_wrong_method_is_405_json_with_allow(admin, method, path, allowed):
    r = admin.request(method, path)
    assert_json_error(r, 405)
    assert {m.strip() for m in r.headers["Allow"].split(",")} == allowed


def test_trailing_slash_names_the_same_route(admin):
    assert admin.get("/api/settings/").status_code == 200


# --- 0. size and hostile paths come first ---------------------------------------------------------


ONE_MIB = 1 << 20


@pytest.mark.parametrize("who", ["admin", "anonymous"])
def test_a_2_mib_body_is_413_json(stack, who):
    token = stack.adminToken if who == "admin" else None
    with stack.client(token) as session:
        r = session.post(
            "/api/settings", data=b"x" * (2 * ONE_MIB), headers={"Content-Type": "application/json"}
        )
    body = assert_json_error(r, 413)
    assert "larger" in body["error"] or "limit" in body["error"]


def test_a_get_with_a_body_over_the_limit_is_413_even_on_health(anon):
    assert_json_error(anon.get("/api/health", data=b"x" * (2 * ONE_MIB)), 413)


def test_a_body_just_over_the_limit_is_413_and_one_at_the_limit_is_not(admin):
    over = admin.post("/api/settings", data=b" " * (ONE_MIB + 1), headers={"Content-Type": "application/json"})
    assert_json_error(over, 413)
    at = admin.post("/api/settings", data=b" " * ONE_MIB, headers={"Content-Type": "application/json"})
    assert_json_error(at, 405)


HOSTILE_PATHS = [
    "/api/plugins/%2e%2e",
    "/api/plugins/%2E%2E",
    "/api/operations/%00",
    "/api/x/%2E",
    "/api/%2e%2e/settings",
    "/api/operations/%2e",
    "/api/x/%1f",
    "/api/x/%7F",
    "/api/x/%0a",
    "/api/x/%zz",
    "/api/x/%ff",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
@pytest.mark.parametrize("who", ["admin", "anonymous"])
def test_hostile_path_segments_are_400_json(stack, path, who):
    token = stack.adminToken if who == "admin" else None
    with stack.client(token) as session:
        r = session.raw("GET", path)
    assert_json_error(r, 400)


def test_an_encoded_slash_stays_inside_its_segment(admin):
    # %2F does not split the segment: one (unknown) operation id, not /api/operations/a/b.
    r = admin.raw("GET", "/api/operations/a%2Fb")
    body = assert_json_error(r, 404)
    assert "operation" in body["error"].lower()


def test_a_very_long_url_is_414_json(admin):
    r = admin.get("/api/operations?target=" + "a" * 20000)
    assert_json_error(r, 414)


# --- responses ------------------------------------------------------------------------------------


def test_every_plugind_response_has_a_fresh_request_id(admin, anon):
    ids = [
        admin.get("/api/health").headers.get("X-Request-Id"),
        admin.get("/api/settings").headers.get("X-Request-Id"),
        admin.get("/api/no-such-route").headers.get("X-Request-Id"),
        anon.get("/api/settings").headers.get("X-Request-Id"),
        admin.post("/api/settings").headers.get("X-Request-Id"),
    ]
    assert all(ids), ids
    assert len(set(ids)) == len(ids), ids


def test_the_request_id_links_nginx_and_plugind_logs(stack, admin):
    r = admin.get("/api/settings")
    request_id = r.headers["X-Request-Id"]
    time.sleep(0.2)
    access_log = (stack.stateDir / "nginx" / "logs" / "access.log").read_text()
    plugind_log = caught_up_log(stack)
    assert f"rid={request_id}" in access_log
    assert request_id in plugind_log


def test_each_request_has_one_log_line_without_its_query(stack, admin):
    """The line per request: UTC time, level, method, path without the query, status, duration and
    request id; a query (which may carry something private) and a path's control bytes never show."""
    ids = {
        "ok": admin.get("/api/operations?target=private-words-here").headers["X-Request-Id"],
        "missing": admin.get("/api/no-such-route?token=private-words-here").headers["X-Request-Id"],
        "head": admin.head("/api/health").headers["X-Request-Id"],
    }
    log = caught_up_log(stack)
    assert "private-words-here" not in log
    pattern = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info plugind: (\S+) (\S+) (\d{3}) \d+\.\dms requestId=(\S+)$"
    seen = {m.group(4): m.groups()[:3] for m in re.finditer(pattern, log, re.MULTILINE)}
    assert seen.get(ids["ok"]) == ("GET", "/api/operations", "200"), seen.get(ids["ok"])
    assert seen.get(ids["missing"]) == ("GET", "/api/no-such-route", "404"), seen.get(ids["missing"])
    assert seen.get(ids["head"]) == ("HEAD", "/api/health", "200"), seen.get(ids["head"])
    for request_id in ids.values():
        assert log.count(request_id) == 1, request_id


def test_the_access_log_has_no_query(stack, admin):
    """nginx's access log names the path of /api/ requests without the query (issue 16)."""
    r = admin.get("/api/registry/search?q=private-query-words&limit=5")
    request_id = r.headers["X-Request-Id"]
    time.sleep(0.2)
    access_log = (stack.stateDir / "nginx" / "logs" / "access.log").read_text()
    line = next(line for line in access_log.splitlines() if f"rid={request_id}" in line)
    assert '"GET /api/registry/search HTTP/' in line, line
    assert "private-query-words" not in access_log


@pytest.mark.parametrize("method,path,expected", [
    ("GET", "/api/plugins", "private, no-cache"),            # has an ETag: kept only to be revalidated
    ("GET", "/api/plugins/anthropic", "private, no-cache"),
    ("GET", "/api/settings", "no-store"),                    # no ETag: never kept
    ("GET", "/api/session", "no-store"),
    ("GET", "/api/no-such-route", "no-store"),
    ("POST", "/api/runtime/restart", "no-store"),
])
def test_every_api_answer_says_how_it_may_be_cached(admin, method, path, expected):
    r = admin.request(method, path)
    assert r.headers.get("Cache-Control") == expected, (r.status_code, dict(r.headers))
    if expected.startswith("private"):
        assert r.headers.get("ETag")
        again = admin.get(path, headers={"If-None-Match": r.headers["ETag"]})
        assert again.status_code == 304 and again.headers.get("Cache-Control") == expected


def test_operations_list_is_empty_on_a_new_state(admin):
    r = admin.get("/api/operations")
    assert r.status_code == 200
    assert r.json() == {"operations": []}
    for query in ("state=running", "state=succeeded", "state=failed", "limit=1", "limit=100000",
                  "target=%40elizaos%2Fplugin-x", "target=", "state=", "limit="):
        r = admin.get("/api/operations?" + query)
        assert r.status_code == 200, query
        assert r.json() == {"operations": []}, query


@pytest.mark.parametrize("query", ["state=bogus", "limit=0", "limit=-1", "limit=abc", "target=%zz"])
def test_bad_operation_filters_are_400(admin, query):
    assert_json_error(admin.raw("GET", "/api/operations?" + query), 400)


@pytest.mark.parametrize("op_id", [str(uuid.uuid4()), str(uuid.uuid4()).upper(), "not-a-uuid"])
def test_an_unknown_operation_is_404_json(admin, op_id):
    body = assert_json_error(admin.get("/api/operations/" + op_id), 404)
    assert "operation" in body["error"].lower()


def test_settings_show_no_secret(stack, reader, admin):
    for session in (reader, admin):
        r = session.get("/api/settings")
        assert r.status_code == 200
        assert NPM_TOKEN_SECRET not in r.text
        settings = r.json()["settings"]
        assert settings["npmRegistryToken"] == "****"
        assert settings["stateDir"] == str(stack.stateDir)
        assert settings["maxBodyBytes"] == ONE_MIB
        assert isinstance(settings["timeouts"]["operationMs"], int)


def test_the_secret_is_not_in_the_logs_or_run_json(stack, admin):
    admin.get("/api/settings")
    assert NPM_TOKEN_SECRET not in caught_up_log(stack)
    for path in [stack.stateDir / "run.json",
                 stack.stateDir / "nginx" / "logs" / "access.log", stack.stateDir / "nginx" / "logs" / "error.log"]:
        if path.exists():
            assert NPM_TOKEN_SECRET not in path.read_text(errors="replace"), path


def test_tokens_are_stored_hashed_and_private(stack):
    tokens = stack.stateDir / "tokens.json"
    assert stat.S_IMODE(os.stat(tokens).st_mode) == 0o600
    text = tokens.read_text()
    assert stack.adminToken not in text and stack.readToken not in text
    run_json = stack.stateDir / "run.json"
    assert stat.S_IMODE(os.stat(run_json).st_mode) == 0o600
    assert stack.adminToken.startswith("pld_") and stack.readToken.startswith("pld_")


# --- nginx: the dashboard and the security headers ------------------------------------------------


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def test_the_dashboard_page_is_served_with_csp_and_security_headers(anon):
    r = anon.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<title>plugind" in r.text and "<script type=\"module\" src=" in r.text  # the dashboard, loaded as ES modules
    csp = r.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
        assert directive in csp, csp
    assert "unsafe-inline" not in csp
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, name
    assert "max-age=" in r.headers.get("Strict-Transport-Security", "")


@pytest.mark.parametrize("path", ["/api/health", "/api/no-such-route", "/api/x/%2E", "/api/operations/%00"])
def test_api_responses_carry_each_security_header_once(anon, path):
    r = anon.raw("GET", path)
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, (name, r.headers.get(name))
    assert r.headers["Content-Security-Policy"].count("default-src") == 1


def test_slow_clients_cannot_starve_the_worker_pool(stack, reader):
    """More clients than plugind has worker threads, each sending its body one byte at a time:
    nginx buffers request bodies, so plugind never sees them and everyone else is answered."""
    import socket
    import ssl
    import time

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    slow = []
    try:
        for _ in range(24):  # plugind runs 16 workers by default
            raw = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
            conn = context.wrap_socket(raw, server_hostname="127.0.0.1")
            conn.sendall(
                b"PUT /api/plugins/anthropic HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + f"Authorization: Bearer {stack.adminToken}\r\n".encode()
                + b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{"
            )
            slow.append(conn)
        for _ in range(3):
            for conn in slow:
                conn.sendall(b" ")
            started = time.monotonic()
            response = reader.get("/api/plugins")
            elapsed = time.monotonic() - started
            assert response.status_code == 200
            assert elapsed < 10, f"a read waited {elapsed:.1f} s behind slow uploads"
            time.sleep(0.5)
    finally:
        for conn in slow:
            conn.close()


def test_session_tells_a_token_its_role(admin, reader, stack):
    """GET /api/session answers the presented token's role; a wrong token is 401."""
    assert admin.get("/api/session").json() == {"role": "admin"}
    assert reader.get("/api/session").json() == {"role": "read"}
    wrong = stack.client("pld_not-a-real-token").get("/api/session")
    assert wrong.status_code == 401 and wrong.json()["error"]
