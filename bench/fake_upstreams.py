#!/usr/bin/env python3
"""The loopback upstreams scripts/bench points plugind at, in one process until SIGTERM.

    fake_upstreams.py --ready FILE [--registry NAME=SNAPSHOT]... [--packages N] [--prefix SCOPE/NAME-]

- one fake plugin-registry upstream per `--registry NAME=SNAPSHOT` (Tests/e2e/fake_registry.py,
  serving SNAPSHOT as /generated-registry.json and the real index.json beside it);
- one fake npm registry (Tests/e2e/fake_npm.py, under the /npm/ prefix) with `bench-dep@1.0.0`, a
  small package, and N plugins `<prefix><i>@1.0.0` (i = 0..N-1), each a small plugin package (a
  package.json declaring two parameters, index.js, README.md) depending on `bench-dep@^1.0.0`.
  Fresh names let every timed install be a first install, for plugind and for bare npm alike.

When everything listens, FILE is written (atomically) with
`{"registries": {NAME: url-of-generated-registry.json}, "npm": registry base URL, "packages": [...],
"pid": ...}`. Everything binds 127.0.0.1 on ports the kernel picks.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "Tests" / "e2e"))

from fake_npm import FakeNpm  # noqa: E402
from fake_registry import GENERATED_PATH, INDEX_SNAPSHOT, FakeRegistry  # noqa: E402

DEPENDENCY = "bench-dep"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ready", required=True)
    parser.add_argument("--registry", action="append", default=[], metavar="NAME=SNAPSHOT")
    parser.add_argument("--packages", type=int, default=20)
    parser.add_argument("--prefix", default="@benchorg/plugin-bench-")
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    registries: dict[str, FakeRegistry] = {}
    for item in args.registry:
        name, _, path = item.partition("=")
        registries[name] = FakeRegistry(generated=Path(path), index=INDEX_SNAPSHOT, hang_seconds=1.0).start()

    npm = FakeNpm(hang_seconds=1.0).start()
    npm.publish(DEPENDENCY, "1.0.0", files={"lib/util.js": b"module.exports = (x) => x + 1;\n" * 20})
    parameters = {
        "BENCH_API_KEY": {"type": "string", "description": "An API key.", "required": True, "sensitive": True},
        "BENCH_MODE": {"type": "string", "description": "A mode.", "required": False, "default": "fast"},
    }
    packages = []
    for i in range(args.packages):
        name = f"{args.prefix}{i}"
        npm.publish(name, "1.0.0", parameters=parameters, dependencies={DEPENDENCY: "^1.0.0"},
                    files={"dist/index.js": b"export default { name: 'bench' };\n" * 40})
        packages.append(name)

    ready = {
        "registries": {name: r.url(GENERATED_PATH) for name, r in registries.items()},
        "npm": npm.base,
        "packages": packages,
        "dependency": DEPENDENCY,
        "pid": os.getpid(),
    }
    tmp = args.ready + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ready, f)
    os.replace(tmp, args.ready)

    while not stop.wait(0.5):
        pass
    npm.stop()
    for r in registries.values():
        r.stop()


if __name__ == "__main__":
    main()
