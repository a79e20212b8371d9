#!/usr/bin/env python3
"""Cold start: how long the first request waits when systemd starts plugind on demand.

    cold_start.py --binary PLUGIND --state-dir DIR --out FILE [--runs 5] [--env NAME=VALUE]...

Each run: `systemd-socket-activate -l SOCK -E ... PLUGIND serve --state-dir DIR` binds SOCK and waits;
the clock starts when a FastCGI client (Tests/e2e/fcgi_client.py) connects, and stops when the
whole response to `GET /api/health` (a 200) has arrived. In between: systemd-socket-activate sees the
connection and execs plugind with the socket as fd 3 (`LISTEN_FDS`), plugind starts (settings,
tokens, database open and integrity check, catalogue and agent config), accepts and answers. A second
request on the same process is timed as well (the warm figure beside it), then plugind gets SIGTERM.
`plugind --version` (spawn to exit) is timed after each run: the share of a start that is loading the
binary and its shared libraries rather than plugind's own work.
One start before the runs (not counted) creates the database, so every counted run is a restart of
an existing installation, as after a reboot or an idle stop. The median is reported.

systemd-socket-activate gives the program only the environment named with -E, so the settings come
as `--env NAME=VALUE` (passed on as -E).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Tests" / "e2e"))
import fcgi_client  # noqa: E402


def wait_for_socket(path: str, process: subprocess.Popen, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"cold_start.py: systemd-socket-activate did not bind {path}")
        time.sleep(0.005)


def one_run(binary: str, state_dir: str, env: list[str], work: str, log) -> tuple[float, float]:
    sock = os.path.join(work, "cold.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    command = ["systemd-socket-activate", "-l", sock]
    for item in env:
        command += ["-E", item]
    command += [binary, "serve", "--state-dir", state_dir]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        wait_for_socket(sock, process)
        time.sleep(0.05)  # systemd-socket-activate is in its wait for the first connection
        start = time.perf_counter()
        response = fcgi_client.request(sock, "GET", "/api/health", timeout=30)
        cold = (time.perf_counter() - start) * 1000
        if response.status != 200:
            raise SystemExit(f"cold_start.py: /api/health answered {response.status}: {response.body[:300]!r}")
        start = time.perf_counter()
        response = fcgi_client.request(sock, "GET", "/api/health", timeout=30)
        warm = (time.perf_counter() - start) * 1000
        if response.status != 200:
            raise SystemExit(f"cold_start.py: the second /api/health answered {response.status}")
        return cold, warm
    finally:
        # systemd-socket-activate execs plugind in its own process: this pid is plugind now.
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if os.path.exists(sock):
            os.unlink(sock)


def exec_floor(binary: str) -> float:
    """`plugind --version`, from spawn to exit: the loader, the shared libraries and the Swift runtime,
    which every start pays before plugind's own code runs."""
    start = time.perf_counter()
    subprocess.run([binary, "--version"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--log", default=os.devnull)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plugind-cold.") as work, open(args.log, "ab") as log:
        one_run(args.binary, args.state_dir, args.env, work, log)  # creates the database; not counted
        colds, warms, execs = [], [], []
        for _ in range(args.runs):
            cold, warm = one_run(args.binary, args.state_dir, args.env, work, log)
            colds.append(cold)
            warms.append(warm)
            execs.append(exec_floor(args.binary))
            print(f"cold start: first response {cold:.1f} ms, second {warm:.2f} ms; plugind --version {execs[-1]:.1f} ms",
                  flush=True)
    result = {
        "runs": args.runs,
        "cold_ms": [round(c, 1) for c in colds],
        "warm_ms": [round(w, 2) for w in warms],
        "exec_ms": [round(e, 1) for e in execs],
        "cold_median_ms": round(statistics.median(colds), 1),
        "exec_median_ms": round(statistics.median(execs), 1),
        "warm_median_ms": round(statistics.median(warms), 2),
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
