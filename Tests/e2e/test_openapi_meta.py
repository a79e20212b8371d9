"""docs/openapi.yaml is kept true: it lists exactly the routes of Sources/API/RouteTable.swift, every
success response has a real schema, every error references the shared Error schema, and the
response checker the suite relies on does refuse what the document does not allow. No server needed."""

from __future__ import annotations

import re

import jsonschema
import pytest

from helpers import REPO, SPEC_PATH
from openapi_check import HTTP_METHODS, OpenAPIChecker, ResponseNotDocumented, load_spec, resolve_local

ROUTE_TABLE = REPO / "Sources" / "API" / "RouteTable.swift"
SETTING_SPECS = REPO / "Sources" / "Settings" / "SettingSpec.swift"
# `Route(.get, "/health", …)`: the method as HTTPMethod's static member (`HTTPMethod("PROPFIND")` for another).
ROUTE_LINE = re.compile(r'Route\(\s*(?:\.([a-z]+)|HTTPMethod\("([A-Z]+)"\))\s*,\s*"([^"]+)"')
ERROR_REF = "#/components/schemas/Error"
# Responses with a 4xx/5xx status whose body is deliberately not an Error:
# GET /api/health answers 503 with the health report itself (`ok: false` and what is unusable).
NOT_ERROR_SHAPED = {("GET", "/api/health", "503")}
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}  # answered on every route path; not in the route table


@pytest.fixture(scope="module")
def spec() -> dict:
    return load_spec(SPEC_PATH)


def route_table_operations() -> set[tuple[str, str]]:
    text = ROUTE_TABLE.read_text()
    routes = set()
    for member, named, pattern in ROUTE_LINE.findall(text):
        method = named or member.upper()
        segments = []
        for part in pattern.strip("/").split("/"):
            if part.startswith(":") or part.startswith("*"):
                part = "{" + part[1:] + "}"
            segments.append(part)
        routes.add((method, "/api/" + "/".join(segments)))
    return routes


def spec_operations(spec: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in HTTP_METHODS
        if method in item
    }


def resolve(spec: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        node = resolve_local(spec, node["$ref"])
    return node


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def test_the_settings_schema_lists_every_setting(spec):
    """GET /api/settings shows every SettingSpec of Sources/Settings/SettingSpec.swift (timeouts.* nested)."""
    text = SETTING_SPECS.read_text()
    keys = re.findall(r'SettingSpec\(\s*"([A-Za-z0-9_.]+)"', text)
    assert "stateDir" in keys, f"could not read the settings of {SETTING_SPECS}"
    top = {k for k in keys if "." not in k} | {k.split(".")[0] for k in keys if "." in k}
    nested = {k.split(".", 1)[1] for k in keys if k.startswith("timeouts.")}
    schema = spec["components"]["schemas"]["Settings"]
    assert set(schema["properties"]) == top, (
        f"missing from the Settings schema: {sorted(top - set(schema['properties']))}; "
        f"not a setting: {sorted(set(schema['properties']) - top)}"
    )
    assert set(schema["required"]) == top
    timeouts = schema["properties"]["timeouts"]
    assert set(timeouts["properties"]) == nested and set(timeouts["required"]) == nested


def test_the_document_is_openapi_3_1_with_bearer_security(spec):
    assert spec["openapi"] == "3.1.0"
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert spec["security"] == [{"bearer": []}]


def test_the_route_table_parses(spec):
    routes = route_table_operations()
    assert ("GET", "/api/health") in routes, f"could not read the routes of {ROUTE_TABLE}"
    assert len(routes) >= 4


def test_every_route_is_documented_and_nothing_else(spec):
    routes = route_table_operations()
    documented = {(m, p) for m, p in spec_operations(spec) if m not in IMPLICIT_METHODS}
    assert sorted(routes - documented) == [], "routes in RouteTable.swift missing from docs/openapi.yaml"
    assert sorted(documented - routes) == [], "operations in docs/openapi.yaml that RouteTable.swift does not have"


def test_every_route_path_documents_options(spec):
    for path, item in spec["paths"].items():
        assert "options" in item, f"{path}: OPTIONS (204 + Allow) is answered on every route path"
        assert "204" in item["options"]["responses"]


def test_every_success_response_has_a_nonempty_schema(spec):
    problems = []
    for method, path, operation in operations(spec):
        successes = {s: r for s, r in operation["responses"].items() if str(s).startswith("2")}
        if not successes:
            problems.append(f"{method} {path}: no 2xx response")
        for status, response in successes.items():
            if str(status) == "204":
                continue
            response = resolve(spec, response)
            content = response.get("content") or {}
            # Prometheus' text format (GET /api/metrics) is the one success that is not JSON.
            schema = content.get("application/json", content.get("text/plain", {})).get("schema")
            schema = resolve(spec, schema) if schema else schema
            if not schema or not schema.get("type"):
                problems.append(f"{method} {path} {status}: the JSON schema is missing or empty")
                continue
            if schema["type"] == "object" and not schema.get("properties"):
                problems.append(f"{method} {path} {status}: an object without properties")
    assert problems == []


def _objects(spec: dict, schema, seen=None):
    """Every object schema reachable from `schema` (through $refs, properties, items, unions)."""
    seen = set() if seen is None else seen
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen.add(schema["$ref"])
        yield from _objects(spec, resolve_local(spec, schema["$ref"]), seen)
        return
    if "properties" in schema:
        yield schema
    for sub in (schema.get("properties") or {}).values():
        yield from _objects(spec, sub, seen)
    if isinstance(schema.get("items"), dict):
        yield from _objects(spec, schema["items"], seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            yield from _objects(spec, sub, seen)


def test_every_field_of_a_success_response_is_required(spec):
    """Clients may rely on every documented field being present (null where it can be null)."""
    problems = []
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if not str(status).startswith("2"):
                continue
            response = resolve(spec, response)
            schema = (response.get("content") or {}).get("application/json", {}).get("schema")
            for obj in _objects(spec, schema):
                missing = set(obj["properties"]) - set(obj.get("required", []))
                if missing:
                    problems.append(f"{method} {path} {status}: not required: {sorted(missing)}")
    assert problems == []


def test_every_error_response_uses_the_error_schema(spec):
    problems = []
    groups = [(m, p, op["responses"]) for m, p, op in operations(spec)]
    groups += [("*", "x-unknown-path", spec["x-unknown-path-responses"]),
               ("*", "x-unlisted-method", spec["x-unlisted-method-responses"])]
    for method, path, responses in groups:
        for status, response in responses.items():
            if int(status) < 400 or (method, path, str(status)) in NOT_ERROR_SHAPED:
                continue
            schema = (resolve(spec, response).get("content") or {}).get("application/json", {}).get("schema")
            if schema != {"$ref": ERROR_REF}:
                problems.append(f"{method} {path} {status}: schema is {schema!r}, not the Error schema")
    assert problems == []
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"] and error["properties"]["error"]["type"] == "string"


def test_auth_method_and_size_errors_are_documented_where_they_occur(spec):
    problems = []
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        needs_token = operation.get("security", spec["security"]) != []
        if needs_token and "401" not in responses:
            problems.append(f"{method} {path}: needs a token but documents no 401")
        for status in ("400", "413"):
            if status not in responses:
                problems.append(f"{method} {path}: no {status} (checked before anything else)")
        if "{" in path and method == "GET" and "404" not in responses:
            problems.append(f"{method} {path}: a path parameter but no 404")
    for status in ("400", "401", "403", "404", "413"):
        if status not in spec["x-unknown-path-responses"]:
            problems.append(f"x-unknown-path-responses lacks {status}")
    for status in ("400", "401", "403", "405", "413"):
        if status not in spec["x-unlisted-method-responses"]:
            problems.append(f"x-unlisted-method-responses lacks {status}")
    assert problems == []

    def header_names(response):
        return set((resolve(spec, response).get("headers") or {}).keys())

    assert "WWW-Authenticate" in header_names(spec["components"]["responses"]["Unauthorized"])
    assert "Allow" in header_names(spec["components"]["responses"]["MethodNotAllowed"])
    assert "Allow" in header_names(spec["components"]["responses"]["Options"])


def test_every_response_documents_x_request_id(spec):
    problems = []
    for name, response in spec["components"]["responses"].items():
        if "X-Request-Id" not in (response.get("headers") or {}):
            problems.append(f"components/responses/{name}")
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if "X-Request-Id" not in (resolve(spec, response).get("headers") or {}):
                problems.append(f"{method} {path} {status}")
    assert problems == []


def test_path_parameters_are_declared(spec):
    for path, item in spec["paths"].items():
        names = set(re.findall(r"\{([^}]+)\}", path))
        declared = {p["name"] for p in map(lambda p: resolve(spec, p), item.get("parameters", [])) if p["in"] == "path"}
        for method in HTTP_METHODS:
            if method in item:
                declared_here = declared | {
                    p["name"] for p in map(lambda p: resolve(spec, p), item[method].get("parameters", []))
                    if p["in"] == "path"
                }
                assert names == declared_here, f"{method.upper()} {path}: path parameters {names} vs {declared_here}"


def test_request_bodies_refuse_unknown_fields(spec):
    for method, path, operation in operations(spec):
        body = operation.get("requestBody")
        if body is None:
            continue
        schema = resolve(spec, resolve(spec, body)["content"]["application/json"]["schema"])
        assert schema.get("additionalProperties") is False, f"{method} {path}: request body allows unknown fields"


def test_every_schema_is_valid_draft_2020_12(spec):
    for name, schema in spec["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)


# --- the checker refuses what the document does not allow -------------------------------------


JSON = {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": "abc"}
HEALTH = b'{"ok":true,"version":"0.1.0","stateDir":{"usable":true},"database":{"usable":true}}'


@pytest.fixture(scope="module")
def checker() -> OpenAPIChecker:
    return OpenAPIChecker(SPEC_PATH)


def test_checker_accepts_a_documented_response(checker):
    outcome = checker.check("GET", "https://h/api/health", 200, JSON, HEALTH)
    assert (outcome.template, outcome.status) == ("/api/health", 200)
    outcome = checker.check("GET", "/api/operations/%2F", 404, JSON, b'{"error":"no"}')
    assert outcome.template == "/api/operations/{id}"
    assert checker.check("GET", "https://h/", 200, {}, b"<html>") is None  # not the API


@pytest.mark.parametrize(
    "method,url,status,headers,body,why",
    [
        ("GET", "/api/health", 200, JSON, b'{"ok":true}', "required fields missing"),
        ("GET", "/api/health", 200, JSON, HEALTH[:-1] + b',"extra":1}', "an undocumented field"),
        ("GET", "/api/health", 418, JSON, b'{"error":"x"}', "an undocumented status"),
        ("GET", "/api/health", 200, {"Content-Type": "text/plain", "X-Request-Id": "a"}, HEALTH, "wrong type"),
        ("GET", "/api/health", 200, {"Content-Type": "application/json"}, HEALTH, "no X-Request-Id"),
        ("GET", "/api/settings", 401, JSON, b'{"error":"x"}', "401 without WWW-Authenticate"),
        ("GET", "/api/settings", 401, {**JSON, "WWW-Authenticate": "Basic"}, b'{"error":"x"}', "not Bearer"),
        ("GET", "/api/settings", 404, JSON, b'{"error":"x"}', "404 is not documented for a fixed path"),
        ("GET", "/api/nope", 400, JSON, b'{"message":"x"}', "not the Error shape"),
        ("GET", "/api/nope", 400, JSON, b"<html>", "not JSON"),
        ("DELETE", "/api/health", 405, JSON, b'{"error":"x"}', "405 without Allow"),
        ("DELETE", "/api/health", 404, JSON, b'{"error":"x"}', "404 for a path that exists"),
        ("HEAD", "/api/health", 200, JSON, HEALTH, "HEAD with a body"),
        ("GET", "/api/operations", 200, JSON, b'{"operations":[{"id":"x"}]}', "incomplete operation"),
        ("GET", "/api/settings", 200, JSON, b'{"settings":{"npmRegistryToken":"sekret"}}', "a secret"),
    ],
)
def test_checker_refuses(checker, method, url, status, headers, body, why):
    with pytest.raises(ResponseNotDocumented):
        checker.check(method, url, status, headers, body)
