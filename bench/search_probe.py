#!/usr/bin/env python3
"""Asks plugind every search of a benchmark once, before wrk does, and picks the baseline's answer.

    BENCH_TOKEN=... search_probe.py --url http://127.0.0.1:PORT --paths FILE --body OUT --out JSON

Every path of FILE (bench/make_registry.py queries) is requested once over one keep-alive
connection; each must answer 200 with a JSON body carrying `results` (the run stops otherwise, so
wrk never measures error answers). The answer of median size is written to OUT: the C responder
serves those bytes as the search baseline, an answer of the size a typical query gets. JSON (--out):
sizes (min, median, max), the mean number of results, the share of queries with no result, and the
mean time per request seen by this one sequential client (for orientation only).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import time
from urllib.parse import urlsplit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--paths", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    token = os.environ["BENCH_TOKEN"]
    target = urlsplit(args.url)
    with open(args.paths) as f:
        paths = [line.strip() for line in f if line.strip()]
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    answers: list[tuple[int, bytes]] = []
    results = []
    start = time.perf_counter()
    for path in paths:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"search_probe.py: {path} answered {response.status}: {body[:300]!r}")
        document = json.loads(body)
        if not isinstance(document.get("results"), list):
            raise SystemExit(f"search_probe.py: {path} answered without a results list: {body[:300]!r}")
        results.append(len(document["results"]))
        answers.append((len(body), body))
    elapsed = time.perf_counter() - start
    conn.close()
    sizes = sorted(size for size, _ in answers)
    median = sizes[len(sizes) // 2]
    body = next(body for size, body in answers if size == median)
    with open(args.body, "wb") as f:
        f.write(body)
    summary = {
        "queries": len(paths),
        "bytes_min": sizes[0],
        "bytes_median": median,
        "bytes_max": sizes[-1],
        "results_mean": round(statistics.mean(results), 1),
        "no_result_share": round(sum(1 for r in results if r == 0) / len(results), 3),
        "sequential_ms_per_request": round(elapsed * 1000 / len(paths), 3),
    }
    summary["summary"] = (
        f"answers of {summary['bytes_min']}–{summary['bytes_max']} bytes (median {median}), "
        f"{summary['results_mean']} results on average, {round(summary['no_result_share'] * 100, 1)}% of the queries with none"
    )
    with open(args.out, "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
