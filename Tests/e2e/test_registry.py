"""The community plugin registry end to end (contract section 7, issue 5), through nginx.

plugind is pointed at a fake upstream on 127.0.0.1 (`fake_registry.py`) that serves the real
snapshots of `../shared/data/registry/` and can be switched to fail in every way an upstream fails:
404, 500, invalid JSON, never answering, a 100 MB body, JSON nested 100,000 levels deep, values of
the wrong type everywhere. Stacks run with short upstream timeouts (connect 1 s, fetch 1.5 s) and no
runtime bridge. Every response is held to docs/openapi.yaml by `Stack.client()`.

Expectations come from the snapshot files themselves (what an entry holds, which entries are
readable, how the list is ordered), not from plugind; the search expectations mirror
Tests/RegistryTests/SearchTests.swift and were checked against the data by reading it.

Most tests share one stack (`registry_stack`); the `fake` fixture puts its upstream back and
refreshes before each test, so a test that breaks upstream leaves nothing behind. Scenarios that
need a fresh or a restarted plugind (fallback with no snapshot yet, staleness, restart, no snapshot
at all) start their own stacks (about 1–2 s each).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import _run_stack
from fake_registry import (
    GENERATED_PATH,
    GENERATED_SNAPSHOT,
    INDEX_PATH,
    INDEX_SNAPSHOT,
    FakeRegistry,
)
from helpers import REPO, SPEC_PATH, free_port, pid_alive, wait_until
from openapi_check import OpenAPIChecker, ResponseNotDocumented

# --- what the snapshots hold (read from the files, never from plugind) ---------------------------

GENERATED = json.loads(GENERATED_SNAPSHOT.read_text()) if GENERATED_SNAPSHOT.is_file() else {"registry": {}}
INDEX = json.loads(INDEX_SNAPSHOT.read_text()) if INDEX_SNAPSHOT.is_file() else {}
CATALOGUE_NAMES = {
    p.get("npmName") for p in json.loads((REPO / "catalogue" / "plugins.json").read_text())["plugins"]
} - {None}

# Fields that make an object a registry entry (docs/registry.md, "Accepted documents").
ENTRY_FIELDS = {"git", "npm", "supports", "description", "repository", "kind", "registryKind", "app", "topics",
                "tags", "homepage"}
NAME_PART = re.compile(r"^[A-Za-z0-9~-][A-Za-z0-9._~-]*$")
DIRECTORY_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")


def is_package_name(name: str) -> bool:
    """npm's rules, capitals allowed (legacy names such as `@elizaos/plugin-ATTPs`)."""
    if not 1 <= len(name.encode()) <= 214:
        return False
    if name.startswith("@"):
        scope, slash, rest = name[1:].partition("/")
        return bool(slash) and bool(NAME_PART.match(scope)) and bool(NAME_PART.match(rest))
    return bool(NAME_PART.match(name))


def readable_entry(name: str, value) -> bool:
    """Whether docs/registry.md says plugind keeps this entry of a generated registry."""
    if not is_package_name(name.strip()) or not isinstance(value, dict) or not ENTRY_FIELDS & set(value):
        return False
    directory = value.get("directory")
    if directory is None:
        return True
    if not isinstance(directory, str) or directory.startswith("/"):
        return False
    segments = directory.rstrip("/").split("/")
    return all(s not in ("", ".", "..") and DIRECTORY_SEGMENT.match(s) for s in segments)


def readable_index_entry(name: str, value) -> bool:
    return is_package_name(name.strip()) and isinstance(value, str) and bool(
        re.match(r"^(github:)?[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$", value.strip()))


READABLE = sorted(
    (name for name, value in GENERATED["registry"].items() if readable_entry(name, value)),
    key=lambda n: (n.lower(), n),
)
INDEX_READABLE = sorted((n for n, v in INDEX.items() if readable_index_entry(n, v)), key=lambda n: (n.lower(), n))


def short_id(name: str) -> str:
    if name.startswith("@") and "/" in name:
        name = name.split("/", 1)[1]
    if name.startswith("plugin-") and len(name) > len("plugin-"):
        name = name[len("plugin-"):]
    return name


def assign_ids(names: list[str]) -> dict[str, str]:
    """Contract section 2: the short id, unless shared; then the `@elizaos/` one keeps it."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(short_id(name), []).append(name)
    ids = {}
    for short, members in groups.items():
        keeper = next((m for m in members if m.startswith("@elizaos/")), None) if len(members) > 1 else members[0]
        for member in members:
            ids[member] = short if member == keeper else member
    return ids


def resolve(text: str, names: list[str]) -> tuple[str, list[str]]:
    """Contract section 2's order over registry names, then the same ignoring case:
    ("found", [name]) | ("ambiguous", candidates) | ("notfound", [])."""

    def exact(text: str, keys: list[str], ids: dict[str, str]):
        for key in keys:
            if ids.get(key) == text:
                return "found", [key]
        for candidate in (text, "@elizaos/plugin-" + text, "@elizaos/" + text):
            if candidate in keys:
                return "found", [candidate]
        matches = sorted(k for k in keys if k.endswith("/" + text) or k.endswith("/plugin-" + text))
        return ("notfound", []) if not matches else ("found", matches) if len(matches) == 1 else ("ambiguous", matches)

    ids = assign_ids(names)
    outcome = exact(text, names, ids)
    if outcome[0] != "notfound":
        return outcome
    folded = {n.lower(): n for n in names}
    outcome = exact(text.lower(), list(folded), {k.lower(): v.lower() for k, v in ids.items()})
    return outcome[0], [folded[n] for n in outcome[1]]


def semver(text: str):
    """npm precedence key; None when the text is no version."""
    match = re.match(r"^[=]?[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$", text.strip())
    if not match:
        return None
    core = tuple(int(x or 0) for x in match.groups()[:3])
    pre = match.group(4)
    if pre is None:
        return core, 1, ()
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return core, 0, ids


def auto_version(entry: dict) -> str | None:
    """`registryChannel: auto`: the highest stable version among the supported channels that publish
    one, else the highest pre-release; every publishing channel when none is marked supported."""
    npm = entry.get("npm") or {}
    supports = entry.get("supports") or {}
    published = {ch: v for ch, v in npm.items()
                 if ch not in ("repo", "package", "name") and not ch.endswith("CoreRange") and isinstance(v, str) and v}
    supported = {ch: v for ch, v in published.items() if supports.get(ch) is True}
    candidates = supported or published
    keyed = [(semver(v), v) for v in candidates.values() if semver(v) is not None]
    stable = [k for k in keyed if k[0][1] == 1]
    pool = stable or keyed
    return max(pool)[1] if pool else None


def kind_of(name: str, entry: dict) -> str:
    if isinstance(entry.get("kind"), str):
        return entry["kind"].lower()
    short = name.split("/", 1)[1] if name.startswith("@") else name
    return "app" if "app" in entry or short.startswith("app-") else "plugin"


# A package the snapshot lists, given an install record before the stack starts; and one whose
# record names no version.
INSTALLED = "@elizaos/plugin-solana"
INSTALLED_VERSION = "1.0.4"
INSTALLED_NO_VERSION = "@elizaos/plugin-evm"

TIMEOUTS = {"PLUGIND_TIMEOUT_FETCH_MS": "1500", "PLUGIND_TIMEOUT_CONNECT_MS": "1000"}


def stack_env(urls: str, **extra: str) -> dict[str, str]:
    return {"PLUGIND_PLUGIN_REGISTRY_URLS": urls, "PLUGIND_RUNTIME_BRIDGE": "none", **TIMEOUTS, **extra}


def run_stack(*args, **kwargs):
    """`_run_stack` as a context manager, for tests that start (and restart) their own stacks."""
    return contextlib.contextmanager(_run_stack)(*args, **kwargs)


def seed_installs(state: Path) -> None:
    config = {
        "plugins": {
            "installs": {
                INSTALLED: {"source": "npm", "spec": f"{INSTALLED}@{INSTALLED_VERSION}", "version": INSTALLED_VERSION,
                            "installedAt": "2025-01-01T00:00:00.000Z"},
                INSTALLED_NO_VERSION: {"source": "npm", "spec": INSTALLED_NO_VERSION},
            }
        }
    }
    path = state / "milady.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)


def one_sentence(message: str, setting: str = "pluginRegistryUrls") -> str:
    """Issue 20: an upstream failure is one short sentence naming the setting that fixes it, no URL lists."""
    assert len(message) <= 300, message
    assert setting in message, message
    assert "http://" not in message and "https://" not in message, message
    return message


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream() -> FakeRegistry:
    if not GENERATED_SNAPSHOT.is_file():
        pytest.fail(f"the real registry snapshot is not at {GENERATED_SNAPSHOT} (../shared beside the clone)")
    with FakeRegistry() as fake:
        yield fake


@pytest.fixture(scope="module")
def registry_stack(upstream):
    yield from _run_stack(stack_env(upstream.urls), prepare=seed_installs)


@pytest.fixture
def admin(registry_stack):
    with registry_stack.client(registry_stack.adminToken) as session:
        yield session


@pytest.fixture
def reader(registry_stack):
    with registry_stack.client(registry_stack.readToken) as session:
        yield session


@pytest.fixture
def fake(upstream, admin):
    """The main stack's upstream, answering normally and fetched successfully at the start of the
    test (so `lastError` is clear); put back afterwards whatever the test switched."""
    upstream.reset()
    assert admin.post("/api/registry/refresh").status_code == 200
    yield upstream
    upstream.reset()


def test_the_snapshot_is_what_the_tests_expect():
    """Sanity: the shared data is the snapshot issue 5 describes (290 entries, all readable)."""
    assert len(GENERATED["registry"]) == 290
    assert len(READABLE) == 290
    assert INSTALLED in READABLE and INSTALLED_NO_VERSION in READABLE
    assert len(INDEX_READABLE) == len(INDEX) == 292


# --- GET /api/registry/plugins ------------------------------------------------------------------


def test_list_shows_every_readable_entry_with_its_status(fake, reader):
    response = reader.get("/api/registry/plugins")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == len(READABLE)
    assert body["count"] == len(body["plugins"]) == len(READABLE)
    assert [p["name"] for p in body["plugins"]] == READABLE  # sorted by name, ignoring case
    ids = assign_ids(READABLE)
    for plugin in body["plugins"]:
        raw = GENERATED["registry"][plugin["name"]]
        where = plugin["name"]
        assert plugin["id"] == ids[plugin["name"]], where
        npm = raw.get("npm") or {}
        assert plugin["npm"] == {"package": npm.get("repo") or plugin["name"], "version": auto_version(raw),
                                 **{f"{c}Version": npm.get(c) for c in ("v0", "v1", "v2")}}, where
        assert plugin["description"] == (raw.get("description") or "").strip(), where
        assert plugin["stars"] == raw.get("stargazers_count", 0), where
        assert plugin["tags"] == list(dict.fromkeys(raw.get("topics") or [])), where
        assert plugin["repository"] == "https://github.com/" + raw["git"]["repo"], where
        assert plugin["kind"] == kind_of(plugin["name"], raw), where
        assert plugin["loaded"] is False, f"{where}: no runtime is attached"
        assert plugin["bundled"] is (plugin["name"] in CATALOGUE_NAMES), where
        if plugin["name"] == INSTALLED:
            assert (plugin["installed"], plugin["installedVersion"]) == (True, INSTALLED_VERSION)
        elif plugin["name"] == INSTALLED_NO_VERSION:
            assert (plugin["installed"], plugin["installedVersion"]) == (True, None)
        else:
            assert (plugin["installed"], plugin["installedVersion"]) == (False, None), where
    assert any(p["bundled"] for p in body["plugins"]), "the shipped catalogue shares names with the registry"
    source = body["source"]
    assert source["url"] == fake.url(GENERATED_PATH)
    assert source["format"] == "full"
    assert source["lastError"] is None
    assert source["skipped"] == len(GENERATED["registry"]) - len(READABLE)
    assert source["lastUpdatedAt"] == GENERATED["lastUpdatedAt"]
    assert abs(time.time() - when(source["fetchedAt"]).timestamp()) < 120


def test_list_pages_with_limit_and_offset(fake, reader):
    page = reader.get("/api/registry/plugins", params={"limit": 10, "offset": 5}).json()
    assert (page["count"], page["total"]) == (10, len(READABLE))
    assert [p["name"] for p in page["plugins"]] == READABLE[5:15]
    last = reader.get("/api/registry/plugins", params={"limit": 10, "offset": len(READABLE) - 3}).json()
    assert (last["count"], last["total"]) == (3, len(READABLE))
    assert [p["name"] for p in last["plugins"]] == READABLE[-3:]
    beyond = reader.get("/api/registry/plugins", params={"offset": len(READABLE) + 10}).json()
    assert (beyond["count"], beyond["total"], beyond["plugins"]) == (0, len(READABLE), [])
    one = reader.get("/api/registry/plugins", params={"limit": 1}).json()
    assert [p["name"] for p in one["plugins"]] == READABLE[:1]
    for bad in ({"limit": 0}, {"limit": -1}, {"limit": "ten"}, {"offset": -1}, {"offset": "x"}, {"limit": "1.5"}):
        response = reader.get("/api/registry/plugins", params=bad)
        assert response.status_code == 400, bad
        assert ("limit" if "limit" in bad else "offset") in response.json()["error"]


def test_list_filters_by_kind(fake, reader):
    apps = [n for n in READABLE if kind_of(n, GENERATED["registry"][n]) == "app"]
    plugins = [n for n in READABLE if kind_of(n, GENERATED["registry"][n]) == "plugin"]
    assert apps and plugins and len(apps) + len(plugins) == len(READABLE)
    for kind, expected in (("app", apps), ("APP", apps), ("plugin", plugins)):
        body = reader.get("/api/registry/plugins", params={"kind": kind}).json()
        assert (body["count"], body["total"]) == (len(expected), len(expected)), kind
        assert [p["name"] for p in body["plugins"]] == expected
        assert {p["kind"] for p in body["plugins"]} == {kind.lower()}
    paged = reader.get("/api/registry/plugins", params={"kind": "plugin", "limit": 2, "offset": 1}).json()
    assert (paged["count"], paged["total"]) == (2, len(plugins))
    assert [p["name"] for p in paged["plugins"]] == plugins[1:3]
    none = reader.get("/api/registry/plugins", params={"kind": "no-such-kind"}).json()
    assert (none["count"], none["total"], none["plugins"]) == (0, 0, [])
    everything = reader.get("/api/registry/plugins", params={"kind": ""}).json()
    assert everything["total"] == len(READABLE)


# One rule for every route with query parameters: an empty value (`limit=`) is the same as leaving the
# parameter out (docs/api.md, "Query parameters").
EMPTY_QUERY_VALUES = [
    ("/api/registry/plugins", "limit=&offset=&kind="),
    ("/api/registry/search?q=wallet", "limit="),
    ("/api/operations", "limit=&state=&target="),
    ("/api/plugins", "enabled=&category="),
]


@pytest.mark.parametrize("path,empty", EMPTY_QUERY_VALUES, ids=[p for p, _ in EMPTY_QUERY_VALUES])
def test_an_empty_query_value_means_the_default(fake, reader, path, empty):
    plain = reader.get(path)
    assert plain.status_code == 200, plain.text
    with_empty = reader.get(path + ("&" if "?" in path else "?") + empty)
    assert with_empty.status_code == 200, f"{path} with {empty}: {with_empty.status_code} {with_empty.text[:300]}"
    assert with_empty.json() == plain.json(), f"{path} with {empty} differs from {path} alone"


def test_list_and_details_answer_304_to_their_etag(fake, reader):
    for path in ("/api/registry/plugins?limit=5", "/api/registry/plugins/discord"):
        first = reader.get(path)
        assert first.status_code == 200 and first.headers["ETag"]
        again = reader.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.content == b""
        assert reader.head(path).status_code == 200


def test_options_lists_the_methods(reader):
    for path, allowed in (("/api/registry/plugins", {"GET", "HEAD", "OPTIONS"}),
                          ("/api/registry/plugins/discord", {"GET", "HEAD", "OPTIONS"}),
                          ("/api/registry/search", {"GET", "HEAD", "OPTIONS"}),
                          ("/api/registry/refresh", {"POST", "OPTIONS"})):
        response = reader.options(path)
        assert response.status_code == 204
        assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed, path


# --- GET /api/registry/plugins/:name ------------------------------------------------------------


def assert_details_match_the_snapshot(plugin: dict, name: str) -> None:
    raw = GENERATED["registry"][name]
    channels = [c for c in raw["npm"] if c not in ("repo",) and not c.endswith("CoreRange")]
    assert plugin["name"] == name
    assert plugin["id"] == assign_ids(READABLE)[name]
    assert plugin["versions"] == {c: raw["npm"][c] for c in channels}
    assert plugin["supports"] == {c: v for c, v in raw["supports"].items() if isinstance(v, bool)}
    assert plugin["npm"]["version"] == auto_version(raw)
    if plugin["npm"]["version"] is not None:
        assert plugin["versions"][plugin["channel"]] == plugin["npm"]["version"]
    # The raw fields eject needs: git.repo and each channel's tag and branch as upstream wrote them.
    assert plugin["git"]["repo"] == raw["git"]["repo"]
    for channel, details in raw["git"].items():
        if channel == "repo":
            continue
        if details.get("version") is None and details.get("branch") is None:
            assert channel not in plugin["git"]
        else:
            assert plugin["git"][channel] == {"version": details["version"], "branch": details["branch"]}
    assert plugin["repository"] == "https://github.com/" + raw["git"]["repo"]
    assert plugin["author"] == raw["git"]["repo"].split("/")[0]
    assert plugin["homepage"] == raw.get("homepage")
    assert plugin["language"] == raw.get("language")
    assert plugin["stars"] == raw["stargazers_count"]
    assert plugin["description"] == (raw.get("description") or "")
    assert plugin["loaded"] is False
    assert plugin["bundled"] is (name in CATALOGUE_NAMES)


def test_details_by_encoded_and_unencoded_scoped_name(fake, reader):
    name = "@elizaos/plugin-discord"
    encoded = reader.raw("GET", "/api/registry/plugins/%40elizaos%2Fplugin-discord")
    assert encoded.status_code == 200
    assert_details_match_the_snapshot(encoded.json()["plugin"], name)
    unencoded = reader.raw("GET", "/api/registry/plugins/@elizaos/plugin-discord")
    assert unencoded.status_code == 200
    assert unencoded.json() == encoded.json()
    half = reader.raw("GET", "/api/registry/plugins/%40elizaos/plugin-discord")
    assert half.status_code == 200 and half.json() == encoded.json()


def test_details_by_short_id_unscoped_name_and_legacy_case(fake, reader):
    cases = ["discord", "openai", "mattermost", "connections", "plugin-connections", "plugin-octav", "attps",
             "ATTPs", "lensnetwork", "app-hyperfy", "@bealers/plugin-mattermost", "solana"]
    for text in cases:
        outcome, names = resolve(text, READABLE)
        assert outcome == "found", f"{text}: the snapshot changed ({outcome} {names})"
        response = reader.get("/api/registry/plugins/" + quote(text, safe=""))
        assert response.status_code == 200, text
        plugin = response.json()["plugin"]
        assert plugin["name"] == names[0], text
        assert_details_match_the_snapshot(plugin, names[0])
    # Two entries share the short id `mattermost`: the @elizaos/ one keeps it, the other is its npm name.
    other = reader.get("/api/registry/plugins/" + quote("@bealers/plugin-mattermost", safe="")).json()["plugin"]
    assert other["id"] == "@bealers/plugin-mattermost"
    # An unscoped name whose short id another entry shares, none of them @elizaos/: both use npm names.
    assert reader.get("/api/registry/plugins/plugin-connections").json()["plugin"]["id"] == "plugin-connections"


def test_details_show_installed_status(fake, reader):
    plugin = reader.get("/api/registry/plugins/solana").json()["plugin"]
    assert (plugin["name"], plugin["installed"], plugin["installedVersion"]) == (INSTALLED, True, INSTALLED_VERSION)
    evm = reader.get("/api/registry/plugins/evm").json()["plugin"]
    assert (evm["name"], evm["installed"], evm["installedVersion"]) == (INSTALLED_NO_VERSION, True, None)


def test_details_of_an_unknown_name_is_404(fake, reader):
    for text in ("no-such-plugin-anywhere", "@nobody/plugin-nothing", "@elizaos/plugin-discord-x"):
        response = reader.get("/api/registry/plugins/" + quote(text, safe=""))
        assert response.status_code == 404, text
        assert text in response.json()["error"]


def test_details_of_an_ambiguous_name_in_the_real_snapshot_is_409(fake, reader):
    texts = {t for n in READABLE for t in (short_id(n), n.split("/")[-1], short_id(n).lower())}
    ambiguous = [(t, c) for t in sorted(texts) for o, c in [resolve(t, READABLE)] if o == "ambiguous"]
    if not ambiguous:
        pytest.skip(
            "the real snapshot has no name that several entries match under section 2's rules (checked "
            "every short id and unscoped name); 409 is covered here by test_synthetic_registry_document "
            "and in Tests/RegistryTests/RegistryResponseTests.swift (ambiguousName)")
    for text, candidates in ambiguous:
        response = reader.get("/api/registry/plugins/" + quote(text, safe=""))
        assert response.status_code == 409, text
        assert response.json()["candidates"] == candidates


# --- GET /api/registry/search -------------------------------------------------------------------

# What a person types → the plugins that must lead the results, in order (mirrors SearchTests.swift;
# each checked against the snapshot: names, descriptions and topics).
RELEVANCE = [
    ("openai", ["@elizaos/plugin-openai"]),
    ("discord", ["@elizaos/plugin-discord", "@elizaos/client-discord"]),
    ("solana", ["@elizaos/plugin-solana", "@elizaos/plugin-solana-agent-kit"]),
    ("twitter bot", ["@elizaos/client-twitter-api-access", "@elizaos/plugin-twitter"]),
    ("twiter", ["@elizaos/plugin-twitter"]),
    ("discrod", ["@elizaos/plugin-discord", "@elizaos/client-discord"]),
    ("telegarm", ["@elizaos/plugin-telegram"]),
    ("TELEGRAM", ["@elizaos/plugin-telegram", "@elizaos/client-telegram"]),
    ("postgres", ["@elizaos/adapter-postgres"]),
    ("sql", ["@elizaos/plugin-sql", "@elizaos/adapter-sqlite"]),
    ("google chat", ["@elizaos/plugin-google-chat"]),
    ("image generation", ["@elizaos/plugin-image-generation"]),
    ("attps", ["@elizaos/plugin-ATTPs"]),
    ("farcaster", ["@elizaos/plugin-farcaster"]),
    ("evm", ["@elizaos/plugin-evm"]),
    ("@elizaos/plugin-twitter", ["@elizaos/plugin-twitter"]),
    ("plugin-solana", ["@elizaos/plugin-solana"]),
    ("anthropic", ["@elizaos/plugin-anthropic"]),
    ("anthropic claude", ["@elizaos/plugin-anthropic"]),
    ("ollama", ["@elizaos/plugin-ollama"]),
    ("bealers", ["@bealers/plugin-mattermost"]),
    ("mattermost", ["@elizaos/plugin-mattermost", "@bealers/plugin-mattermost"]),
    ("lens network", ["@elizaos/plugin-lensNetwork"]),
    ("hyperfy", ["@elizaos/app-hyperfy"]),
    ("the openai plugin", ["@elizaos/plugin-openai"]),
    ("nft solana", ["@elizaos/plugin-nft-generation"]),
    ("Discord", ["@elizaos/plugin-discord", "@elizaos/client-discord"]),
]


def search(session, q, **params):
    response = session.get("/api/registry/search", params={"q": q, **params})
    assert response.status_code == 200, (q, response.text)
    return response.json()


@pytest.mark.parametrize("query,expected", RELEVANCE, ids=[q for q, _ in RELEVANCE])
def test_search_relevance(fake, reader, query, expected):
    for name in expected:
        assert name in READABLE, f"{name} is not in the snapshot"
    body = search(reader, query)
    names = [r["name"] for r in body["results"]]
    assert names[: len(expected)] == expected, f"{query!r}: {names[:6]}"
    assert body["query"] == query
    assert body["count"] == len(body["results"])


def test_search_results_carry_status_and_a_score(fake, reader):
    body = search(reader, "wallet", limit=50)
    assert body["count"] > 5
    scores = [r["score"] for r in body["results"]]
    assert scores[0] == 1 and scores == sorted(scores, reverse=True) and scores[-1] > 0
    for result in body["results"]:
        raw = GENERATED["registry"][result["name"]]
        assert result["installed"] is (result["name"] in (INSTALLED, INSTALLED_NO_VERSION)), result["name"]
        assert result["loaded"] is False
        assert result["bundled"] is (result["name"] in CATALOGUE_NAMES)
        assert result["version"] == auto_version(raw)
        assert result["npmPackage"] == raw["npm"]["repo"]
        assert result["id"] == assign_ids(READABLE)[result["name"]]
    solana = search(reader, "solana", limit=50)["results"]
    assert solana[0]["name"] == INSTALLED and solana[0]["installed"] is True
    # Every entry that mentions the word (name, description, topics) and nothing else.
    mentions = {n for n in READABLE if "solana" in " ".join(
        [n, GENERATED["registry"][n].get("description") or ""] + GENERATED["registry"][n].get("topics", [])).lower()}
    assert {r["name"] for r in solana} == mentions
    # The exact short id is far above anything that merely mentions it.
    telegram = search(reader, "telegram", limit=5)["results"]
    assert telegram[0]["name"] == "@elizaos/plugin-telegram" and telegram[1]["score"] <= 0.1


def test_search_ignores_case(fake, reader):
    lower = [r["name"] for r in search(reader, "telegram bot", limit=50)["results"]]
    assert lower
    for variant in ("TELEGRAM BOT", "Telegram Bot", "tElEgRaM bOt"):
        assert [r["name"] for r in search(reader, variant, limit=50)["results"]] == lower, variant


def test_search_typos_and_nonsense(fake, reader):
    assert "@elizaos/plugin-solana" in [r["name"] for r in search(reader, "solanna")["results"]]
    nothing = search(reader, "zzqqxxkk")
    assert (nothing["count"], nothing["results"]) == (0, [])
    # Three letters one edit from `evm` are not a typo match.
    assert search(reader, "evn")["count"] == 0
    # Name matches above description-only matches.
    voice = [r["name"] for r in search(reader, "voice", limit=50)["results"]]
    in_name = [n for n in voice if "voice" in n.lower()]
    assert in_name and voice[: len(in_name)] == in_name and len(voice) > len(in_name)


def test_search_limit_default_and_clamping(fake, reader):
    # "plugin" alone is searched (a stop word only next to other words) and matches nearly everything.
    assert search(reader, "plugin")["count"] == 15
    assert search(reader, "plugin", limit="")["count"] == 15
    assert search(reader, "plugin", limit=500)["count"] == 50
    assert search(reader, "plugin", limit=50)["count"] == 50
    assert search(reader, "plugin", limit=7)["count"] == 7
    assert search(reader, "plugin", limit=0)["count"] == 1
    assert search(reader, "plugin", limit=-20)["count"] == 1
    for bad in ("abc", "1.5", "ten", "0x10"):
        response = reader.get("/api/registry/search", params={"q": "plugin", "limit": bad})
        assert response.status_code == 400, bad
        assert "limit" in response.json()["error"]


def test_search_needs_a_query(fake, reader):
    for params in ({}, {"q": ""}, {"q": "   "}, {"q": "x" * 257}):
        response = reader.get("/api/registry/search", params=params)
        assert response.status_code == 400, params
        assert "q" in response.json()["error"]
    assert search(reader, "x" * 256)["count"] == 0


# --- POST /api/registry/refresh -----------------------------------------------------------------


def test_refresh_is_an_operation(fake, admin, reader):
    operation_id = str(uuid.uuid4())
    response = admin.post("/api/registry/refresh", headers={"X-Operation-Id": operation_id})
    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["count"]) == (True, len(READABLE))
    operation = reader.get(f"/api/operations/{operation_id}").json()["operation"]
    assert (operation["kind"], operation["target"], operation["state"]) == ("registry-refresh", "plugin-registry", "succeeded")
    assert operation["result"] == body and operation["error"] is None
    listed = reader.get("/api/operations", params={"target": "plugin-registry"}).json()["operations"]
    assert operation_id in [o["id"] for o in listed]
    # The same id again is refused; a malformed one too.
    again = admin.post("/api/registry/refresh", headers={"X-Operation-Id": operation_id})
    assert again.status_code == 409
    assert admin.post("/api/registry/refresh", headers={"X-Operation-Id": "not-a-uuid"}).status_code == 400


def test_refresh_needs_an_admin_token(fake, reader, registry_stack):
    before = len(fake.requests)
    response = reader.post("/api/registry/refresh")
    assert response.status_code == 403
    with registry_stack.client() as anonymous:
        assert anonymous.post("/api/registry/refresh").status_code == 401
        assert anonymous.get("/api/registry/plugins").status_code == 401
    assert len(fake.requests) == before, "a refused refresh must not reach upstream"


def test_refresh_with_an_unchanged_upstream_is_a_304(fake, admin, reader):
    before = reader.get("/api/registry/plugins", params={"limit": 1}).json()["source"]
    since = time.monotonic()
    time.sleep(0.01)
    response = admin.post("/api/registry/refresh")
    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["count"]) == (True, len(READABLE))
    asked = fake.seen(GENERATED_PATH, since)
    assert len(asked) == 1 and asked[0].status == 304
    route = fake.route(GENERATED_PATH)
    assert asked[0].if_none_match == route.etag and asked[0].if_modified_since == route.last_modified
    assert fake.seen(INDEX_PATH, since) == [], "a 304 from the first URL ends the round"
    # Upstream confirmed the copy: it is fresh again (fetchedAt moves on), nothing else changes.
    assert when(body["source"]["fetchedAt"]) > when(before["fetchedAt"])
    assert body["source"]["url"] == before["url"] and body["source"]["lastError"] is None
    after = reader.get("/api/registry/plugins").json()
    assert after["total"] == len(READABLE) and after["source"] == body["source"]


def test_refresh_picks_up_new_content(fake, admin, reader):
    changed = json.loads(fake.generated_bytes)
    changed["registry"]["@e2e/plugin-brand-new"] = {
        "git": {"repo": "e2e/plugin-brand-new"}, "npm": {"repo": "@e2e/plugin-brand-new", "v1": "1.2.3"},
        "supports": {"v1": True}, "description": "Appeared upstream after the first fetch.", "topics": ["e2e"],
    }
    fake.set(GENERATED_PATH, "ok", body=json.dumps(changed).encode())
    body = admin.post("/api/registry/refresh").json()
    assert body["count"] == len(READABLE) + 1
    plugin = reader.get("/api/registry/plugins/brand-new").json()["plugin"]
    assert (plugin["name"], plugin["npm"]["version"]) == ("@e2e/plugin-brand-new", "1.2.3")
    assert search(reader, "brand new")["results"][0]["name"] == "@e2e/plugin-brand-new"


def test_concurrent_refreshes_share_one_fetch(fake, admin):
    fake.set(GENERATED_PATH, "ok", body=fake.generated_bytes + b" ", delay=1.0)  # new content, slowly
    since = time.monotonic()
    answers = []

    def refresh():
        answers.append(admin.post("/api/registry/refresh").status_code)

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join(30)
    assert len(fake.seen(GENERATED_PATH, since)) == 1
    assert answers == [200, 200, 200]


# --- upstream failures --------------------------------------------------------------------------

FAILURES = {
    "404": "HTTP 404",
    "500": "HTTP 500",
    "invalid-json": "invalid JSON",
    "hang": "",  # the client's own words for a timeout; the URL is what matters
}


@pytest.mark.parametrize("mode", list(FAILURES))
def test_fallback_to_the_index_when_there_is_no_copy_yet(mode):
    """A first start whose generated-registry.json fails: plugind reads index.json instead."""
    with FakeRegistry() as fake:
        fake.set(GENERATED_PATH, mode)
        with run_stack(stack_env(fake.urls)) as stack, stack.client(stack.readToken) as reader:
            started = time.monotonic()
            response = reader.get("/api/registry/plugins")
            assert response.status_code == 200
            assert time.monotonic() - started < 10
            body = response.json()
            assert body["source"]["url"] == fake.url(INDEX_PATH)
            assert body["source"]["format"] == "index"
            assert body["total"] == body["count"] == len(INDEX_READABLE)
            assert [p["name"] for p in body["plugins"]] == INDEX_READABLE
            asked = [s.path for s in fake.requests]
            assert asked[:2] == [GENERATED_PATH, INDEX_PATH]
            # An entry only the index has, with what an index entry can tell.
            nostr = reader.get("/api/registry/plugins/" + quote("@elizaos-plugins/plugin-nostr", safe=""))
            assert nostr.status_code == 200
            plugin = nostr.json()["plugin"]
            assert plugin["repository"] == "https://github.com/" + INDEX["@elizaos-plugins/plugin-nostr"].removeprefix("github:")
            assert (plugin["npm"]["version"], plugin["description"]) == (None, "")
            assert search(reader, "discord")["results"][0]["name"] == "@elizaos/plugin-discord"


@pytest.mark.parametrize("mode", list(FAILURES))
def test_index_only_never_replaces_a_full_copy(fake, admin, reader, mode):
    """With a full copy in hand, an answer from index.json alone is not taken: the refresh fails
    (502) and the full copy stays, with the failure in `source.lastError`."""
    fake.set(GENERATED_PATH, mode)
    response = admin.post("/api/registry/refresh")
    assert response.status_code == 502
    message = one_sentence(response.json()["error"])
    assert "only an index answered" in message
    details = response.json()["details"]
    assert details[0] == f"{fake.url(GENERATED_PATH)}: {FAILURES[mode]}" or (
        details[0].startswith(fake.url(GENERATED_PATH)) and FAILURES[mode] in details[0]), details
    assert details[-1].startswith(fake.url(INDEX_PATH))
    body = reader.get("/api/registry/plugins").json()
    assert (body["total"], body["source"]["format"], body["source"]["url"]) == (len(READABLE), "full", fake.url(GENERATED_PATH))
    assert body["source"]["kind"] == "upstream" and body["source"]["errors"] == details
    one_sentence(body["source"]["lastError"])
    assert reader.get("/api/registry/plugins/" + quote("@elizaos-plugins/plugin-nostr", safe="")).status_code == 404


def test_refresh_failure_keeps_the_old_copy(fake, admin, reader):
    before = reader.get("/api/registry/plugins").json()
    fake.set(GENERATED_PATH, "500")
    fake.set(INDEX_PATH, "404")
    operation_id = str(uuid.uuid4())
    response = admin.post("/api/registry/refresh", headers={"X-Operation-Id": operation_id})
    assert response.status_code == 502
    message = one_sentence(response.json()["error"])
    assert f"the copy fetched {before['source']['fetchedAt'][:19]}" in message and "still served" in message
    assert response.json()["details"] == [f"{fake.url(GENERATED_PATH)}: HTTP 500", f"{fake.url(INDEX_PATH)}: HTTP 404"]
    operation = reader.get(f"/api/operations/{operation_id}").json()["operation"]
    assert (operation["kind"], operation["state"]) == ("registry-refresh", "failed")
    assert operation["error"] == message and operation["result"] is None
    after = reader.get("/api/registry/plugins").json()
    assert after["plugins"] == before["plugins"] and after["total"] == before["total"]
    assert after["source"]["fetchedAt"] == before["source"]["fetchedAt"]
    one_sentence(after["source"]["lastError"])
    assert after["source"]["errors"] == response.json()["details"]
    assert reader.get("/api/registry/plugins/discord").status_code == 200
    assert search(reader, "discord")["results"][0]["name"] == "@elizaos/plugin-discord"
    # Upstream back: the next refresh clears the error.
    fake.reset()
    assert admin.post("/api/registry/refresh").json()["source"]["lastError"] is None
    assert reader.get("/api/registry/plugins").json()["source"]["lastError"] is None


HOSTILE = {
    "huge": "larger than",
    "huge-chunked": "larger than",
    "deep": "deeper than 256",
    "wrong-types": "no usable entries",
}


@pytest.mark.parametrize("mode", list(HOSTILE))
def test_a_hostile_upstream_is_refused_and_plugind_keeps_answering(fake, admin, reader, registry_stack, mode):
    pid = registry_stack.pids["plugind"]
    fake.set(GENERATED_PATH, mode)
    fake.set(INDEX_PATH, mode)
    outcome = {}

    def refresh():
        outcome["response"] = admin.post("/api/registry/refresh", timeout=60)

    worker = threading.Thread(target=refresh)
    worker.start()
    while worker.is_alive():  # plugind answers other requests while it reads the hostile document
        assert reader.get("/api/health").status_code == 200
        time.sleep(0.02)
    worker.join()
    response = outcome["response"]
    assert response.status_code == 502
    one_sentence(response.json()["error"])
    details = response.json()["details"]
    assert len(details) == 2 and all(HOSTILE[mode] in d for d in details), details  # both URLs refused for that reason
    assert pid_alive(pid), "plugind died"
    assert registry_stack.client().get("/api/health").status_code == 200
    body = reader.get("/api/registry/plugins").json()
    assert body["total"] == len(READABLE) and body["source"]["errors"] == details
    assert search(reader, "openai")["results"][0]["name"] == "@elizaos/plugin-openai"
    fake.reset()
    assert admin.post("/api/registry/refresh").status_code == 200
    assert pid_alive(pid)


def test_synthetic_registry_document(fake, admin, reader):
    """A document with an ambiguous short id, an app, entries whose fields all have the wrong type,
    and entries that cannot be read: the readable ones are served (wrong types count as missing),
    the others skipped and counted; `foo` is ambiguous (409 with candidates)."""
    document = {
        "lastUpdatedAt": "2025-06-01T00:00:00Z",
        "registry": {
            "@a/plugin-foo": {"git": {"repo": "a/plugin-foo", "v1": {"version": "v1.0.0", "branch": "main"}},
                              "npm": {"repo": "@a/plugin-foo", "v1": "1.0.0"}, "supports": {"v1": True},
                              "description": "Foo, as a packages it.", "stargazers_count": 3},
            "@b/plugin-foo": {"git": {"repo": "b/plugin-foo"}, "npm": {"repo": "@b/plugin-foo", "v2": "2.0.0-alpha.3"},
                              "supports": {"v2": True}, "description": "Foo, as b packages it."},
            "@c/plugin-wrong": {"git": 5, "npm": "1.0.0", "supports": [True], "description": {"text": "x"},
                                "topics": "ai", "stargazers_count": "many", "homepage": 7, "language": ["ts"],
                                "kind": 3, "author": {"name": 5}, "app": "x", "directory": None},
            "@f/app-demo": {"app": {"displayName": "Demo App", "icon": "demo.png"}, "description": "A demo app.",
                            "npm": {"repo": "@f/app-demo", "v2": "2.1.0"}, "supports": {"v2": True},
                            "git": {"repo": "f/demo", "v2": {"branch": "develop"}}, "directory": "packages/app-demo"},
            "bad name": {"description": "spaces are no npm name"},
            "@d/plugin-number": 42,
            "@e/plugin-escape": {"description": "x", "directory": "../../etc"},
            "@g/plugin-nothing": {"unknown": True},
        },
    }
    fake.set(GENERATED_PATH, "document", body=json.dumps(document).encode())
    refreshed = admin.post("/api/registry/refresh").json()
    assert refreshed["count"] == 4 and refreshed["source"]["skipped"] == 4
    listed = reader.get("/api/registry/plugins").json()
    assert [p["name"] for p in listed["plugins"]] == ["@a/plugin-foo", "@b/plugin-foo", "@c/plugin-wrong", "@f/app-demo"]
    assert listed["source"]["lastUpdatedAt"] == "2025-06-01T00:00:00Z"
    # Two entries share the short id, neither from @elizaos/: both keep their npm names, `foo` is ambiguous.
    assert [p["id"] for p in listed["plugins"][:2]] == ["@a/plugin-foo", "@b/plugin-foo"]
    ambiguous = reader.get("/api/registry/plugins/foo")
    assert ambiguous.status_code == 409
    assert ambiguous.json()["candidates"] == ["@a/plugin-foo", "@b/plugin-foo"]
    assert reader.get("/api/registry/plugins/" + quote("@b/plugin-foo", safe="")).json()["plugin"]["npm"]["version"] == "2.0.0-alpha.3"
    wrong = reader.get("/api/registry/plugins/wrong").json()["plugin"]
    assert wrong["name"] == "@c/plugin-wrong"
    assert (wrong["description"], wrong["tags"], wrong["stars"], wrong["homepage"], wrong["language"]) == ("", [], 0, None, None)
    assert (wrong["npm"], wrong["versions"], wrong["supports"]) == (
        {"package": "@c/plugin-wrong", "version": None, "v0Version": None, "v1Version": None, "v2Version": None}, {}, {})
    assert (wrong["kind"], wrong["author"], wrong["repository"], wrong["git"]) == ("plugin", "c", None, {"repo": None, "v0Branch": None, "v1Branch": None, "v2Branch": None})
    assert "app" not in wrong or wrong["app"] is None
    app = reader.get("/api/registry/plugins/app-demo").json()["plugin"]
    assert (app["kind"], app["displayName"], app["directory"]) == ("app", "Demo App", "packages/app-demo")
    assert app["app"] == {"displayName": "Demo App", "icon": "demo.png"}
    assert app["git"] == {"repo": "f/demo", "v2": {"version": None, "branch": "develop"},
                          "v0Branch": None, "v1Branch": None, "v2Branch": "develop"}
    assert reader.get("/api/registry/plugins", params={"kind": "app"}).json()["total"] == 1
    assert [r["name"] for r in search(reader, "demo app")["results"]][:1] == ["@f/app-demo"]
    for skipped in ("@e/plugin-escape", "@d/plugin-number", "@g/plugin-nothing"):
        assert reader.get("/api/registry/plugins/" + quote(skipped, safe="")).status_code == 404
    # The real registry back (a new ETag: new content).
    fake.reset()
    assert admin.post("/api/registry/refresh").json()["count"] == len(READABLE)


# --- staleness, restarts, no copy at all --------------------------------------------------------


def test_a_stale_copy_is_served_while_upstream_is_down():
    """TTL 1 s: reads of a stale copy answer at once and refresh in the background; when that fails
    the copy keeps being served with the failure in `source.lastError`, and a later success clears it."""
    with FakeRegistry() as fake, run_stack(stack_env(
        fake.urls, PLUGIND_REGISTRY_TTL_SECONDS="1", PLUGIND_REGISTRY_RETRY_SECONDS="1")) as stack, \
            stack.client(stack.readToken) as reader:
        first = reader.get("/api/registry/plugins").json()
        assert first["total"] == len(READABLE) and first["source"]["lastError"] is None
        fake.set(GENERATED_PATH, "500")
        fake.set(INDEX_PATH, "500")
        time.sleep(1.2)  # stale now

        def failed():
            response = reader.get("/api/registry/plugins")
            assert response.status_code == 200
            return response.json()["source"]["lastError"] is not None

        wait_until(failed, 15, "a failed background refresh to show in source.lastError", interval=0.2)
        stale = reader.get("/api/registry/plugins").json()
        assert stale["total"] == len(READABLE)
        assert stale["plugins"] == first["plugins"]
        assert stale["source"]["url"] == fake.url(GENERATED_PATH)
        one_sentence(stale["source"]["lastError"])
        assert stale["source"]["errors"] == [f"{fake.url(GENERATED_PATH)}: HTTP 500", f"{fake.url(INDEX_PATH)}: HTTP 500"]
        fetched_at = stale["source"]["fetchedAt"]
        time.sleep(1.2)
        again = reader.get("/api/registry/plugins").json()
        assert again["source"]["fetchedAt"] == fetched_at, "nothing new was fetched"
        assert reader.get("/api/registry/plugins/discord").status_code == 200
        assert search(reader, "discord")["results"][0]["name"] == "@elizaos/plugin-discord"
        # Upstream back: a read after the retry pause refreshes (a 304: same content) and clears the error.
        fake.reset()

        def recovered():
            source = reader.get("/api/registry/plugins").json()["source"]
            return source["lastError"] is None and when(source["fetchedAt"]) > when(fetched_at)

        wait_until(recovered, 15, "the background refresh to succeed again", interval=0.2)
        assert any(s.status == 304 for s in fake.seen(GENERATED_PATH))


def test_a_restarted_plugind_serves_its_cached_copy_with_upstream_down():
    base = Path(tempfile.mkdtemp(prefix="plugind-e2e-registry-"))
    restarted_on_the_same_state(base / "state")
    if not os.environ.get("PLUGIND_E2E_KEEP"):
        shutil.rmtree(base, ignore_errors=True)  # kept when the test failed, for its logs


def restarted_on_the_same_state(state: Path) -> None:
    fake = FakeRegistry().start()
    urls = fake.urls
    try:
        with run_stack(stack_env(urls), state_dir=state) as stack, stack.client(stack.readToken) as reader:
            before = reader.get("/api/registry/plugins").json()
            assert before["total"] == len(READABLE)
    finally:
        fake.stop()  # upstream gone: nothing listens on its port any more
    # TTL 1 s: the restarted plugind finds its copy stale and tries upstream, which fails.
    env = stack_env(urls, PLUGIND_REGISTRY_TTL_SECONDS="1", PLUGIND_REGISTRY_RETRY_SECONDS="1")
    with run_stack(env, state_dir=state) as stack, stack.client(stack.readToken) as reader, \
            stack.client(stack.adminToken) as admin:
        after = reader.get("/api/registry/plugins")
        assert after.status_code == 200
        body = after.json()
        assert body["plugins"] == before["plugins"] and body["total"] == len(READABLE)
        assert {k: body["source"][k] for k in ("url", "format", "fetchedAt")} == \
            {k: before["source"][k] for k in ("url", "format", "fetchedAt")}
        wait_until(lambda: reader.get("/api/registry/plugins").json()["source"]["lastError"] is not None, 15,
                   "the failed fetch to show in source.lastError", interval=0.2)
        source = reader.get("/api/registry/plugins").json()["source"]
        one_sentence(source["lastError"])
        assert [e.split(": ")[0] for e in source["errors"]] == [fake.url(GENERATED_PATH), fake.url(INDEX_PATH)]
        assert reader.get("/api/registry/plugins/" + quote("@elizaos/plugin-discord", safe="")).status_code == 200
        assert search(reader, "twiter")["results"][0]["name"] == "@elizaos/plugin-twitter"
        refresh = admin.post("/api/registry/refresh")
        assert refresh.status_code == 502 and refresh.json()["details"][0].startswith(fake.url(GENERATED_PATH))
        assert "still served" in one_sentence(refresh.json()["error"])
        assert reader.get("/api/registry/plugins").json()["total"] == len(READABLE)


def test_no_copy_and_upstream_down_serves_the_bundled_catalogue_until_upstream_answers():
    """Issue 20: offline from the first second. Nothing cached and every upstream on a closed port: list,
    details and search answer 200 from plugind's own catalogue (`source.kind: bundled`), the failure is one
    sentence naming the setting with the per-URL reasons beside it; the first real fetch replaces it."""
    port = free_port()  # nothing listens here yet
    urls = f"http://127.0.0.1:{port}{GENERATED_PATH},http://127.0.0.1:{port}{INDEX_PATH}"
    with run_stack(stack_env(urls)) as stack, stack.client(stack.readToken) as reader, \
            stack.client(stack.adminToken) as admin:
        listed = reader.get("/api/registry/plugins")
        assert listed.status_code == 200
        body = listed.json()
        assert {p["name"] for p in body["plugins"]} == CATALOGUE_NAMES and body["total"] == len(CATALOGUE_NAMES)
        source = body["source"]
        assert source["kind"] == "bundled" and source["url"].startswith("file://") and source["url"].endswith("plugins.json")
        assert "2 tried" in one_sentence(source["lastError"])
        assert [e.split(": ")[0] for e in source["errors"]] == urls.split(",")
        for path in ("/api/registry/plugins/discord", "/api/registry/plugins/" + quote("@elizaos/plugin-discord", safe="")):
            response = reader.get(path)
            assert response.status_code == 200, path
            assert response.json()["plugin"]["name"] == "@elizaos/plugin-discord"
        assert "compatible" in reader.get("/api/registry/plugins/openai").json()["plugin"]
        assert search(reader, "discord")["results"][0]["name"] == "@elizaos/plugin-discord"
        assert reader.get("/api/registry/plugins/plugin-that-no-catalogue-has").status_code == 404
        assert reader.get("/api/registry/search").status_code == 400, "a bad query is refused before the registry is needed"
        refresh = admin.post("/api/registry/refresh")
        assert refresh.status_code == 502
        message = one_sentence(refresh.json()["error"])
        assert "bundled catalogue" in message and "previous copy" not in message
        assert [d.split(": ")[0] for d in refresh.json()["details"]] == urls.split(",")
        assert reader.get("/api/health").status_code == 200
        # Upstream comes up: a refresh fetches, and the real copy replaces the bundled one.
        with FakeRegistry(port=port) as fake:
            refreshed = admin.post("/api/registry/refresh")
            assert refreshed.status_code == 200 and refreshed.json()["count"] == len(READABLE)
            source = reader.get("/api/registry/plugins").json()["source"]
            assert (source["url"], source["kind"], source["lastError"], source["errors"]) == (fake.url(GENERATED_PATH), "upstream", None, [])
            assert reader.get("/api/registry/plugins/discord").status_code == 200
            assert search(reader, "discord")["count"] > 0


def test_no_copy_is_retried_in_the_background_once_upstream_is_back():
    """After a failed first fetch, reads answer from the bundled catalogue at once; a read a few seconds
    later starts one background retry, and once upstream is back the real copy replaces it without a refresh."""
    port = free_port()
    urls = f"http://127.0.0.1:{port}{GENERATED_PATH},http://127.0.0.1:{port}{INDEX_PATH}"
    with run_stack(stack_env(urls)) as stack, stack.client(stack.readToken) as reader:
        first = reader.get("/api/registry/plugins")
        assert first.status_code == 200 and first.json()["source"]["kind"] == "bundled"
        assert "POST /api/registry/refresh" in first.json()["source"]["lastError"]
        with FakeRegistry(port=port) as fake:
            deadline = time.monotonic() + 30
            kind = None
            while time.monotonic() < deadline:
                kind = reader.get("/api/registry/plugins").json()["source"]["kind"]
                if kind == "upstream":
                    break
                time.sleep(0.5)
            assert kind == "upstream", "the registry was not fetched again in the background"
            assert reader.get("/api/registry/plugins").json()["total"] == len(READABLE)
            assert [s.path for s in fake.requests].count(GENERATED_PATH) == 1, "one shared retry, not one fetch per read"


# --- the documented shapes are tight ------------------------------------------------------------

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": "r", "ETag": 'W/"a-1"'}
SOURCE = {"url": "https://plugins.elizacloud.ai/generated-registry.json", "format": "full",
          "fetchedAt": "2026-01-01T00:00:00.000Z", "lastUpdatedAt": None, "lastError": None, "skipped": 0,
          "kind": "upstream", "errors": []}
ITEM = {"name": "@elizaos/plugin-x", "id": "x", "displayName": "X", "description": "",
        "npm": {"package": "@elizaos/plugin-x", "version": None, "v0Version": None, "v1Version": None, "v2Version": None},
        "compatible": None, "compatibility": None, "kind": "plugin", "tags": [], "stars": 0, "repository": None,
        "homepage": None, "language": None, "gitRepo": None, "gitUrl": None, "topics": [], "supports": {},
        "git": {"repo": None, "v0Branch": None, "v1Branch": None, "v2Branch": None},
        "installed": False, "installedVersion": None, "loaded": False, "bundled": False}
RESULT = {"name": "@elizaos/plugin-x", "id": "x", "displayName": "X", "description": "", "npmPackage": "@elizaos/plugin-x",
          "version": "1.0.0", "compatible": None, "compatibility": None, "kind": "plugin", "tags": [], "stars": 0,
          "repository": None, "installed": False, "loaded": False, "bundled": False, "score": 1}


@pytest.fixture(scope="module")
def checker() -> OpenAPIChecker:
    return OpenAPIChecker(SPEC_PATH)  # its own: these made-up responses stay out of the suite's tally


def _list(**changes):
    return {"count": 1, "total": 1, "plugins": [{**ITEM, **changes}], "source": SOURCE}


@pytest.mark.parametrize("method,path,status,body,why", [
    ("GET", "/api/registry/plugins", 200, {"count": 0, "total": 0, "plugins": []}, "no source"),
    ("GET", "/api/registry/plugins", 200, _list(installed=None), "installed not a boolean"),
    ("GET", "/api/registry/plugins", 200, _list(installedVersion="1.0.0"), "a version without an install"),
    ("GET", "/api/registry/plugins", 200, _list(extra=1), "an undocumented field"),
    ("GET", "/api/registry/plugins", 200, {**_list(), "source": {**SOURCE, "format": "other"}}, "unknown format"),
    ("GET", "/api/registry/search", 200, {"query": "x", "count": 1, "results": [{**RESULT, "score": 1.5}]}, "score above 1"),
    ("GET", "/api/registry/search", 200, {"query": "x", "count": 1, "results": [{k: v for k, v in RESULT.items() if k != "installed"}]}, "no installed"),
    ("POST", "/api/registry/refresh", 200, {"ok": True, "source": SOURCE}, "no count"),
    ("POST", "/api/registry/refresh", 200, {"ok": False, "count": 1, "source": SOURCE}, "ok false"),
    ("GET", "/api/registry/plugins/%40a%2Fb", 409, {"message": "ambiguous"}, "not the Error shape"),
    ("GET", "/api/registry/plugins", 200, {**_list(), "source": {**SOURCE, "kind": "cached"}}, "unknown source kind"),
    ("GET", "/api/registry/plugins", 200, {**_list(), "source": {k: v for k, v in SOURCE.items() if k != "errors"}}, "no errors"),
    ("POST", "/api/registry/refresh", 502, {"error": "x", "details": "a: b; c: d"}, "details not a list"),
])
def test_the_checker_refuses_registry_shapes_the_document_does_not_allow(checker, method, path, status, body, why):
    with pytest.raises(ResponseNotDocumented):
        checker.check(method, path, status, JSON_HEADERS, json.dumps(body).encode())


def test_the_checker_accepts_the_documented_registry_shapes(checker):
    assert checker.check("GET", "/api/registry/plugins", 200, JSON_HEADERS, json.dumps(_list()).encode())
    outcome = checker.check("GET", "/api/registry/plugins/@elizaos/plugin-x", 404, JSON_HEADERS, b'{"error":"no"}')
    assert outcome.template == "/api/registry/plugins/{name}"
