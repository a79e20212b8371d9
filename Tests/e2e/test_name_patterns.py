"""docs/openapi.yaml's patterns for npm names and plugin ids say exactly what the server accepts.

`NpmPackageName` (the `name` of install and uninstall) is plugind's own rule (Sources/SemVer/PackageName.swift):
npm's rule for new names, or a legacy name (capitals, `~'!()*`, core module names, never `..`). Uninstall
applies both, so `POST /api/plugins/uninstall` is the oracle: `400` for a refused name, anything else (`404`
not installed, `409` bundled) for an accepted one, and nothing is ever changed. Plugin ids and registry names
are resolved rather than validated; their only rule is the path's (no `.` or `..` segment, no control
character), so their patterns say that, and the server is asked the same way.

Patterns are ECMA-262 regular expressions; Python's `re` agrees with them on these patterns except that its `$`
also matches before a final newline, so a pattern is applied here with `re.fullmatch`.
"""

from __future__ import annotations

import random
import re
from urllib.parse import unquote

import pytest

from helpers import SPEC_PATH
from openapi_check import load_spec

SPEC = load_spec(SPEC_PATH)
NAME_SCHEMA = SPEC["components"]["schemas"]["NpmPackageName"]
ID_SCHEMA = SPEC["components"]["parameters"]["PluginId"]["schema"]
REGISTRY_NAME_SCHEMA = SPEC["paths"]["/api/registry/plugins/{name}"]["parameters"][0]["schema"]


def spec_accepts(schema: dict, value: str) -> bool:
    """`minLength`, `maxLength` (characters; every accepted name is ASCII) and `pattern`, as ECMA-262 reads them."""
    if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
        return False
    return re.fullmatch(schema["pattern"], value) is not None


# (name, accepted): the rule, case by case.
NAMES = [
    ("plugin-x", True), ("@elizaos/plugin-discord", True), ("a", True), ("-dash-first", True), ("x.", True),
    ("a..b", True),  # new rule: dots anywhere after the first character, lowercase
    ("@a../b", True), ("@e2e-fake/plugin-LegacyName", True),  # legacy: capitals
    ("fs", True), ("HTTP", True), ("x~y", True), ("it's(1)!*", True),  # legacy: core modules, ~'!()*
    ("a" * 214, True), ("@s/" + "a" * 211, True),
    ("", False), ("a" * 215, False), ("@s/" + "a" * 212, False),
    (".x", False), ("_x", False), ("@.s/x", False), ("@_s/x", False), ("@s/.x", False), ("@s/_x", False),
    ("@x", False), ("@/x", False), ("@x/", False), ("@x/y/z", False), ("a/b", False), ("@@x/y", False),
    ("X..Y", False), ("a~..b", False), ("@S/a..b", False),  # `..` only under the new rule
    ("node_modules", False), ("NODE_Modules", False), ("favicon.ico", False), ("@node_modules/x", False),
    ("@x/Favicon.ICO", False), ("favicon.icox", True), ("node_modules2", True),
    (" a", False), ("a ", False), ("a b", False), ("a%b", False), ("a:b", False), ("a\u00e9", False),
    ("a\n", False), ("a\tb", False), ("a\x00", False), ("a@b", False), ("a#b", False), ("a+b", False),
]


def random_names(count: int, seed: int = 20240617) -> list[str]:
    """Names built from the characters the rule is about, so that many land on either side of it."""
    rng = random.Random(seed)
    alphabet = "abcxyz019-_.~*'()!ABXZ" + ".." + "@/ %:\u00e9\t"
    out = []
    for _ in range(count):
        part = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        if rng.random() < 0.4:
            part = "@" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) + "/" + part
        out.append(part)
    return out


@pytest.mark.parametrize("name,accepted", NAMES, ids=[repr(n)[:40] for n, _ in NAMES])
def test_the_name_pattern_states_the_rule(name, accepted):
    assert spec_accepts(NAME_SCHEMA, name) is accepted


def test_install_and_uninstall_names_use_the_rule():
    schemas = SPEC["components"]["schemas"]
    for request in ("InstallRequest", "UninstallRequest"):
        assert schemas[request]["properties"]["name"] == {"$ref": "#/components/schemas/NpmPackageName"}, request


def test_the_server_accepts_exactly_the_names_the_pattern_accepts(admin):
    """Every name of the table and a few hundred random ones, sent to uninstall: 400 exactly when the
    pattern refuses them."""
    disagreements = []
    for name in [n for n, _ in NAMES] + random_names(300):
        response = admin.post("/api/plugins/uninstall", json={"name": name}, timeout=30)
        assert response.status_code in (400, 404, 409), (name, response.status_code, response.text)
        server = response.status_code != 400
        if server != spec_accepts(NAME_SCHEMA, name):
            disagreements.append(f"{name!r}: the server {'accepts' if server else 'refuses'} it "
                                 f"({response.status_code} {response.text[:120]}), the pattern does not agree")
    assert not disagreements, "\n".join(disagreements)


# (raw path segment as sent, accepted): an id is `400` only for the path's rule, otherwise resolved (`404` here).
IDS = [
    ("%2e", False), ("%2E%2E", False), ("x%00", False), ("a%0Ab", False), ("%7F", False), ("%1Fx", False),
    ("...", True), ("no%20such%20plugin", True), ("%C3%BC", True), ("%40x%2Fy", True), ("a%2F..", True),
    ("UPPER_case~*'", True),
]


@pytest.mark.parametrize("raw,accepted", IDS, ids=[r for r, _ in IDS])
def test_plugin_ids_follow_the_path_rule(admin, raw, accepted):
    assert spec_accepts(ID_SCHEMA, unquote(raw)) is accepted
    response = admin.raw("GET", "/api/plugins/" + raw)
    assert response.status_code == (404 if accepted else 400), (raw, response.status_code, response.text)


# (raw rest of the path, accepted): registry names take the rest of the path, each segment under the path's rule.
REGISTRY_NAMES = [
    ("%2e", False), ("@x/%2e%2e", False), ("%2e%2e/x", False), ("a/%2e/b", False), ("x%0Ay", False),
    ("@elizaos/plugin-no-such-thing", True), ("%40elizaos%2Fplugin-no-such-thing", True), ("a/b/c", True),
    ("...", True), ("a..b", True),
]


@pytest.mark.parametrize("raw,accepted", REGISTRY_NAMES, ids=[r for r, _ in REGISTRY_NAMES])
def test_registry_names_follow_the_path_rule(admin, raw, accepted):
    assert spec_accepts(REGISTRY_NAME_SCHEMA, unquote(raw)) is accepted
    response = admin.raw("GET", "/api/registry/plugins/" + raw)
    # No plugin registry answers in this stack: an accepted name is 404 or 503, never 400.
    assert (response.status_code != 400) is accepted, (raw, response.status_code, response.text)
