#!/usr/bin/env python3
"""Inputs for scripts/bench's registry benchmarks, generated deterministically from the real snapshot.

    make_registry.py registry SNAPSHOT OUT [--count 10000] [--seed 1]
        A synthetic registry document of COUNT entries: the real snapshot's entries unchanged, then
        made-up ones until COUNT, each modelled on a real entry (same shape: git/npm/supports channels
        and versions, homepage, language) with a new name (scope, words drawn from real plugin names),
        a description rewritten with words from real descriptions (or null as often as the real
        ones are), topics drawn from the real topics, and stars drawn from a long-tailed distribution.

    make_registry.py queries SNAPSHOT OUT [--count 5000] [--seed 2]
        COUNT distinct search paths (`/api/registry/search?q=...`, one a line, shuffled): a third single
        words, a third pairs of words, a third one-letter typos (deletion, insertion, substitution, two
        neighbours swapped) of words of 4+ letters; all drawn from the real snapshot's names,
        descriptions and topics. wrk's bench/search.lua sends them in turn, so every request of a run
        asks something different from its neighbours and no per-query result cache can stand in for
        the search itself.

Same inputs and seed, same bytes out.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import sys
from urllib.parse import quote

WORD = re.compile(r"[a-z][a-z0-9]+")
PREFIXES = ("plugin-", "client-", "adapter-", "app-")
SCOPES = (
    "acme", "nebula", "orbit", "quartz", "lumen", "vertex", "cobalt", "ember", "fathom", "harbor",
    "ionic", "juniper", "kestrel", "lattice", "meridian", "nimbus", "onyx", "prism", "quill", "rook",
)


def load(path: str) -> dict:
    with open(path, "rb") as f:
        document = json.load(f)
    registry = document.get("registry")
    if not isinstance(registry, dict) or not registry:
        sys.exit(f"make_registry.py: {path} has no registry object")
    return document


def short(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    for prefix in PREFIXES:
        if base.startswith(prefix):
            return base[len(prefix):]
    return base


def vocabulary(registry: dict) -> tuple[list[str], list[str], list[str]]:
    """(name words, description words, topics), each sorted and without duplicates."""
    names, descriptions, topics = set(), set(), set()
    for name, entry in registry.items():
        names.update(w for w in WORD.findall(short(name).lower()) if len(w) >= 2)
        if isinstance(entry, dict):
            if isinstance(entry.get("description"), str):
                descriptions.update(w for w in WORD.findall(entry["description"].lower()) if len(w) >= 3)
            for topic in entry.get("topics") or []:
                if isinstance(topic, str):
                    topics.add(topic)
    return sorted(names), sorted(descriptions), sorted(topics)


def synthetic_registry(document: dict, count: int, seed: int) -> dict:
    registry = document["registry"]
    real = list(registry.items())
    name_words, description_words, topics = vocabulary(registry)
    rng = random.Random(seed)
    out = dict(registry)
    index = 0
    while len(out) < count:
        base_name, base = real[index % len(real)]
        index += 1
        entry = json.loads(json.dumps(base))  # a deep copy
        scope = rng.choice(SCOPES) + ("-labs" if rng.random() < 0.3 else "")
        kind = "app-" if base_name.rsplit("/", 1)[-1].startswith("app-") else "plugin-"
        stem_words = WORD.findall(short(base_name).lower())[:2] or [rng.choice(name_words)]
        words = [rng.choice(stem_words), rng.choice(name_words)]
        if rng.random() < 0.4:
            words.append(rng.choice(name_words))
        name = f"@{scope}/{kind}{'-'.join(words)}"
        while name in out:  # rare; deterministic all the same
            name += "-" + rng.choice(name_words)
        out[name] = entry
        repo = f"{scope}/{kind}{'-'.join(words)}"
        if isinstance(entry.get("git"), dict):
            entry["git"]["repo"] = repo
        if isinstance(entry.get("npm"), dict):
            entry["npm"]["repo"] = name
        description = base.get("description") if isinstance(base, dict) else None
        if isinstance(description, str) and description:
            tokens = description.split()
            for i in range(len(tokens)):
                if rng.random() < 0.35:
                    tokens[i] = rng.choice(description_words)
            entry["description"] = " ".join(tokens)
        elif rng.random() < 0.6:
            entry["description"] = None
        else:
            entry["description"] = " ".join(rng.choice(description_words) for _ in range(rng.randint(6, 16))).capitalize() + "."
        entry["topics"] = rng.sample(topics, rng.choice((0, 0, 1, 2, 3, 4))) if topics else []
        entry["stargazers_count"] = min(5000, int(rng.paretovariate(1.1)) - 1)
        if entry.get("homepage"):
            entry["homepage"] = f"https://example.com/{repo}"
    return {"lastUpdatedAt": document.get("lastUpdatedAt"), "registry": out}


def typo(word: str, rng: random.Random) -> str:
    letters = string.ascii_lowercase
    i = rng.randrange(len(word))
    kind = rng.choice(("delete", "insert", "substitute", "swap"))
    if kind == "delete":
        return word[:i] + word[i + 1:]
    if kind == "insert":
        return word[:i] + rng.choice(letters) + word[i:]
    if kind == "substitute":
        return word[:i] + rng.choice(letters.replace(word[i], "")) + word[i + 1:]
    i = min(i, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def queries(document: dict, count: int, seed: int) -> list[str]:
    name_words, description_words, topics = vocabulary(document["registry"])
    words = sorted(set(name_words) | set(description_words) | set(topics))
    long_words = [w for w in words if len(w) >= 4 and w.isalpha()]
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []

    def add(query: str) -> None:
        if query not in seen:
            seen.add(query)
            out.append(query)

    singles = list(words)
    rng.shuffle(singles)
    for w in singles[: count // 3]:
        add(w)
    attempts = 0
    while len(out) < 2 * count // 3 and attempts < 100 * count:
        attempts += 1
        # Mostly a name word with a description word or topic, as a person narrows a search.
        first = rng.choice(name_words)
        second = rng.choice(description_words if rng.random() < 0.7 else (topics or name_words))
        if first != second:
            add(f"{first} {second}")
    while len(out) < count and attempts < 200 * count:
        attempts += 1
        w = rng.choice(long_words)
        t = typo(w, rng)
        if t != w and t not in words:
            add(t)
    if len(out) < count:
        sys.exit(f"make_registry.py: only {len(out)} distinct queries could be made, not {count}")
    rng.shuffle(out)
    return [f"/api/registry/search?q={quote(q, safe='')}" for q in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("registry", "queries"))
    parser.add_argument("snapshot")
    parser.add_argument("out")
    parser.add_argument("--count", type=int)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    document = load(args.snapshot)
    if args.what == "registry":
        result = synthetic_registry(document, args.count or 10_000, 1 if args.seed is None else args.seed)
        with open(args.out, "w") as f:
            json.dump(result, f, separators=(",", ":"))
        print(len(result["registry"]))
    else:
        lines = queries(document, args.count or 5_000, 2 if args.seed is None else args.seed)
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(len(lines))


if __name__ == "__main__":
    main()
