"""Contract fuzzing (issue 10): Schemathesis against the live stack through nginx, every route of
docs/openapi.yaml, with an admin token.

Checks: `not_a_server_error` (no 500; 502/503/504/507 are allowed here because
`status_code_conformance` already holds each to the statuses documented for its route),
`status_code_conformance`, `content_type_conformance`, `response_schema_conformance`,
`response_headers_conformance`, and no hang (each request has a timeout; one that expires is an
error of the run). The budget is bounded: `--max-examples` per operation (PLUGIND_FUZZ_MAX_EXAMPLES,
default 8), deterministic generation (the same cases every run, so CI is repeatable), one worker, and
a hard timeout on the whole run (PLUGIND_FUZZ_TIMEOUT seconds, default 240).

Each run has its own stack, so the fuzzer's changes (PUTs, toggles, refreshes) touch no other test:
- `upstreams-up`: the plugin registry is the loopback fake serving the real snapshot; npm, the agent
  registry and git point at nothing (a closed port, `file:///nonexistent/`), the runtime bridge at a
  socket nobody listens on — every outside call fails at once;
- `upstreams-down`: the same, with no plugin registry either (no snapshot: the 503 paths).

Failures the fuzzer found are kept below as regression tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import _run_stack, get_checker  # noqa: E402
from helpers import REPO, SPEC_PATH  # noqa: E402

MAX_EXAMPLES = int(os.environ.get("PLUGIND_FUZZ_MAX_EXAMPLES", "8"))
RUN_TIMEOUT = float(os.environ.get("PLUGIND_FUZZ_TIMEOUT", "240"))
REQUEST_TIMEOUT = 30  # seconds; every upstream here fails within ~3 s, so this only trips on a hang
CLOSED = "http://127.0.0.1:9"
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
])
# `not_a_server_error` fails every 5xx by default; here only what is never documented (500, 501, …)
# is a server error — status_code_conformance checks that each 502/503/504/507 is documented.
CONFIG = """\
[checks.not_a_server_error]
expected-statuses = ["1XX", "2XX", "3XX", "4XX", "502", "503", "504", "507"]
"""


def schemathesis_cli() -> Path:
    cli = Path(sys.executable).with_name("schemathesis")
    if not cli.exists():
        pytest.fail(f"schemathesis is not installed in {cli.parent} (pip install -r Tests/e2e/requirements.txt)")
    return cli


def base_env(registry_urls: str) -> dict[str, str]:
    return {
        "PLUGIND_RUNTIME_BRIDGE": "none",  # no agent host; the flag in `bridge_args` names a dead socket
        "PLUGIND_PLUGIN_REGISTRY_URLS": registry_urls,
        "PLUGIND_NPM_REGISTRY": f"{CLOSED}/npm/",
        "PLUGIND_AGENT_REGISTRY_URL": CLOSED,
        "PLUGIND_GIT_BASE_URL": "file:///nonexistent/",
        "PLUGIND_TIMEOUT_CONNECT_MS": "1000",
        "PLUGIND_TIMEOUT_FETCH_MS": "3000",
        "PLUGIND_TIMEOUT_TARBALL_MS": "3000",
        "PLUGIND_TIMEOUT_TARBALL_IDLE_MS": "2000",
        "PLUGIND_TIMEOUT_NPM_MS": "20000",
        "PLUGIND_TIMEOUT_GIT_MS": "20000",
        "PLUGIND_TIMEOUT_CHECK_MS": "2000",
    }


def bridge_args(state: Path) -> list[str]:
    return ["--set", f"runtimeBridge=unix:{state}/nobridge.sock"]


@pytest.fixture(scope="module")
def fake_registry():
    from fake_registry import FakeRegistry

    with FakeRegistry(hang_seconds=10) as registry:
        yield registry


@pytest.fixture(scope="module", params=["upstreams-up", "upstreams-down"])
def fuzz_stack(request, fake_registry):
    urls = fake_registry.urls if request.param == "upstreams-up" else f"{CLOSED}/generated-registry.json"
    with contextlib.contextmanager(_run_stack)(base_env(urls), plugind_args=bridge_args) as stack:
        stack.kind = request.param
        yield stack


def failures_in(junit: Path) -> list[str]:
    """`operation: message` for every failed or errored case of the JUnit report."""
    out = []
    for path in sorted(junit.parent.glob(junit.name)):
        for case in ET.parse(path).getroot().iter("testcase"):
            for problem in list(case.iter("failure")) + list(case.iter("error")):
                text = (problem.get("message") or problem.text or "").strip()
                out.append(f"{case.get('name')}: {text[:1500]}")
    return out


def test_schemathesis_finds_no_contract_violation(fuzz_stack, tmp_path):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    reports = tmp_path / "reports"
    argv = [
        str(schemathesis_cli()), "--config-file", str(config), "--no-color",
        "run", str(SPEC_PATH),
        "--url", fuzz_stack.url,
        "--header", f"Authorization: Bearer {fuzz_stack.adminToken}",
        "--tls-verify", fuzz_stack.ca if isinstance(fuzz_stack.ca, str) else "false",
        "--checks", CHECKS,
        "--max-examples", str(MAX_EXAMPLES),
        "--generation-deterministic",  # the same cases every run (and no example database written)
        "--workers", "1",
        "--request-timeout", str(REQUEST_TIMEOUT),
        "--continue-on-failure",
        "--output-truncate", "false",
        "--report", "junit", "--report-dir", str(reports), "--report-junit-path", str(reports / "junit.xml"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}  # loopback only
    env.pop("SCHEMATHESIS_HOOKS", None)
    try:
        result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as expired:
        out = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        pytest.fail(f"schemathesis did not finish within {RUN_TIMEOUT:.0f} s ({fuzz_stack.kind}):\n{out[-6000:]}")
    summary = result.stdout[-3000:]
    print(f"\nschemathesis ({fuzz_stack.kind}, max {MAX_EXAMPLES} examples per operation):\n"
          + "\n".join(line for line in result.stdout.splitlines()[-20:] if line.strip()))
    if result.returncode != 0:
        found = failures_in(reports / "junit.xml")
        detail = "\n\n".join(found) if found else result.stdout[-12000:]
        pytest.fail(f"schemathesis found contract violations ({fuzz_stack.kind}), exit {result.returncode}:\n{detail}\n"
                    f"----- summary -----\n{summary}\n{result.stderr[-2000:]}")
    assert "generated" in result.stdout, f"schemathesis ran no test case:\n{summary}"


# --- regressions of what the fuzzer found ----------------------------------------------------------


@pytest.fixture(scope="module")
def quiet_stack(fake_registry, tmp_path_factory):
    """One stack for the regression tests below (the fuzz stacks are for the fuzzer alone). The agent bundles
    agent-orchestrator, so it has code to eject (a plugin without code is refused before any clone)."""
    bundled = tmp_path_factory.mktemp("bundled")
    package = bundled / "@elizaos" / "plugin-agent-orchestrator"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@elizaos/plugin-agent-orchestrator", "version": "1.0.0"}))
    for path in (bundled, *bundled.parents):  # plugind runs as its own user: it passes through to the folder
        if str(path).startswith(tempfile.gettempdir() + "/"):
            path.chmod(0o755)
    env = {**base_env(fake_registry.urls), "PLUGIND_BUNDLED_PLUGINS_DIR": str(bundled)}
    with contextlib.contextmanager(_run_stack)(env, plugind_args=bridge_args) as stack:
        yield stack


API_PATHS = ["/api/health", "/api/plugins", "/api/plugins/matrix", "/api/plugins/install", "/api/runtime/restart",
             "/api/registry/plugins"]


def test_trace_on_an_api_path_is_a_json_405_with_allow(quiet_stack):
    """Found by schemathesis (ST204, `unsupported_method`): nginx refuses TRACE itself, before any
    location, with its HTML 405 page and no `Allow` — not the JSON error every /api response is, and
    not what `x-unlisted-method-responses` documents (405 with `Allow`, an Error body)."""
    problems = []
    with requests.Session() as session:
        session.trust_env = False
        for path in API_PATHS:
            response = session.request("TRACE", quiet_stack.url + path, headers={"Authorization": f"Bearer {quiet_stack.adminToken}"},
                                       verify=quiet_stack.ca, timeout=30, allow_redirects=False)
            kind = response.headers.get("Content-Type", "")
            if response.status_code != 405 or not kind.startswith("application/json") or not response.headers.get("Allow"):
                problems.append(f"TRACE {path}: {response.status_code} {kind!r} Allow={response.headers.get('Allow')!r} "
                                f"body {response.text[:80]!r}")
                continue
            assert "TRACE" not in response.headers["Allow"]
            get_checker().check("TRACE", quiet_stack.url + path, response.status_code, dict(response.headers), response.content)
    assert not problems, "\n".join(problems)


def test_a_failed_clone_says_why(quiet_stack):
    """Found by schemathesis (POST /api/plugins/{id}/eject, a documented 502): the error was
    "git clone failed: and the repository exists." — the last line of git's message ("Please make
    sure you have the correct access rights / and the repository exists."), which tells a person
    nothing. It must carry git's `fatal:` line (what failed, for which repository)."""
    with quiet_stack.client(quiet_stack.adminToken) as admin:
        response = admin.post("/api/plugins/agent-orchestrator/eject", timeout=60)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert not error.rstrip().endswith("and the repository exists."), error
    assert "nonexistent" in error or "does not appear to be a git repository" in error, \
        f"the clone error does not say which repository failed or why: {error!r}"


def test_an_unreachable_runtime_bridge_is_named_in_the_error(quiet_stack):
    """Found while fuzzing (POST /api/runtime/restart, a documented 503): with the bridge on a unix
    socket nobody listens on, the error read "cannot connect to http://localhost/v1/restart: Failed
    to connect to localhost port 80" — libcurl's placeholder URL for a unix socket. A person looks
    for something on port 80; the message must name the socket."""
    with quiet_stack.client(quiet_stack.adminToken) as admin:
        response = admin.post("/api/runtime/restart", timeout=30)
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert "nobridge.sock" in error, f"the error does not name the bridge socket: {error!r}"
    assert "port 80" not in error, error


def test_schemathesis_is_pinned_in_the_requirements():
    requirements = (REPO / "Tests" / "e2e" / "requirements.txt").read_text()
    assert any(line.startswith("schemathesis") for line in requirements.splitlines()), requirements
    assert shutil.which("schemathesis", path=str(Path(sys.executable).parent)), "schemathesis is not installed in the venv"
