#!/usr/bin/env python3
"""Install overhead: plugind's POST /api/plugins/install against bare `npm install`, same run.

    BENCH_TOKEN=... install.py --url http://127.0.0.1:PORT --npm-registry URL --packages FILE
                               --work DIR --out FILE [--iterations 5] [--warmup 1]

FILE (--packages) is fake_upstreams.py's ready file: its `packages` are fresh plugins (each
`@benchorg/plugin-bench-<i>@1.0.0` with one dependency, `bench-dep@^1.0.0`) on a loopback npm
registry. Iteration i installs package i both ways, so each side meets a package it has never seen:

- **plugind**: `POST /api/plugins/install {"name": ..., "version": "1.0.0"}` through nginx with the
  admin token; the clock runs from sending the request to the end of the response (the POST returns
  when the operation has finished: resolve, download, verify, inspect, npm into staging, swap,
  agent config, database).
- **npm**: `npm install <name>@1.0.0 --prefix <new empty dir> --ignore-scripts --no-audit --no-fund
  --no-package-lock --registry <same registry> --cache <one cache dir for all npm runs>
  --loglevel warn` (the flags plugind gives npm), from spawning npm to its exit.

- **npm-file** (for the analysis, not the target): the same npm command with the package's tarball
  file (downloaded beforehand, untimed) instead of `<name>@1.0.0`: the npm step plugind itself runs,
  so plugind's time minus this one is plugind's own work.

Caches, to be fair: plugind's npm keeps its cache in plugind's state directory, and the bare npm runs
share one cache directory of their own; the warm-up iterations (not counted) fill both with the
dependency, so in every counted iteration both sides find `bench-dep` in a warm cache and fetch the
new plugin itself over the loopback registry. The order rotates (each side
first, second and third in turn) so that drift on a shared machine hits every side alike; besides the
medians, the median of the per-iteration ratios (plugind_i / npm_i) is reported, which drift
affects less.

After the counted iterations, one more install (not counted) runs with an `X-Operation-Id` while a
thread polls `GET /api/operations/:id` every 10 ms, for a rough split of plugind's time by phase.

Writes FILE (--out) as JSON: every time in ms, the medians, the overhead and the phase split.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, token: str, body: dict | None = None, headers: dict | None = None,
         timeout: float = 600) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with NO_PROXY.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def install_plugind(url: str, token: str, name: str, operation_id: str | None = None) -> float:
    headers = {"X-Operation-Id": operation_id} if operation_id else None
    start = time.perf_counter()
    status, body = http("POST", f"{url}/api/plugins/install", token, {"name": name, "version": "1.0.0"}, headers)
    elapsed = (time.perf_counter() - start) * 1000
    if status != 200:
        raise SystemExit(f"install.py: plugind answered {status} to installing {name}: {body[:500]!r}")
    return elapsed


def fetch_tarball(registry: str, name: str, directory: str) -> str:
    """name@1.0.0's tarball, downloaded from the registry into `directory` (the file npm is given in
    the `npm-file` runs, as plugind gives npm its verified download)."""
    with NO_PROXY.open(f"{registry}{name.replace('/', '%2f')}", timeout=60) as response:
        packument = json.load(response)
    url = packument["versions"]["1.0.0"]["dist"]["tarball"]
    path = os.path.join(directory, url.rsplit("/", 1)[-1])
    with NO_PROXY.open(url, timeout=60) as response, open(path, "wb") as f:
        f.write(response.read())
    return path


def install_npm(registry: str, name: str, prefix: str, cache: str, home: str, spec: str | None = None) -> float:
    """`npm install <spec>` (default name@1.0.0 from the registry) into a new empty prefix."""
    os.makedirs(prefix)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "npm_config_update_notifier": "false",
        "npm_config_userconfig": os.path.join(home, ".npmrc"),
    }
    command = ["npm", "install", spec or f"{name}@1.0.0", "--prefix", prefix, "--ignore-scripts", "--no-audit", "--no-fund",
               "--no-package-lock", "--registry", registry, "--cache", cache, "--loglevel", "warn"]
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=prefix, capture_output=True, text=True, timeout=600)
    elapsed = (time.perf_counter() - start) * 1000
    if result.returncode != 0:
        raise SystemExit(f"install.py: npm install {name} failed ({result.returncode}): {result.stdout[-500:]} {result.stderr[-500:]}")
    for package in (name, "bench-dep"):
        if not os.path.isfile(os.path.join(prefix, "node_modules", package, "package.json")):
            raise SystemExit(f"install.py: npm install {name} left no node_modules/{package}")
    return elapsed


def phase_split(url: str, token: str, name: str) -> tuple[float, dict[str, float]]:
    """One install while polling its operation: (total ms, ms first seen in each phase)."""
    operation_id = str(uuid.uuid4())
    seen: dict[str, float] = {}
    done = threading.Event()
    start = time.perf_counter()

    def poll() -> None:
        while not done.is_set():
            status, body = http("GET", f"{url}/api/operations/{operation_id}", token, timeout=10)
            if status == 200:
                phase = (json.loads(body).get("operation") or {}).get("phase")
                if phase and phase not in seen:
                    seen[phase] = (time.perf_counter() - start) * 1000
            done.wait(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    total = install_plugind(url, token, name, operation_id)
    done.set()
    poller.join(5)
    return total, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--npm-registry", required=True)
    parser.add_argument("--packages", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()
    token = os.environ["BENCH_TOKEN"]
    with open(args.packages) as f:
        packages = json.load(f)["packages"]
    needed = args.warmup + args.iterations + 1
    if len(packages) < needed:
        raise SystemExit(f"install.py: {needed} packages needed, the fake registry has {len(packages)}")

    cache = os.path.join(args.work, "npm-cache")
    home = os.path.join(args.work, "npm-home")
    os.makedirs(home, exist_ok=True)
    tarballs = os.path.join(args.work, "tarballs")
    os.makedirs(tarballs, exist_ok=True)
    times: dict[str, list[float]] = {"plugind": [], "npm": [], "npm-file": []}
    for i in range(args.warmup + args.iterations):
        name = packages[i]
        prefix = os.path.join(args.work, f"npm-prefix-{i}")
        file_prefix = os.path.join(args.work, f"npm-file-prefix-{i}")
        tarball = fetch_tarball(args.npm_registry, name, tarballs)  # not timed
        runs = [("plugind", lambda: install_plugind(args.url, token, name)),
                ("npm", lambda: install_npm(args.npm_registry, name, prefix, cache, home)),
                ("npm-file", lambda: install_npm(args.npm_registry, name, file_prefix, cache, home, spec=tarball))]
        runs = runs[i % 3:] + runs[:i % 3]  # each side first, second and third in turn
        took = {}
        for side, run in runs:
            took[side] = run()
            if i >= args.warmup:
                times[side].append(took[side])
        shutil.rmtree(prefix, ignore_errors=True)
        shutil.rmtree(file_prefix, ignore_errors=True)
        counted = "" if i >= args.warmup else " (warm-up, not counted)"
        print(f"install {name}: plugind {took['plugind']:.0f} ms, npm {took['npm']:.0f} ms, "
              f"npm of the tarball file {took['npm-file']:.0f} ms{counted}", flush=True)

    total, phases = phase_split(args.url, token, packages[args.warmup + args.iterations])
    median_plugind = statistics.median(times["plugind"])
    median_npm = statistics.median(times["npm"])
    median_file = statistics.median(times["npm-file"])
    paired = [p / n - 1 for p, n in zip(times["plugind"], times["npm"])]
    result = {
        "iterations": args.iterations,
        "warmup": args.warmup,
        "plugind_ms": [round(t, 1) for t in times["plugind"]],
        "npm_ms": [round(t, 1) for t in times["npm"]],
        "plugind_median_ms": round(median_plugind, 1),
        "npm_median_ms": round(median_npm, 1),
        "npm_file_ms": [round(t, 1) for t in times["npm-file"]],
        "npm_file_median_ms": round(median_file, 1),
        "overhead_pct": round((median_plugind / median_npm - 1) * 100, 1),
        "paired_overhead_pct": round(statistics.median(paired) * 100, 1),
        "over_npm_file_ms": round(median_plugind - median_file, 1),
        "phase_probe": {"total_ms": round(total, 1), "phase_first_seen_ms": {k: round(v, 1) for k, v in phases.items()}},
    }
    result["phase_probe"]["summary"] = "; ".join(
        [f"{phase} at {round(ms)} ms" for phase, ms in phases.items()] + [f"the response at {round(total)} ms"])
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
