#!/usr/bin/env python3
"""Resident memory of plugind after the requests issue 24's target 4 names, reproducibly and without nginx.

    memory_probe.py BINARY [--count 10000] [--mappings 12] [--catalogue FILE] [--keep DIR]

Starts the loopback registry upstreams (bench/fake_upstreams.py: the real 290-entry snapshot and a
`bench/make_registry.py` registry of --count entries), then for each one plugind `serve` on a fresh state
directory, talking FastCGI to its socket directly (Tests/e2e/fcgi_client.py). Once its start-up fetch has
loaded the registry it sends, one at a time, `GET /api/plugins`, a full `GET /api/registry/plugins` and
`GET /api/registry/search?q=discord%20bot` (what scripts/bench's registry section does), then prints VmRSS,
RssAnon, RssFile and the largest mappings of /proc/PID/smaps by resident size. Nothing is sent while the
figures are read, so two runs of one binary agree to a few hundred KiB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))

import fcgi_client  # noqa: E402

REAL_REGISTRY = (ROOT / ".." / "shared" / "data" / "registry" / "generated-registry.next.json").resolve()


def status_figures(pid: int) -> dict[str, int]:
    """kB figures of /proc/PID/status."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads"):
            figures[key] = int(value.split()[0])
    return figures


def mappings(pid: int) -> list[tuple[int, int, str]]:
    """(Rss kB, Anonymous kB, name) per mapping of /proc/PID/smaps, grouped by name."""
    grouped: dict[str, list[int]] = {}
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        first = line.split(None, 1)[0]
        if "-" in first and not first.endswith(":"):
            parts = line.split(None, 5)
            name = parts[5].strip() if len(parts) > 5 else "[anonymous]"
            name = f"{name} {parts[1]}" if not name.startswith("[") or name == "[anonymous]" else name
            grouped.setdefault(name, [0, 0])
        elif first == "Rss:":
            grouped[name][0] += int(line.split()[1])
        elif first == "Anonymous:":
            grouped[name][1] += int(line.split()[1])
    return sorted(((rss, anon, name) for name, (rss, anon) in grouped.items()), reverse=True)


def get(sock: str, token: str, uri: str) -> bytes:
    response = fcgi_client.request(sock, "GET", uri, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    if response.status != 200:
        raise SystemExit(f"{uri}: {response.status} {response.body[:200]!r}")
    return response.body


def probe(binary: str, work: Path, label: str, registry_url: str, expected: int, catalogue: str | None, shown: int,
          malloc_stats: bool = False) -> None:
    state = work / f"state-{label}"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir()
    env = dict(os.environ)
    for name in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "PLUGIND_CATALOGUE"):
        env.pop(name, None)
    if catalogue:
        env["PLUGIND_CATALOGUE"] = catalogue
    nowhere = "http://127.0.0.1:9/"
    env.update(PLUGIND_RUNTIME_BRIDGE="none", PLUGIND_PLUGIN_REGISTRY_URLS=registry_url, PLUGIND_NPM_REGISTRY=nowhere + "npm/",
               PLUGIND_AGENT_REGISTRY_URL=nowhere, PLUGIND_ALLOW_UNLISTED_PACKAGES="true")
    token = subprocess.run([binary, "token", "create", "--role", "admin", "--state-dir", str(state)], env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    sock = str(work / f"{label}.sock")
    log = open(work / f"{label}.log", "w")
    server = subprocess.Popen([binary, "serve", "--state-dir", str(state), "--socket", sock], env=env, stdin=subprocess.DEVNULL,
                              stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.time() + 60
        while not os.path.exists(sock):
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit(f"plugind ({label}) did not start; see {work / (label + '.log')}")
            time.sleep(0.05)
        total = json.loads(get(sock, token, "/api/registry/plugins?limit=1"))["total"]
        if total != expected:
            raise SystemExit(f"plugind ({label}) lists {total} entries, not {expected}")
        time.sleep(0.5)
        loaded = status_figures(server.pid)
        if malloc_stats:
            with open(work / f"{label}.log", "a") as marker:
                marker.write("--- loaded\n")
            subprocess.run(["gdb", "-p", str(server.pid), "-batch", "-ex", "call (void)malloc_stats()"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        get(sock, token, "/api/plugins")
        full = get(sock, token, "/api/registry/plugins")
        get(sock, token, "/api/registry/search?q=discord%20bot")
        time.sleep(0.5)
        after = status_figures(server.pid)

        def mib(kb: int) -> str:
            return f"{kb / 1024:.1f}"

        print(f"## {label}: {expected} entries, list answer {len(full):,} bytes")
        print(f"loaded:  VmRSS {mib(loaded['VmRSS'])} MiB (anon {mib(loaded['RssAnon'])}, file {mib(loaded['RssFile'])})")
        print(f"after:   VmRSS {mib(after['VmRSS'])} MiB (anon {mib(after['RssAnon'])}, file {mib(after['RssFile'])}), "
              f"peak {mib(after['VmHWM'])} MiB, {after['Threads']} threads")
        if malloc_stats:
            # glibc's own account, per arena, into plugind's log; then what a trim of every arena gives back.
            subprocess.run(["gdb", "-p", str(server.pid), "-batch", "-ex", "call (void)malloc_stats()", "-ex", "call (int)malloc_trim(0)"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            trimmed = status_figures(server.pid)
            print(f"trimmed: VmRSS {mib(trimmed['VmRSS'])} MiB (anon {mib(trimmed['RssAnon'])}); malloc_stats in {work / (label + '.log')}")
        if shown:
            print(f"largest mappings (Rss kB, of it anonymous kB):")
            for rss, anon, name in mappings(server.pid)[:shown]:
                print(f"  {rss:8d} {anon:8d}  {name}")
        sys.stdout.flush()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--mappings", type=int, default=12, help="how many of the largest mappings to show (0: none)")
    parser.add_argument("--catalogue", help="PLUGIND_CATALOGUE for both (default: the shipped catalogue)")
    parser.add_argument("--only", choices=("real", "big"), help="probe one of the two")
    parser.add_argument("--malloc-stats", action="store_true", help="have gdb print glibc's malloc_stats into plugind's log, then trim")
    parser.add_argument("--keep", help="work in this directory and leave it (default: a temporary one)")
    args = parser.parse_args()
    binary = str(Path(args.binary).resolve())
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="memory-probe."))
    work.mkdir(parents=True, exist_ok=True)
    big = work / "registry-big.json"
    if not big.exists():
        subprocess.run([sys.executable, str(HERE / "make_registry.py"), "registry", str(REAL_REGISTRY), str(big), "--count", str(args.count)],
                       check=True, stdout=subprocess.DEVNULL)
    ready = work / "upstreams.json"
    if ready.exists():
        ready.unlink()
    upstreams = subprocess.Popen([sys.executable, str(HERE / "fake_upstreams.py"), "--ready", str(ready), "--registry", f"real={REAL_REGISTRY}",
                                  "--registry", f"big={big}", "--packages", "0"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=open(work / "upstreams.log", "w"), start_new_session=True)
    try:
        deadline = time.time() + 60
        while not ready.exists():
            if upstreams.poll() is not None or time.time() > deadline:
                raise SystemExit(f"bench/fake_upstreams.py did not get ready; see {work / 'upstreams.log'}")
            time.sleep(0.1)
        urls = json.loads(ready.read_text())["registries"]
        print(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}, {time.strftime('%H:%M:%S')}")
        if args.only != "big":
            probe(binary, work, "real", urls["real"], len(json.loads(REAL_REGISTRY.read_text())["registry"]), args.catalogue, args.mappings, args.malloc_stats)
        if args.only != "real":
            probe(binary, work, "big", urls["big"], args.count, args.catalogue, args.mappings, args.malloc_stats)
    finally:
        upstreams.send_signal(signal.SIGTERM)
        upstreams.wait(10)
        for suffix in ("-real", "-big"):
            for sock in work.glob(f"*{suffix}.sock"):
                sock.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
