"""Compression through nginx (issue 24): the API's JSON and the dashboard's files come gzip-compressed to a
client that asks for it and plain to one that does not, and an ETag from either revalidates to 304.
The bytes on the wire of the dashboard's first load are printed with and without compression
(docs/performance.md quotes them); no test asserts a size ratio beyond "smaller"."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import requests

from helpers import REPO

DASHBOARD = REPO / "nginx" / "dashboard"


def fetch(stack, path: str, *, gzip_ok: bool, token: str | None = None, headers: dict | None = None):
    """GET through nginx; the answer's body as it travelled (still compressed when it was)."""
    all_headers = {"Accept-Encoding": "gzip" if gzip_ok else "identity"}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    all_headers.update(headers or {})
    response = requests.get(stack.origin + path, headers=all_headers, verify=stack.ca, stream=True, timeout=30)
    wire = response.raw.read(decode_content=False)
    response.close()
    return response, wire


def body(response, wire: bytes) -> bytes:
    return gzip.decompress(wire) if response.headers.get("Content-Encoding") == "gzip" else wire


@pytest.mark.parametrize("path", ["/api/plugins", "/api/registry/plugins", "/api/plugins/openai"])
def test_json_comes_compressed_only_to_a_client_that_asks(stack, path):
    plain, plain_wire = fetch(stack, path, gzip_ok=False, token=stack.readToken)
    packed, packed_wire = fetch(stack, path, gzip_ok=True, token=stack.readToken)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers.get("Content-Encoding") == "gzip", dict(packed.headers)
    assert "Accept-Encoding" in packed.headers.get("Vary", "")
    # The same answer either way, and the same tag: weak, so compression does not change it.
    assert body(packed, packed_wire) == plain_wire
    assert packed.headers["ETag"] == plain.headers["ETag"] and plain.headers["ETag"].startswith('W/"')
    assert len(packed_wire) < len(plain_wire)


def test_an_etag_from_a_compressed_answer_revalidates(stack):
    first, _ = fetch(stack, "/api/plugins", gzip_ok=True, token=stack.readToken)
    tag = first.headers["ETag"]
    for gzip_ok in (True, False):
        again, wire = fetch(stack, "/api/plugins", gzip_ok=gzip_ok, token=stack.readToken, headers={"If-None-Match": tag})
        assert again.status_code == 304 and wire == b"", (gzip_ok, again.status_code)
        assert again.headers["ETag"] == tag
    # The tag without its W/ (as some clients send it) matches too.
    strong = tag.removeprefix("W/")
    again, _ = fetch(stack, "/api/plugins", gzip_ok=True, token=stack.readToken, headers={"If-None-Match": strong})
    assert again.status_code == 304


def test_small_answers_and_errors_are_sent_as_they_are(stack):
    health, wire = fetch(stack, "/api/health", gzip_ok=True)
    assert health.status_code == 200 and "Content-Encoding" not in health.headers and wire.startswith(b"{")
    missing, wire = fetch(stack, "/api/no-such-route", gzip_ok=True, token=stack.readToken)
    assert missing.status_code == 404 and "Content-Encoding" not in missing.headers and b"error" in wire


def dashboard_files() -> list[str]:
    return sorted("/" + str(p.relative_to(DASHBOARD)) for p in DASHBOARD.rglob("*") if p.is_file())


def test_the_dashboard_files_come_compressed_and_the_first_load_is_smaller(stack):
    files = dashboard_files()
    assert "/index.html" in files and any(f.endswith(".js") for f in files) and any(f.endswith(".css") for f in files)
    totals = {False: 0, True: 0}
    for path in files:
        for gzip_ok in (False, True):
            response, wire = fetch(stack, path, gzip_ok=gzip_ok)
            assert response.status_code == 200, path
            totals[gzip_ok] += len(wire)
            if gzip_ok and path.endswith((".js", ".css", ".html")) and (DASHBOARD / path[1:]).stat().st_size >= 1024:
                assert response.headers.get("Content-Encoding") == "gzip", path
                assert body(response, wire) == (DASHBOARD / path[1:]).read_bytes(), path
    # What the dashboard asks the API for on its first load (the session, then the plugin list).
    for path in ("/api/session", "/api/plugins"):
        for gzip_ok in (False, True):
            response, wire = fetch(stack, path, gzip_ok=gzip_ok, token=stack.readToken)
            assert response.status_code == 200, path
            totals[gzip_ok] += len(wire)
    assert totals[True] < totals[False]
    print(f"\ndashboard first load on the wire: {totals[False]} bytes plain, {totals[True]} bytes with gzip "
          f"({totals[True] / totals[False]:.2f}x)")
