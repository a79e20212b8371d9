"""GET /api/metrics end to end (issue 22): a real Prometheus scrapes a dev stack through nginx.

The stack is `scripts/run`'s (nginx with TLS, plugind, the reference agent host on the runtime bridge), its
plugin registry pointed at the fake upstream of `fake_registry.py`. Debian's `prometheus` (installed by
scripts/test; its own service is never started) runs as a process of this module: its own configuration, a free
loopback port, a temporary data directory, and a scrape job that reads `/api/metrics` over HTTPS through nginx with
a read token from a file, every second. The tests then make requests, operations and refreshes happen and ask
Prometheus (its HTTP query API, PromQL) whether the series moved. Every `expr` of docs/grafana-dashboard.json is
run against that Prometheus too, since Grafana itself is not in Debian.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest
import requests

from conftest import NPM_TOKEN_SECRET, _run_stack
from fake_registry import GENERATED_PATH, GENERATED_SNAPSHOT, INDEX_PATH, FakeRegistry
from helpers import REPO, Process, free_port, wait_until

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
DASHBOARD = REPO / "docs" / "grafana-dashboard.json"
SCRAPE_WAIT = 30.0
OPENAI_SECRET = "sk-metrics-e2e-secret-0123456789abcdef"
# What Grafana puts in place of its variables when the dashboard runs.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "5m", "$job": "plugind"}


class PromQL:
    """Prometheus' HTTP query API."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()
        self.session.trust_env = False

    def query(self, expr: str) -> list[dict]:
        response = self.session.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", f"{expr}: {response.status_code} {body}"
        return body["data"]["result"]

    def value(self, expr: str) -> float | None:
        """The single sample `expr` answers (summed when several), None when it answers nothing."""
        result = self.query(expr)
        return sum(float(sample["value"][1]) for sample in result) if result else None

    def wait_for(self, expr: str, predicate, what: str) -> float:
        seen: list[float | None] = [None]

        def check() -> bool:
            seen[0] = self.value(expr)
            return seen[0] is not None and predicate(seen[0])

        try:
            wait_until(check, SCRAPE_WAIT, what, interval=0.5)
        except TimeoutError:
            pytest.fail(f"{what}: Prometheus answers {seen[0]!r} for {expr}")
        return seen[0]


@pytest.fixture(scope="module")
def upstream() -> FakeRegistry:
    if not GENERATED_SNAPSHOT.is_file():
        pytest.fail(f"the real registry snapshot is not at {GENERATED_SNAPSHOT} (../shared beside the clone)")
    with FakeRegistry() as fake:
        yield fake


@pytest.fixture(scope="module")
def metrics_stack(upstream):
    yield from _run_stack({
        "PLUGIND_PLUGIN_REGISTRY_URLS": upstream.urls, "PLUGIND_TIMEOUT_FETCH_MS": "1500", "PLUGIND_TIMEOUT_CONNECT_MS": "1000",
    })


@pytest.fixture(scope="module")
def prometheus(metrics_stack, tmp_path_factory) -> PromQL:
    if not os.access(PROMETHEUS, os.X_OK):
        pytest.fail(f"no prometheus at {PROMETHEUS}: scripts/test installs Debian's (apt-get install --no-install-recommends prometheus)")
    home = tmp_path_factory.mktemp("prometheus")
    token = home / "plugind-read-token"
    token.write_text(metrics_stack.readToken)
    token.chmod(0o600)
    port = free_port()
    # YAML is a superset of JSON: the configuration is written as JSON.
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{
            "job_name": "plugind",
            "scheme": "https",
            "metrics_path": "/api/metrics",
            # The dev stack's certificate is self-signed.
            "tls_config": {"insecure_skip_verify": True},
            "authorization": {"type": "Bearer", "credentials_file": str(token)},
            "static_configs": [{"targets": [f"127.0.0.1:{metrics_stack.port}"]}],
        }],
    }
    (home / "prometheus.yml").write_text(json.dumps(config, indent=2))
    process = Process(
        [PROMETHEUS, f"--config.file={home / 'prometheus.yml'}", f"--storage.tsdb.path={home / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h", "--log.level=warn"],
        log_path=home / "prometheus.log", cwd=home, new_session=True)
    client = PromQL(f"http://127.0.0.1:{port}")

    def ready() -> bool:
        if not process.alive():
            pytest.fail(f"prometheus exited: {(home / 'prometheus.log').read_text()[-3000:]}")
        try:
            return client.session.get(f"{client.url}/-/ready", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(ready, 60, "prometheus to be ready", interval=0.2)
        client.wait_for('up{job="plugind"}', lambda v: v == 1, "Prometheus scraping plugind through nginx")
        yield client
    finally:
        status = process.stop(signal.SIGTERM, timeout=30)
        assert status == 0, (home / "prometheus.log").read_text()[-3000:]


@pytest.fixture
def admin(metrics_stack):
    with metrics_stack.client(metrics_stack.adminToken) as session:
        yield session


@pytest.fixture
def reader(metrics_stack):
    with metrics_stack.client(metrics_stack.readToken) as session:
        yield session


@pytest.fixture
def anon(metrics_stack):
    with metrics_stack.client() as session:
        yield session


def test_the_scrape_goes_through_nginx_with_a_read_token(prometheus, metrics_stack, anon, reader):
    """Prometheus' target is up; the scrapes themselves are counted under their route; without a token it is 401."""
    assert prometheus.value('up{job="plugind"}') == 1
    prometheus.wait_for('plugind_http_requests_total{route="/api/metrics",method="GET",status="200"}', lambda v: v >= 2,
                        "the scrapes counted under /api/metrics")
    assert anon.get("/api/metrics").status_code == 401
    answer = reader.get("/api/metrics")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert answer.headers["Cache-Control"] == "no-store"


def test_requests_are_counted_by_route_as_they_happen(prometheus, anon, reader):
    """Health checks and plugin lists move their counters and histograms; a made-up path counts as `unmatched`."""
    health = 'plugind_http_requests_total{route="/api/health",method="GET",status="200"}'
    assert anon.get("/api/health").status_code == 200
    before = prometheus.wait_for(health, lambda v: v >= 1, "the first health check")
    for _ in range(5):
        assert anon.get("/api/health").status_code == 200
    prometheus.wait_for(health, lambda v: v >= before + 5, "five more health checks")
    assert reader.get("/api/plugins").status_code == 200
    prometheus.wait_for('plugind_http_request_duration_seconds_count{route="/api/plugins"}', lambda v: v >= 1,
                        "the plugin list's latency")
    assert reader.get("/api/made-up-path-for-metrics").status_code == 404
    prometheus.wait_for('plugind_http_requests_total{route="unmatched",status="404"}', lambda v: v >= 1, "an unmatched request")
    series = prometheus.query('{__name__="plugind_http_requests_total"}')
    assert not any("made-up-path" in json.dumps(s["metric"]) for s in series)


def test_operations_and_registry_refreshes(prometheus, admin, upstream):
    """A refresh is an operation: it counts by outcome, and the registry's copy, its age and the failures follow."""
    ok = 'plugind_operations_total{kind="registry-refresh",outcome="succeeded"}'
    before = prometheus.value(ok) or 0
    assert admin.post("/api/registry/refresh").status_code == 200
    prometheus.wait_for(ok, lambda v: v >= before + 1, "a refresh that succeeded")
    entries = len(json.loads(GENERATED_SNAPSHOT.read_text())["registry"])
    prometheus.wait_for("plugind_registry_entries", lambda v: v == entries, "the registry's entries")
    prometheus.wait_for("plugind_registry_snapshot_age_seconds", lambda v: 0 <= v < 600, "the age of the registry copy")
    prometheus.wait_for('plugind_operation_duration_seconds_count{kind="registry-refresh",outcome="succeeded"}', lambda v: v >= 1,
                        "the refresh's duration")

    failures = prometheus.value("plugind_registry_refresh_failures_total") or 0
    failed = prometheus.value('plugind_operations_total{kind="registry-refresh",outcome="failed"}') or 0
    upstream.set(GENERATED_PATH, "500")
    upstream.set(INDEX_PATH, "500")
    try:
        assert admin.post("/api/registry/refresh").status_code == 502
    finally:
        upstream.reset()
    prometheus.wait_for("plugind_registry_refresh_failures_total", lambda v: v >= failures + 1, "a refresh failure")
    prometheus.wait_for('plugind_operations_total{kind="registry-refresh",outcome="failed"}', lambda v: v >= failed + 1,
                        "the failed refresh operation")
    prometheus.wait_for("plugind_operations_running", lambda v: v == 0, "no operation left running")


def test_runtime_workers_and_process(prometheus, metrics_stack):
    """The agent host is attached and running; the FastCGI pool and the process report themselves."""
    prometheus.wait_for("plugind_runtime_attached", lambda v: v == 1, "the runtime attached")
    prometheus.wait_for('plugind_runtime_state{state="running"}', lambda v: v == 1, "the runtime running")
    assert prometheus.value("plugind_runtime_plugins_loaded") is not None
    assert prometheus.value("plugind_runtime_plugins_failed") is not None
    # The scrape itself is being answered when the gauges are read.
    assert prometheus.value("plugind_fastcgi_workers_busy") >= 1
    assert prometheus.value("plugind_fastcgi_workers") >= prometheus.value("plugind_fastcgi_workers_busy")
    assert prometheus.value("process_resident_memory_bytes") > 1 << 20
    assert prometheus.value("process_open_fds") > 3
    assert prometheus.value('plugind_agent_registry_heartbeats_total{outcome="failed"}') is not None


def test_no_secret_value_appears_in_any_metric(prometheus, metrics_stack, admin, reader):
    """A secret PUT to a plugin, the stack's npm token and the tokens never show in the text nor in any label."""
    assert admin.put("/api/plugins/openai", json={"config": {"OPENAI_API_KEY": OPENAI_SECRET}}).status_code == 200
    prometheus.wait_for('plugind_http_requests_total{route="/api/plugins/:id",method="PUT",status="200"}', lambda v: v >= 1,
                        "the PUT counted under its pattern")
    text = reader.get("/api/metrics").text
    secrets = [OPENAI_SECRET, NPM_TOKEN_SECRET, metrics_stack.adminToken, metrics_stack.readToken]
    for secret in secrets:
        assert secret not in text
    response = prometheus.session.get(f"{prometheus.url}/api/v1/series", params={"match[]": '{job="plugind"}'}, timeout=10)
    labels = json.dumps(response.json()["data"])
    for secret in secrets:
        assert secret not in labels


def dashboard_targets() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found.append((panel["title"], target["expr"]))
    return found


def test_the_dashboard_is_a_grafana_dashboard_over_a_prometheus_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("requests", "latency", "operations", "registry snapshot age", "runtime"):
        assert topic in titles
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"] and {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]


def test_every_dashboard_query_answers_from_the_real_prometheus(prometheus, admin, anon):
    """Each panel's PromQL, with Grafana's variables filled in, is valid and has data once the stack did some work."""
    # Something for every panel to show: requests, a refresh (an operation), two scrapes' worth of rates.
    assert anon.get("/api/health").status_code == 200
    assert admin.post("/api/registry/refresh").status_code == 200
    prometheus.wait_for('plugind_operations_total{kind="registry-refresh",outcome="succeeded"}', lambda v: v >= 1, "a refresh")
    time.sleep(3)
    empty = []
    for title, expr in dashboard_targets():
        for name, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(name, value)
        assert "$" not in expr, f"{title}: a variable the test does not know in {expr}"
        if not prometheus.query(expr):
            empty.append(f"{title}: {expr}")
    assert empty == [], "dashboard queries without data:\n" + "\n".join(empty)


def test_the_operations_guide_lists_every_series(reader):
    """docs/deployment.md's metrics section names every series plugind exposes."""
    text = reader.get("/api/metrics").text
    names = set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))
    guide = (REPO / "docs" / "deployment.md").read_text()
    start = guide.index("## 13. Metrics")
    end = guide.find("\n## ", start + 5)
    section = guide[start: end if end != -1 else None]
    assert names, text[:500]
    missing = sorted(name for name in names if f"`{name}`" not in section)
    assert missing == [], f"not in docs/deployment.md, section 13: {missing}"


def test_metrics_off_is_a_404_naming_the_setting(upstream):
    """`PLUGIND_METRICS=false`: the route answers 404 through nginx, its error naming the setting."""
    for stack in _run_stack({"PLUGIND_METRICS": "false", "PLUGIND_PLUGIN_REGISTRY_URLS": upstream.urls, "PLUGIND_RUNTIME_BRIDGE": "none"}):
        with stack.client(stack.readToken) as reader:
            answer = reader.get("/api/metrics")
            assert answer.status_code == 404
            assert "'metrics'" in answer.json()["error"]
            assert reader.get("/api/health").status_code == 200
