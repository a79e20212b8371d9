"""The README's walkthrough, verbatim, against the stack a newcomer gets.

A fresh `scripts/run` (with its example plugins, as a user starts it, no network needed) and then
every ```sh block of README.md marked `<!-- offline -->`, in order, as one bash script with `set -e`
and `pipefail`, at the repository's root, pointed at that stack by `STATE` (its state directory;
the README reads run.json from it). A command that fails stops the script and fails the test; what
the walkthrough promises a user sees (each check's verdict, the masked secret, the honest load
errors) is then looked for in its output, in order. Every sh block must say whether it is offline,
needs the network, or starts the stack, so a new block cannot silently escape this test.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import _run_stack
from helpers import REPO, free_port

README = REPO / "README.md"
MARKER = re.compile(r"<!--\s*(offline|network|stack)\b[^>]*-->\s*\n```sh\n(.*?)```", re.S)


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in MARKER.finditer(README.read_text())]


def test_every_shell_block_is_marked():
    text = README.read_text()
    assert text.count("```sh") == len(blocks()), "a ```sh block in README.md has no <!-- offline|network|stack --> marker before it"
    assert sum(1 for kind, _ in blocks() if kind == "offline") >= 5


@pytest.fixture(scope="module")
def newcomer():
    yield from _run_stack(examples=True)


def test_the_walkthrough_works_offline(newcomer, tmp_path):
    script = tmp_path / "walkthrough.sh"
    body = "\n".join(code for kind, code in blocks() if kind == "offline")
    # Whatever a block started in the background (the webhook receiver) ends with the script.
    script.write_text("set -eo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + body)
    env = dict(os.environ, STATE=str(newcomer.stateDir), HOOK_PORT=str(free_port()))
    run = subprocess.run(["bash", str(script)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, f"the README walkthrough failed (status {run.returncode}):\n{out[-6000:]}"

    # What the walkthrough says the user sees, in the order it says it.
    expected = [
        r'"state":"running".*"loadedPlugins":1,"failedPlugins":\[\]',
        r'"id":"notes-folder","isActive":true,"loadError":null',
        r'"ok":true.*NOTES_DIR /tmp is readable',
        r'"ok":false.*NOTES_DIR /nonexistent does not exist on this machine',
        r'WEBHOOK_URL.*is required',
        r'"ok":false.*WEBHOOK_URL is not set',
        r'"key":"WEBHOOK_SECRET","currentValue":"[^"]*\*\*\*\*',
        r'"ok":true.*answered 204',
        r'"failedPlugins":\["@plugind-examples/plugin-webhook-ping"\]',
        r'WEBHOOK_URL must be http or https, not ftp',
        r'webhook-ping failed to load in the agent \(WEBHOOK_URL must be http or https, not ftp\)',
        r'webhook-ping is not enabled; enable it and restart the agent first',
        r'"checkedOut":"tag v1\.0\.0"',
        r'"localChanges":true',
        r'"upstreamCommits":1,"localChanges":true',
        r'"ok":true.*was delivered \(204\)',
        r'uncommitted edits',
        r'"archivedTo":',
        r'"ok":true.*answered 204',
        r'"loadError":"not installed"',
        r'discord is not installed in this agent',
        r'"failedPlugins":\["@elizaos/plugin-discord"\]',
    ]
    at = 0
    for pattern in expected:
        found = re.compile(pattern).search(out, at)
        assert found, f"the walkthrough's output lacks /{pattern}/ after offset {at}:\n{out[at:at + 4000]}"
        at = found.end()
    # The receiver prints on its own schedule: its lines are anywhere in the output.
    assert re.search(r"POST /hook 204 \{\"event\":\"plugind.test\"", out), "the webhook receiver never got the check's POST"
    assert "example-secret-123" not in out, "the webhook secret came back unmasked"
