"""The command line as a newcomer meets it: `plugind token create` and `plugind check-config` run as
subprocesses of the real binary. The state directory is found as `serve` finds it and named on
stderr; run as root, what the CLI writes stays plugind's user's with StateLayout's modes; the
dashboard's sign-in hint (GET /api/sign-in) is a command that works for the running plugind, both
for the dev stack (scripts/run's wrapper) and for a plugind started by hand; errors are one line
naming file, key and value, never followed by the usage."""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

import fcgi_client as fcgi
from helpers import Process, can_connect, ensure_user, is_socket, plugind_binary, wait_until

PLUGIND_USER = "plugind"


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any PLUGIND_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGIND_")}
    env.update(extra)
    return env


def run(argv, env: dict[str, str] | None = None, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], env=env if env is not None else clean_env(), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def token_role(stack, token: str) -> str:
    r = stack.client(token).get("/api/session")
    assert r.status_code == 200, r.text
    return r.json()["role"]


# --- where the state directory is -------------------------------------------------------------------


def test_token_create_uses_the_environments_state_dir_and_says_so(tmp_path):
    state = tmp_path / "from-env"
    result = run([plugind_binary(), "token", "create", "--role", "read"], env=clean_env(PLUGIND_STATE_DIR=str(state)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("pld_"), result.stdout
    assert (state / "tokens.json").exists(), "the token went somewhere else than PLUGIND_STATE_DIR"
    assert f"state directory {state} (from PLUGIND_STATE_DIR)" in result.stderr, result.stderr
    assert "pld_" not in result.stderr  # the token goes to stdout only


def test_token_create_uses_the_settings_files_state_dir_and_says_so(tmp_path):
    state = tmp_path / "from-file"
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"stateDir": str(state)}))
    result = run([plugind_binary(), "token", "create", "--role", "admin"], env=clean_env(PLUGIND_SETTINGS=str(settings)))
    assert result.returncode == 0, result.stderr
    assert (state / "tokens.json").exists()
    assert f"stateDir in {settings}" in result.stderr, result.stderr


# --- the dev stack: scripts/run's wrapper and the dashboard's hint ---------------------------------------


def test_the_wrapper_scripts_run_names_makes_tokens_the_stack_accepts(stack):
    run_json = json.loads((stack.stateDir / "run.json").read_text())
    cli = Path(run_json["cli"])
    assert os.access(cli, os.X_OK), f"run.json names {cli}, which is not executable"
    # No state directory given: the wrapper's own environment points at the stack's.
    result = run([cli, "token", "create", "--role", "read"])
    assert result.returncode == 0, result.stderr
    assert str(stack.stateDir) in result.stderr, result.stderr
    assert token_role(stack, result.stdout.strip()) == "read"


def test_the_sign_in_hint_is_a_command_that_works_for_this_stack(stack):
    before = os.stat(stack.stateDir / "tokens.json")
    r = stack.client().get("/api/sign-in")  # no token
    assert r.status_code == 200, r.text
    command = r.json()["tokenCommand"]
    assert command.endswith("token create --role admin"), command
    result = run(shlex.split(command))
    assert result.returncode == 0, f"{command}: {result.stderr}"
    assert token_role(stack, result.stdout.strip()) == "admin"
    after = os.stat(stack.stateDir / "tokens.json")
    # Run as root beside a plugind of its own user, the file is still that user's, 0600: plugind can read it.
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert stat.S_IMODE(after.st_mode) == 0o600


def test_a_rejected_token_points_to_the_hint(stack):
    r = stack.client("pld_not-a-token").get("/api/plugins")
    assert r.status_code == 401
    assert "/api/sign-in" in r.json()["error"]


# --- plugind started by hand (no scripts/run, no cliCommand) --------------------------------------------


def test_the_hint_of_a_plugind_started_by_hand_names_its_binary_and_state_dir(openapi):
    state = Path(tempfile.mkdtemp(prefix="pld-cli-"))
    sock = state / "s.sock"
    process = Process([plugind_binary(), "serve", "--state-dir", state, "--socket", sock],
                      log_path=state.parent / f"{state.name}.log", env=clean_env())
    try:
        wait_until(lambda: process.alive() and is_socket(sock) and can_connect(sock), 20.0, f"{sock} to accept")
        response = fcgi.request(str(sock), "GET", "/api/sign-in")
        openapi.check("GET", "/api/sign-in", response.status, response.header_map, response.body)
        command = json.loads(response.body)["tokenCommand"]
        words = shlex.split(command)
        assert words[-2:] == ["--state-dir", str(state)], command
        assert Path(words[words.index("token") - 1]) == plugind_binary(), command
        if os.geteuid() == 0:
            assert words[0] != "sudo", command  # this plugind runs as root: the same user runs the command
        result = run(words)
        assert result.returncode == 0, result.stderr
        token = result.stdout.strip()
        session = fcgi.request(str(sock), "GET", "/api/session", headers={"Authorization": f"Bearer {token}"})
        assert session.status == 200 and json.loads(session.body)["role"] == "admin"
    finally:
        process.kill()
        os.unlink(process.log_path)
        shutil.rmtree(state, ignore_errors=True)


# --- run as root: plugind's user keeps its files -----------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a user and chown")
def test_as_root_the_state_dir_and_tokens_are_plugind_users_with_the_layouts_modes():
    uid, gid = ensure_user(PLUGIND_USER)
    tmp_path = Path(tempfile.mkdtemp(prefix="pld-cli-root-"))
    os.chmod(tmp_path, 0o711)  # plugind's user passes through to the state directory, as to /var/lib
    try:
        check_root_ownership(tmp_path, uid, gid)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def check_root_ownership(tmp_path: Path, uid: int, gid: int) -> None:
    state = tmp_path / "new-state"
    for _ in range(2):  # a new state directory, then the one the first run made
        result = run([plugind_binary(), "token", "create", "--role", "admin", "--state-dir", state])
        assert result.returncode == 0, result.stderr
        for path, mode in ((state, 0o700), (state / "tokens.json", 0o600)):
            info = os.stat(path)
            assert (info.st_uid, info.st_gid) == (uid, gid), f"{path} belongs to {pwd.getpwuid(info.st_uid).pw_name}"
            assert stat.S_IMODE(info.st_mode) == mode, f"{path} has mode {oct(stat.S_IMODE(info.st_mode))}"
    another = tmp_path / "another"
    said = run([plugind_binary(), "token", "create", "--role", "read", "--state-dir", another]).stderr
    assert f"created {another} (mode 0700, owned by {PLUGIND_USER})" in said, said
    # plugind's user itself can read what root wrote.
    read = subprocess.run(["setpriv", f"--reuid={PLUGIND_USER}", f"--regid={PLUGIND_USER}", "--clear-groups",
                           "cat", str(state / "tokens.json")], capture_output=True, text=True, timeout=30)
    assert read.returncode == 0 and '"role"' in read.stdout, read.stderr


# --- errors a user can act on ------------------------------------------------------------------------------


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{result.stderr}"
    assert "Usage" not in result.stderr and "USAGE" not in result.stderr and "--help" not in result.stderr
    return lines[0]


def test_check_config_suggests_the_nearest_key_by_case(tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"registryTTLSeconds": 60}))
    line = one_line_error(run([plugind_binary(), "check-config", "--settings", settings]))
    assert str(settings) in line and "'registryTTLSeconds'" in line and "60" in line, line
    assert "did you mean 'registryTtlSeconds'?" in line, line


def test_check_config_suggests_the_nearest_key_by_spelling(tmp_path):
    line = one_line_error(run([plugind_binary(), "check-config", "--set", "treads=8"]))
    assert "did you mean 'threads'?" in line, line


@pytest.mark.parametrize("content, fragments", [
    ({"threads": "16"}, ["threads", '"16"', "whole number"]),
    ({"threads": 1}, ["threads", "between 2 and 256", "not 1"]),
    ({"npmRegistry": "http://registry.example/"}, ["npmRegistry", "http://registry.example/", "https"]),
])
def test_check_config_errors_name_file_key_and_value(tmp_path, content, fragments):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(content))
    line = one_line_error(run([plugind_binary(), "check-config", "--settings", settings]))
    for fragment in [str(settings), *fragments]:
        assert fragment in line, f"{fragment!r} missing from: {line}"


def test_an_environment_value_error_names_the_variable_and_value():
    line = one_line_error(run([plugind_binary(), "check-config"], env=clean_env(PLUGIND_THREADS="many")))
    assert "PLUGIND_THREADS" in line and "'many'" in line, line


def test_check_config_says_which_file_and_state_dir_it_checked(tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"stateDir": str(tmp_path / "s")}))
    result = run([plugind_binary(), "check-config", "--settings", settings])
    assert result.returncode == 0, result.stderr
    assert str(settings) in result.stdout and str(tmp_path / "s") in result.stdout, result.stdout


def test_token_create_help_lists_only_its_own_options():
    result = run([plugind_binary(), "token", "create", "--help"])
    assert result.returncode == 0
    for option in ("--state-dir", "--settings", "--role"):
        assert option in result.stdout, result.stdout
    for option in ("--socket", "--threads", "--set "):
        assert option not in result.stdout, f"{option} in:\n{result.stdout}"


def test_serve_help_still_has_the_listening_options():
    result = run([plugind_binary(), "serve", "--help"])
    assert "--socket" in result.stdout and "--threads" in result.stdout and "--set " in result.stdout


def test_a_bogus_role_is_one_line(tmp_path):
    line = one_line_error(run([plugind_binary(), "token", "create", "--role", "bogus", "--state-dir", tmp_path / "s"]))
    assert "--role must be admin or read, not 'bogus'" in line, line
    assert not (tmp_path / "s").exists(), "a refused command created the state directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_state_dir_says_what_to_do():
    result = run([plugind_binary(), "token", "create", "--role", "admin", "--state-dir", "/"])
    assert result.returncode != 0 and "Usage" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "run as root" in line and "--state-dir" in line, line


def test_scripts_run_leaves_no_run_json_and_nginx_never_finds_the_socket_missing():
    """Stopping scripts/run (Ctrl-C, SIGTERM) removes run.json, which names processes that no longer exist,
    and keeps the tokens for the next run; nginx starts after plugind's socket, so its log has no
    `[crit] connect() failed` from the readiness check."""
    import contextlib

    from conftest import _run_stack

    base = Path(tempfile.mkdtemp(prefix="run-"))  # short: the sockets' paths are under it
    state = base / "state"
    run_stack = contextlib.contextmanager(_run_stack)
    try:
        _start_stop_twice(run_stack, state)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _start_stop_twice(run_stack, state: Path) -> None:
    with run_stack({"PLUGIND_RUNTIME_BRIDGE": "none"}, state_dir=state) as first:
        assert (state / "run.json").exists()
        tokens = (first.adminToken, first.readToken)
    assert not (state / "run.json").exists(), "run.json outlived the stack it describes"
    kept = json.loads((state / "dev-tokens.json").read_text())
    assert (kept["adminToken"], kept["readToken"]) == tokens
    assert stat.S_IMODE(os.stat(state / "dev-tokens.json").st_mode) == 0o600
    error_log = (state / "nginx" / "logs" / "error.log").read_text(errors="replace")
    assert "connect() failed" not in error_log and "[crit]" not in error_log, error_log[-2000:]

    with run_stack({"PLUGIND_RUNTIME_BRIDGE": "none"}, state_dir=state) as second:
        assert (second.adminToken, second.readToken) == tokens  # reused, as the newcomer's bookmarks expect
    assert not (state / "run.json").exists()
