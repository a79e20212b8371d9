#!/usr/bin/env python3
"""The writes that run during scripts/bench --load, while wrk reads.

    BENCH_TOKEN=... load_driver.py --url http://127.0.0.1:PORT --packages READY.json --skip N
                                   --agent-config milady.json --catalogue plugins.json
                                   --stop-file FILE --out JSON
                                   [--installs 1] [--puts-per-second 5] [--refresh-every 10]

Until FILE (--stop-file) exists, at the stated write rates (the defaults are issue 24's: one install
at a time, 5 config PUTs a second, a registry refresh every 10 s; 0 turns a kind off), each request
over its own keep-alive-less connection:
- installs: `POST /api/plugins/install` of the fake npm registry's packages from index N on (fresh
  names, not installed before), --installs of them at a time, each thread one after another;
- config writes: `PUT /api/plugins/:id {"config": {KEY: value}}`, --puts-per-second of them, started
  on a fixed schedule (a slow answer delays the next, it does not add to the rate), cycling over the
  configured plugins of the bench agent config, each time a new value for one of their string
  parameters (from the catalogue);
- registry refreshes: `POST /api/registry/refresh` every --refresh-every seconds.
Every answer is counted by kind: 2xx as ok, anything else (or no answer) as failed with its status.
JSON (--out): per kind {ok, failed, statuses}, the rates asked for (`rates`), plus a one-line `summary`.

    load_driver.py --sum RESULT.json...

prints the one-line summary of several runs' results together (the rounds of one load run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from urllib.parse import quote

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(method: str, url: str, token: str, body: dict | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with NO_PROXY.open(request, timeout=600) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code
    except OSError:
        return 0


KINDS = ("install", "config PUT", "registry refresh")


def summary(result: dict) -> str:
    """`install: 3 ok, 0 failed; config PUT: …`, with the statuses of the failed ones."""
    parts = []
    for kind in KINDS:
        r = result[kind]
        text = f"{kind}: {r['ok']} ok, {r['failed']} failed"
        if r["failed"]:
            text += " (statuses " + ", ".join(f"{k}×{v}" for k, v in r["statuses"].items()) + ")"
        parts.append(text)
    return "; ".join(parts)


def counted(counts: dict[str, Counter]) -> dict:
    """Per kind {ok, failed, statuses} from the statuses counted (numbers)."""
    result = {}
    for kind in KINDS:
        counter = counts[kind]
        ok = sum(n for status, n in counter.items() if 200 <= status < 300)
        failed = sum(n for status, n in counter.items() if not 200 <= status < 300)
        result[kind] = {"ok": ok, "failed": failed, "statuses": {str(k): v for k, v in sorted(counter.items())}}
    return result


def print_sum(paths: list[str]) -> None:
    counts: dict[str, Counter] = {kind: Counter() for kind in KINDS}
    for path in paths:
        with open(path) as f:
            result = json.load(f)
        for kind in KINDS:
            counts[kind].update({int(k): v for k, v in result[kind]["statuses"].items()})
    print(summary(counted(counts)))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--sum":
        print_sum(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--packages", required=True)
    parser.add_argument("--skip", type=int, default=0)
    parser.add_argument("--agent-config", required=True)
    parser.add_argument("--catalogue", default="")
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--installs", type=int, default=1, help="installs at a time (0: none)")
    parser.add_argument("--puts-per-second", type=float, default=5.0, help="config PUTs a second (0: none)")
    parser.add_argument("--refresh-every", type=float, default=10.0, help="seconds between registry refreshes (0: none)")
    args = parser.parse_args()
    token = os.environ["BENCH_TOKEN"]
    with open(args.packages) as f:
        packages = json.load(f)["packages"][args.skip:]
    with open(args.agent_config) as f:
        configured = list(json.load(f)["plugins"]["entries"])
    # A string parameter of each configured plugin (not a sensitive-looking one), for the PUTs.
    keys: dict[str, str] = {}
    if args.catalogue:
        with open(args.catalogue) as f:
            catalogue = json.load(f)["plugins"]
        for entry in catalogue:
            npm = entry.get("npmName") or ""
            short = npm.split("/plugin-", 1)[1] if npm.startswith("@elizaos/plugin-") else npm
            if short in configured:
                for name, spec in (entry.get("pluginParameters") or {}).items():
                    if spec.get("type", "string") == "string" and not spec.get("options"):
                        keys[short] = name
                        break
    targets = [(plugin, key) for plugin, key in keys.items()]

    counts: dict[str, Counter] = {kind: Counter() for kind in KINDS}
    lock = threading.Lock()

    def stopped() -> bool:
        return os.path.exists(args.stop_file)

    def record(kind: str, status: int) -> None:
        with lock:
            counts[kind][status] += 1

    names = iter(packages)
    names_lock = threading.Lock()

    def installs() -> None:
        while not stopped():
            with names_lock:
                name = next(names, None)
            if name is None:
                return
            record("install", call("POST", f"{args.url}/api/plugins/install", token, {"name": name, "version": "1.0.0"}))

    def puts() -> None:
        i = 0
        start = time.monotonic()
        while targets and not stopped():
            plugin, key = targets[i % len(targets)]
            status = call("PUT", f"{args.url}/api/plugins/{quote(plugin, safe='')}", token,
                          {"config": {key: f"load-value-{i}"}})
            record("config PUT", status)
            i += 1
            wait = start + i / args.puts_per_second - time.monotonic()
            while wait > 0 and not stopped():
                time.sleep(min(wait, 0.1))
                wait = start + i / args.puts_per_second - time.monotonic()

    def refreshes() -> None:
        while not stopped():
            record("registry refresh", call("POST", f"{args.url}/api/registry/refresh", token))
            until = time.monotonic() + args.refresh_every
            while time.monotonic() < until:
                if stopped():
                    return
                time.sleep(0.1)

    kinds = [installs] * max(0, args.installs)
    if args.puts_per_second > 0:
        kinds.append(puts)
    if args.refresh_every > 0:
        kinds.append(refreshes)
    threads = [threading.Thread(target=t, daemon=True) for t in kinds]
    for t in threads:
        t.start()
    while not stopped():
        time.sleep(0.1)
    for t in threads:
        t.join(120)

    result = counted(counts)
    result["summary"] = summary(result)
    result["rates"] = {"installs_at_once": args.installs, "puts_per_second": args.puts_per_second,
                       "refresh_every_s": args.refresh_every}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
