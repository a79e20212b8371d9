"""The FastCGI transport without nginx: each test starts its own plugind on a temporary state
directory (socket path, fd 0 from spawn-fcgi, fd 3 from systemd-socket-activate), talks FastCGI to
it with cgi-fcgi or fcgi_client.py, and stops it by PID. Every response is held to docs/openapi.yaml."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import fcgi_client as fcgi
from helpers import Process, can_connect, is_socket, pid_alive, plugind_binary, thread_count, thread_states, wait_until

START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0


@pytest.fixture
def spawn(openapi):
    """start(argv, state=None) → (Process, state dir). argv may use {bin}, {state} and {sock}."""
    started: list[Process] = []
    dirs: list[Path] = []

    def start(argv, state: Path | None = None, env: dict | None = None):
        if state is None:
            state = Path(tempfile.mkdtemp(prefix="pld-t-"))  # short: unix socket paths are limited
            dirs.append(state)
        words = [str(a).format(bin=plugind_binary(), state=state, sock=state / "s.sock") for a in argv]
        process_env = dict(os.environ)
        process_env.update(env or {})
        process = Process(words, log_path=state.parent / f"{state.name}.log", env=process_env)
        started.append(process)
        return process, state

    yield start
    for process in started:
        process.kill()  # by its PID; a no-op for those a test already stopped
        try:
            os.unlink(process.log_path)
        except FileNotFoundError:
            pass
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def checked(openapi):
    """checked(response, method, uri): the response is one docs/openapi.yaml allows."""

    def check(response: fcgi.CGIResponse, method: str, uri: str) -> fcgi.CGIResponse:
        openapi.check(method, uri, response.status, response.header_map, response.body)
        return response

    return check


def wait_ready(process: Process, sock: Path) -> None:
    def ready() -> bool:
        if not process.alive():
            raise AssertionError(f"{process.argv[0]} exited early ({process.popen.returncode}):\n{process.output()}")
        return is_socket(sock) and can_connect(sock)

    wait_until(ready, START_TIMEOUT, f"{sock} to accept connections")


def serve_with_workers(spawn, threads: int) -> tuple[Process, Path, str]:
    """plugind on its own socket with `threads` workers (and fewer long operations), ready to answer."""
    process, state = spawn(
        ["{bin}", "serve", "--state-dir", "{state}", "--socket", "{sock}", "--threads", str(threads),
         "--set", f"maxConcurrentOperations={max(1, min(2, threads - 1))}"]
    )
    wait_ready(process, state / "s.sock")
    return process, state, str(state / "s.sock")


def cgi_fcgi(sock: Path, method: str, uri: str, extra_env: dict | None = None) -> bytes:
    """One request with libfcgi's own client; the CGI parameters are its environment."""
    path, _, query = uri.partition("?")
    env = {
        "REQUEST_METHOD": method,
        "REQUEST_URI": uri,
        "SCRIPT_NAME": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    env.update(extra_env or {})
    done = subprocess.run(
        ["cgi-fcgi", "-bind", "-connect", str(sock)],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=15,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def parse(raw: bytes) -> fcgi.CGIResponse:
    status, reason, headers, body = fcgi.parse_cgi(raw)
    return fcgi.CGIResponse(status, reason, headers, body, raw)


def assert_health_ok(response: fcgi.CGIResponse) -> None:
    assert response.status == 200, response.raw
    assert response.header("Content-Type", ).startswith("application/json")
    assert json.loads(response.body)["ok"] is True


def stop(process: Process) -> int:
    return process.stop(signal.SIGTERM, timeout=STOP_TIMEOUT)


def make_token(state: Path, role: str = "admin") -> str:
    done = subprocess.run(
        [str(plugind_binary()), "token", "create", "--role", role, "--state-dir", str(state)],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# --- listening ----------------------------------------------------------------------------------


def test_socket_path_is_created_answers_cgi_and_is_removed_on_sigterm(spawn, checked):
    process, state = spawn(["{bin}", "serve", "--state-dir", "{state}", "--socket", "{sock}"])
    sock = state / "s.sock"
    wait_ready(process, sock)
    mode = os.lstat(sock).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o660

    raw = cgi_fcgi(sock, "GET", "/api/health")
    assert raw.startswith(b"Status: 200 OK\r\n"), raw[:100]
    assert b"HTTP/1." not in raw.split(b"\r\n\r\n", 1)[0]
    assert_health_ok(checked(parse(raw), "GET", "/api/health"))

    raw = cgi_fcgi(sock, "GET", "/api/settings")
    assert raw.startswith(b"Status: 401 Unauthorized\r\n"), raw[:100]
    response = checked(parse(raw), "GET", "/api/settings")
    assert response.header("WWW-Authenticate").startswith("Bearer")

    assert stop(process) == 0
    assert not os.path.lexists(sock), "plugind removes the socket it created"


def test_socket_mode_is_a_setting(spawn, checked):
    process, state = spawn(["{bin}", "serve", "--state-dir", "{state}", "--socket", "{sock}", "--set", "socketMode=0600"])
    sock = state / "s.sock"
    wait_ready(process, sock)
    assert stat.S_IMODE(os.lstat(sock).st_mode) == 0o600
    assert_health_ok(checked(fcgi.request(str(sock), "GET", "/api/health"), "GET", "/api/health"))
    assert stop(process) == 0


def test_a_second_plugind_does_not_steal_a_live_socket(spawn, checked):
    first, state = spawn(["{bin}", "serve", "--state-dir", "{state}", "--socket", "{sock}"])
    sock = state / "s.sock"
    wait_ready(first, sock)
    second, _ = spawn(["{bin}", "serve", "--state-dir", "{state}", "--socket", "{sock}"], state=state)
    assert second.popen.wait(START_TIMEOUT) != 0
    assert "already listening" in second.output()
    assert_health_ok(checked(fcgi.request(str(sock), "GET", "/api/health"), "GET", "/api/health"))
    assert stop(first) == 0


def test_a_stale_socket_is_replaced(spawn, checked):
    state = Path(tempfile.mkdtemp(prefix="pld-t-"))
    try:
        sock = state / "s.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.bind(str(sock))  # left behind, nobody listening
        process, _ = spawn(["{bin}", "serve", "--state-dir", "{state}", "--socket", "{sock}"], state=state)
        wait_ready(process, sock)
        assert_health_ok(checked(fcgi.request(str(sock), "GET", "/api/health"), "GET", "/api/health"))
        assert stop(process) == 0
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_fd0_from_spawn_fcgi(spawn, checked):
    # spawn-fcgi -n binds the socket, puts it on fd 0 and execs plugind in the foreground.
    process, state = spawn(
        ["spawn-fcgi", "-n", "-s", "{sock}", "--", "{bin}", "serve", "--state-dir", "{state}",
         "--socket", "{state}/not-used.sock"]
    )
    sock = state / "s.sock"
    wait_ready(process, sock)
    assert os.path.realpath(f"/proc/{process.pid}/exe") == os.path.realpath(plugind_binary())
    raw = cgi_fcgi(sock, "GET", "/api/health")
    assert raw.startswith(b"Status: 200 OK\r\n")
    assert_health_ok(checked(parse(raw), "GET", "/api/health"))
    assert_health_ok(checked(fcgi.request(str(sock), "GET", "/api/health"), "GET", "/api/health"))
    assert not os.path.lexists(state / "not-used.sock"), "an inherited socket wins over --socket"
    assert stop(process) == 0


def test_fd3_from_systemd_socket_activate(spawn, checked):
    # systemd-socket-activate listens itself and execs plugind (LISTEN_FDS=1, fd 3) on the first connection.
    process, state = spawn(
        ["systemd-socket-activate", "-l", "{sock}", "{bin}", "serve", "--state-dir", "{state}",
         "--socket", "{state}/not-used.sock"]
    )
    sock = state / "s.sock"
    wait_ready(process, sock)  # connecting once here is what activates plugind
    started = time.monotonic()
    response = checked(fcgi.request(str(sock), "GET", "/api/health", timeout=15), "GET", "/api/health")
    assert_health_ok(response)
    assert time.monotonic() - started < 10
    assert os.path.realpath(f"/proc/{process.pid}/exe") == os.path.realpath(plugind_binary())
    assert_health_ok(checked(fcgi.request(str(sock), "GET", "/api/health"), "GET", "/api/health"))
    assert not os.path.lexists(state / "not-used.sock"), "an inherited socket wins over --socket"
    assert stop(process) == 0


def test_fd3_first_request_after_a_cold_start_answers(spawn, checked):
    process, state = spawn(["systemd-socket-activate", "-l", "{sock}", "{bin}", "serve", "--state-dir", "{state}"])
    sock = state / "s.sock"
    wait_until(lambda: is_socket(sock), START_TIMEOUT, "systemd-socket-activate's socket")
    assert os.path.realpath(f"/proc/{process.pid}/exe") != os.path.realpath(plugind_binary())
    # The very first connection carries a real request; plugind must answer it, not drop it.
    response = checked(fcgi.request(str(sock), "GET", "/api/health", timeout=15), "GET", "/api/health")
    assert_health_ok(response)
    assert stop(process) == 0


# --- bodies -------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_json(spawn, checked):
    process, state = spawn(["{bin}", "serve", "--state-dir", "{state}", "--socket", "{sock}", "--set", "maxBodyBytes=1024"])
    sock = str(state / "s.sock")
    wait_ready(process, state / "s.sock")
    big = b"x" * 4096

    declared = checked(fcgi.request(sock, "GET", "/api/health", body=big), "GET", "/api/health")
    assert declared.status == 413
    assert declared.header("Content-Type").startswith("application/json")
    assert json.loads(declared.body)["error"]

    # The same without CONTENT_LENGTH: plugind counts what arrives.
    with fcgi.Connection(sock) as conn:
        values = fcgi.cgi_params("GET", "/api/health")
        conn.send(fcgi.begin_request() + fcgi.params(values) + fcgi.stdin(big))
        undeclared = checked(conn.read_response(), "GET", "/api/health")
    assert undeclared.status == 413

    # Size comes before the token.
    anonymous = checked(fcgi.request(sock, "POST", "/api/settings", body=big), "POST", "/api/settings")
    assert anonymous.status == 413

    # At the limit is fine, and the server still answers afterwards.
    at_limit = checked(fcgi.request(sock, "GET", "/api/health", body=b"y" * 1024), "GET", "/api/health")
    assert_health_ok(at_limit)
    assert stop(process) == 0


def closed_by_server(conn: fcgi.Connection) -> bool:
    """After a response: whether plugind has closed the connection (not only its sending side).
    Reading gives end-of-file either way; writing to a connection the other end has closed fails."""
    conn.sock.settimeout(5)
    if conn.sock.recv(1) != b"":
        raise AssertionError("data after the end of the response")
    try:
        conn.sock.send(b"\0" * 8)
    except (BrokenPipeError, ConnectionResetError):
        return True
    return False


def test_a_request_read_to_its_end_is_closed_at_once(spawn, checked):
    """plugind closes the connection as soon as the answer is written instead of half-closing it and
    waiting for the web server to close first (libfcgi's lingering close): the worker is free at once."""
    process, state = spawn(["{bin}", "serve", "--state-dir", "{state}", "--socket", "{sock}", "--threads", "2"])
    sock = str(state / "s.sock")
    wait_ready(process, state / "s.sock")
    declared = fcgi.cgi_params("GET", "/api/health", body=b"0123456789")
    undeclared = fcgi.cgi_params("GET", "/api/health")
    declared_empty = fcgi.cgi_params("GET", "/api/health", content_length=0)
    cases = ((fcgi.cgi_params("GET", "/api/health"), b""), (declared_empty, b""), (declared, b"0123456789"),
             (undeclared, b"abc"))
    for values, body in cases:
        with fcgi.Connection(sock) as conn:
            conn.send(fcgi.begin_request() + fcgi.params(values) + fcgi.stdin(body))
            assert_health_ok(checked(conn.read_response(), "GET", "/api/health"))
            assert closed_by_server(conn), values.get("CONTENT_LENGTH")
    assert stop(process) == 0


def test_a_kept_connection_serves_several_requests(spawn, checked):
    """A web server that asks to keep the connection (nginx's fastcgi_keep_conn) gets it kept."""
    process, state = spawn(["{bin}", "serve", "--state-dir", "{state}", "--socket", "{sock}", "--threads", "2"])
    sock = str(state / "s.sock")
    wait_ready(process, state / "s.sock")
    with fcgi.Connection(sock) as conn:
        for request_id in (1, 2, 3):
            values = fcgi.cgi_params("GET", "/api/health")
            conn.send(fcgi.begin_request(request_id, keep_conn=True) + fcgi.params(values, request_id)
                      + fcgi.stdin(b"", request_id))
            assert_health_ok(checked(conn.read_response(request_id), "GET", "/api/health"))
        # The idle kept connection holds one worker; the other still takes new connections, and a
        # stop does not wait for the web server to let the kept one go.
        assert_health_ok(checked(fcgi.request(sock, "GET", "/api/health", timeout=5), "GET", "/api/health"))
        assert stop(process) == 0


# --- clients that go away -----------------------------------------------------------------------


def open_waiting_requests(sock: str, count: int) -> list[fcgi.Connection]:
    """`count` health requests that declared a 10-byte body and sent 5: each pins a worker, which waits for the rest."""
    conns = []
    for _ in range(count):
        conn = fcgi.Connection(sock, timeout=5)
        values = fcgi.cgi_params("GET", "/api/health", content_length=10)
        conn.send(fcgi.begin_request() + fcgi.params(values) + fcgi.stdin(b"12345", end=False))
        conns.append(conn)
    time.sleep(0.3)
    return conns


def hold_all_workers(sock: str, count: int, checked) -> None:
    """Opens `count` requests that each wait for the rest of their body (pinning one worker each),
    then completes them last-first: the last one is answered only if `count` workers are alive."""
    conns = open_waiting_requests(sock, count)
    try:
        for conn in reversed(conns):
            conn.send(fcgi.stdin(b"67890"))
            response = checked(conn.read_response(timeout=3), "GET", "/api/health")
            assert_health_ok(response)
    finally:
        for conn in conns:
            conn.close()


def test_a_large_answer_arrives_whole_in_large_records(spawn, checked):
    """A plugin list (well over libfcgi's 8 KiB buffer) comes in records of up to 64 KiB, intact, on a
    connection closed after it and on one the web server keeps for a second request."""
    process, state, sock = serve_with_workers(spawn, 4)
    auth = {"Authorization": f"Bearer {make_token(state)}"}
    response = checked(fcgi.request(sock, "GET", "/api/plugins", headers=auth), "GET", "/api/plugins")
    assert response.status == 200
    assert len(response.body) > 16_000, len(response.body)
    assert int(response.header("Content-Length")) == len(response.body)
    assert isinstance(json.loads(response.body)["plugins"], list)
    assert response.protocol_status == fcgi.REQUEST_COMPLETE
    records = response.stdout_records
    assert records[-1] == 0 and all(records[:-1]), records  # the empty record ends STDOUT, once
    assert max(records) > 8192 and len(records) <= len(response.raw) // 65528 + 2, records

    with fcgi.Connection(sock) as conn:
        for _ in range(2):
            values = fcgi.cgi_params("GET", "/api/plugins", headers=auth)
            conn.send(fcgi.begin_request(keep_conn=True) + fcgi.params(values) + fcgi.stdin(b""))
            again = checked(conn.read_response(), "GET", "/api/plugins")
            assert again.status == 200 and again.body == response.body
        values = fcgi.cgi_params("GET", "/api/health")
        conn.send(fcgi.begin_request(keep_conn=True) + fcgi.params(values) + fcgi.stdin(b""))
        assert_health_ok(checked(conn.read_response(), "GET", "/api/health"))
    assert stop(process) == 0


def test_clients_that_hang_up_do_not_cost_workers(spawn, checked):
    threads = 4
    process, state, sock = serve_with_workers(spawn, threads)
    hold_all_workers(sock, threads, checked)
    baseline = thread_count(process.pid)
    baseline_states = thread_states(process.pid)
    assert baseline >= threads + 1, baseline_states  # the main thread and the workers (and helpers)

    values = fcgi.cgi_params("GET", "/api/health")
    full = fcgi.begin_request() + fcgi.params(values) + fcgi.stdin(b"")
    partial_params = fcgi.begin_request() + fcgi.params(values)[:40]
    for i in range(20):
        for payload in (b"", fcgi.begin_request(), partial_params,
                        fcgi.begin_request() + fcgi.params(values),  # no STDIN at all
                        full[: len(full) - 3]):  # cut inside the last record header
            with fcgi.Connection(sock) as conn:
                if payload:
                    conn.send(payload)
        with fcgi.Connection(sock) as conn:  # a whole request, gone before the answer
            conn.send(full)
    time.sleep(0.5)

    assert process.alive(), process.output()
    for _ in range(10):
        assert_health_ok(checked(fcgi.request(sock, "GET", "/api/health"), "GET", "/api/health"))
    hold_all_workers(sock, threads, checked)
    assert thread_count(process.pid) == baseline, (baseline_states, thread_states(process.pid))
    # Workers that met a malformed request wait for the next connection too: a stop still wakes them
    # all, well inside the 30 s drain.
    started = time.monotonic()
    assert stop(process) == 0
    assert time.monotonic() - started < 10, process.output()


def test_a_stop_after_the_socket_file_is_gone_is_prompt(spawn, checked):
    """Idle workers wake at a stop even when nothing can connect to the socket any more (its file removed)."""
    process, state, sock = serve_with_workers(spawn, 4)
    assert_health_ok(checked(fcgi.request(sock, "GET", "/api/health"), "GET", "/api/health"))
    os.unlink(sock)
    started = time.monotonic()
    assert stop(process) == 0, process.output()
    assert time.monotonic() - started < 10, process.output()  # the drain timeout is 30 s


def test_connections_in_flight_are_close_on_exec(spawn, checked):
    """A connection a worker holds must not be inherited by a child started meanwhile (npm, git, the agent)."""
    process, state, sock = serve_with_workers(spawn, 4)
    before = set(os.listdir(f"/proc/{process.pid}/fd"))
    conns = open_waiting_requests(sock, 3)  # each holds a worker and its connection
    try:
        held = [fd for fd in set(os.listdir(f"/proc/{process.pid}/fd")) - before
                if os.readlink(f"/proc/{process.pid}/fd/{fd}").startswith("socket:")]
        assert len(held) >= 3, held
        for fd in held:
            flags = Path(f"/proc/{process.pid}/fdinfo/{fd}").read_text().split("flags:")[1].split()[0]
            assert int(flags, 8) & 0o2000000, (fd, flags)  # O_CLOEXEC
        for conn in conns:
            conn.send(fcgi.stdin(b"67890"))
            assert_health_ok(checked(conn.read_response(timeout=3), "GET", "/api/health"))
    finally:
        for conn in conns:
            conn.close()
    assert stop(process) == 0


def test_an_aborted_request_with_a_long_body_does_not_pin_a_worker(spawn, checked):
    process, state, sock = serve_with_workers(spawn, 2)
    for _ in range(6):
        with fcgi.Connection(sock) as conn:
            values = fcgi.cgi_params("GET", "/api/health", content_length=100_000)
            conn.send(fcgi.begin_request() + fcgi.params(values) + fcgi.stdin(b"z" * 50_000, end=False))
    hold_all_workers(sock, 2, checked)
    assert stop(process) == 0


@contextlib.contextmanager
def serving_with_token(spawn):
    """plugind serving on its own socket in a fresh state directory with a token: (process, socket path, token).
    The directory goes when the block ends."""
    state = Path(tempfile.mkdtemp(prefix="pld-t-"))
    try:
        token = make_token(state)
        process, _ = spawn(["{bin}", "serve", "--state-dir", "{state}", "--socket", "{sock}"], state=state)
        wait_ready(process, state / "s.sock")
        yield process, str(state / "s.sock"), token
    finally:
        shutil.rmtree(state, ignore_errors=True)


# --- shutting down --------------------------------------------------------------------------------


def test_sigterm_lets_a_request_in_flight_finish(spawn, checked):
    with serving_with_token(spawn) as (process, sock, token):
        body = b'{"a":"bc"}'
        assert len(body) == 10
        with fcgi.Connection(str(sock), timeout=20) as conn:
            values = fcgi.cgi_params(
                "POST", "/api/health",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                content_length=len(body),
            )
            conn.send(fcgi.begin_request() + fcgi.params(values) + fcgi.stdin(body[:5], end=False))
            time.sleep(0.3)  # a worker has it and waits for the rest of the body
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert process.alive(), "plugind must wait for the request in flight"
            conn.send(fcgi.stdin(body[5:]))
            response = checked(conn.read_response(timeout=10), "POST", "/api/health")
        assert response.status == 405
        assert response.header("Allow")
        assert json.loads(response.body)["error"]
        started = time.monotonic()
        assert process.popen.wait(STOP_TIMEOUT) == 0
        assert time.monotonic() - started < 5, "plugind exits soon after its last request"
        assert not os.path.lexists(sock)


def test_sigterm_when_idle_exits_promptly_with_every_listener(spawn, checked):
    cases = [
        ["{bin}", "serve", "--state-dir", "{state}", "--socket", "{sock}", "--threads", "8",
         "--set", "maxConcurrentOperations=2"],
        ["spawn-fcgi", "-n", "-s", "{sock}", "--", "{bin}", "serve", "--state-dir", "{state}", "--threads", "8",
         "--set", "maxConcurrentOperations=2"],
    ]
    for argv in cases:
        process, state = spawn(argv)
        wait_ready(process, state / "s.sock")
        # spawn-fcgi's socket exists before plugind runs: wait for an answer, then stop it idle.
        assert_health_ok(checked(fcgi.request(str(state / "s.sock"), "GET", "/api/health"), "GET", "/api/health"))
        started = time.monotonic()
        assert stop(process) == 0, process.output()
        assert time.monotonic() - started < 5, argv[0]
        assert not pid_alive(process.pid)


def test_an_incomplete_request_never_reaches_a_route(spawn, checked):
    with serving_with_token(spawn) as (process, sock, token):
        # Parameters cut short: the client is gone before REQUEST_METHOD/REQUEST_URI arrived.
        for _ in range(3):
            with fcgi.Connection(sock) as conn:
                conn.send(fcgi.begin_request())
        # A POST whose body never completes (5 of 10 bytes, then the client hangs up).
        values = fcgi.cgi_params(
            "POST", "/api/operations",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            content_length=10,
        )
        with fcgi.Connection(sock) as conn:
            conn.send(fcgi.begin_request() + fcgi.params(values) + fcgi.stdin(b'{"a":', end=False))
        time.sleep(0.3)
        assert_health_ok(checked(fcgi.request(sock, "GET", "/api/health"), "GET", "/api/health"))
        assert stop(process) == 0
        log = process.output()
        assert "GET /api/health 200" in log
        handled = [line for line in log.splitlines() if " GET / " in line or "POST /api/operations" in line]
        assert handled == [], "incomplete requests were handled:\n" + "\n".join(handled)


def test_methods_as_the_front_end_sends_them(spawn):
    """A lower-case method is its upper-case one; any other token reaches the router (401 without a token, 405 with
    `Allow` on a known path, named in the sentence and the log line); text that is no token is the transport's 400."""
    with serving_with_token(spawn) as (process, sock, token):
        assert_health_ok(fcgi.request(sock, "get", "/api/health"))
        assert fcgi.request(sock, "PROPFIND", "/api/health").status == 401
        odd = fcgi.request(sock, "PROPFIND", "/api/health", headers={"Authorization": f"Bearer {token}"})
        assert (odd.status, odd.reason) == (405, "Method Not Allowed"), odd.raw
        assert odd.header("Allow") == "GET, HEAD, OPTIONS"
        assert json.loads(odd.body) == {"error": "This path does not answer to PROPFIND."}
        broken = fcgi.request(sock, "G T", "/api/health", headers={"Authorization": f"Bearer {token}"})
        assert (broken.status, broken.reason) == (400, "Bad Request"), broken.raw
        assert broken.header("Content-Type").startswith("application/json")
        assert "not an HTTP token" in json.loads(broken.body)["error"]
        assert stop(process) == 0
        log = process.output()
        assert "GET /api/health 200" in log and "PROPFIND /api/health 405" in log
