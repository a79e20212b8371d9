"""Outbound redirects never lead from outside into this machine's loopback (issue 16).

A fake plugin registry runs on a test host of our own: a network namespace with a veth pair, so its
address (10.213.N.2) is not loopback. It answers every request with a redirect into 127.0.0.1, where a
server of ours records whatever reaches it. plugind is told to trust the fake's certificate (a CA made
here) and, so that only the loopback rule can refuse the hop, `redirectOrigins` names the loopback target.
The rule is judged on the address connected to: the same redirect served from loopback itself is followed.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import random
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import _run_stack
from helpers import free_port, wait_until

REDIRECTOR = r'''
import ssl, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
address, port, cert, key, location = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def _go(self):
        self.send_response(307)
        self.send_header("Location", location + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_GET = do_POST = do_PUT = _go
server = ThreadingHTTPServer((address, port), H)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
'''

DOCUMENT = json.dumps({"lastUpdatedAt": "2026-01-01T00:00:00.000Z", "registry": {
    "@e2e-redirect/plugin-a": {"git": {"repo": "o/a", "v1": {"version": "v1.0.0", "branch": "main"}},
                               "npm": {"repo": "@e2e-redirect/plugin-a", "v1": "1.0.0"},
                               "supports": {"v0": False, "v1": True, "v2": False}, "description": "A."}}}).encode()


def _certificate(directory: Path, ca_key, ca_cert, name: str, ip: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki():
    directory = Path(tempfile.mkdtemp(prefix="plugind-e2e-pki-"))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "plugind e2e CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    # plugind (its own user under scripts/run) reads the CA; the keys stay the test servers' (root's).
    directory.chmod(0o755)
    (directory / "ca.pem").chmod(0o644)
    yield directory, ca_key, ca_cert
    shutil.rmtree(directory, ignore_errors=True)


class Recorder:
    """A server on loopback that records every request and serves a valid registry document."""

    def __init__(self, tls: tuple[Path, Path] | None = None):
        self.seen: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                recorder.seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(DOCUMENT)))
                self.end_headers()
                self.wfile.write(DOCUMENT)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def test_host():
    """A network namespace with a veth pair: the host side 10.213.N.1, the test host 10.213.N.2."""
    n = random.randint(1, 250)
    ns, outer, inner = f"plugind-e2e-{os.getpid()}-{n}", f"pe{n}a{os.getpid() % 1000}", f"pe{n}b{os.getpid() % 1000}"
    commands = [["ip", "netns", "add", ns], ["ip", "link", "add", outer, "type", "veth", "peer", "name", inner],
                ["ip", "link", "set", inner, "netns", ns], ["ip", "addr", "add", f"10.213.{n}.1/30", "dev", outer],
                ["ip", "link", "set", outer, "up"], ["ip", "netns", "exec", ns, "ip", "addr", "add", f"10.213.{n}.2/30", "dev", inner],
                ["ip", "netns", "exec", ns, "ip", "link", "set", inner, "up"], ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]]
    try:
        for argv in commands:
            subprocess.run(argv, check=True, capture_output=True, timeout=30)
        yield ns, f"10.213.{n}.2"
    finally:
        subprocess.run(["ip", "link", "del", outer], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


@contextlib.contextmanager
def redirector(test_host, pki, location: str):
    """The fake registry on the test host, redirecting every path to `location`."""
    ns, address = test_host
    directory, ca_key, ca_cert = pki
    cert, key = _certificate(directory, ca_key, ca_cert, f"registry-{address}", address)
    script = directory / "redirector.py"
    script.write_text(REDIRECTOR)
    port = random.randint(20000, 60000)
    process = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, str(script), address, str(port), str(cert), str(key), location],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
        yield f"https://{address}:{port}"
    finally:
        process.kill()
        process.wait(10)


def refresh(stack) -> "requests.Response":
    with stack.client(stack.adminToken) as session:
        return session.post("/api/registry/refresh", timeout=60)


def loopback_alias() -> str | None:
    """A name other than localhost that this machine resolves to 127/8 (/etc/hosts), if any."""
    with contextlib.suppress(OSError):
        for line in Path("/etc/hosts").read_text().splitlines():
            fields = line.split("#", 1)[0].split()
            if fields and fields[0].startswith("127."):
                for name in fields[1:]:
                    if name != "localhost" and "." not in name:
                        with contextlib.suppress(OSError):
                            if socket.gethostbyname(name).startswith("127."):
                                return name
    return None


def assert_refused_into(test_host, pki, target: Recorder, loop: str) -> None:
    """The test host redirects the registry fetch to `loop` (an origin the settings allow): refused, unseen."""
    try:
        with redirector(test_host, pki, loop) as upstream, contextlib.contextmanager(_run_stack)({
            "PLUGIND_PLUGIN_REGISTRY_URLS": upstream + "/generated-registry.json", "PLUGIND_CA_FILE": str(pki[0] / "ca.pem"),
            "PLUGIND_REDIRECT_ORIGINS": loop, "PLUGIND_RUNTIME_BRIDGE": "none", "PLUGIND_TIMEOUT_FETCH_MS": "5000",
        }) as stack:
            response = refresh(stack)
            assert response.status_code == 502, response.text
            # The sentence names the setting; why the URL failed is in its `details` line (issue 20).
            assert "pluginRegistryUrls" in response.json()["error"], response.text
            assert any("loopback" in line for line in response.json()["details"]), response.text
            assert target.seen == [], target.seen
    finally:
        target.stop()


def test_a_redirect_from_a_test_host_into_loopback_is_refused(test_host, pki):
    target = Recorder()
    assert_refused_into(test_host, pki, target, f"http://127.0.0.1:{target.port}")


def test_a_name_that_resolves_to_loopback_is_refused_too(test_host, pki):
    name = loopback_alias()
    if name is None:
        pytest.skip("no name besides localhost resolves to 127/8 on this machine (/etc/hosts)")
    directory, ca_key, ca_cert = pki
    target = Recorder(tls=_certificate(directory, ca_key, ca_cert, name, "127.0.0.1"))
    assert_refused_into(test_host, pki, target, f"https://{name}:{target.port}")


def test_the_same_redirect_from_loopback_is_followed(pki):
    """The control: a loopback origin may redirect to another loopback origin the settings name."""
    target = Recorder()

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{target.port}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

    origin = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    try:
        with contextlib.contextmanager(_run_stack)({
            "PLUGIND_PLUGIN_REGISTRY_URLS": f"http://127.0.0.1:{origin.server_address[1]}/generated-registry.json",
            "PLUGIND_REDIRECT_ORIGINS": f"http://127.0.0.1:{target.port}", "PLUGIND_RUNTIME_BRIDGE": "none",
        }) as stack:
            response = refresh(stack)
            assert response.status_code == 200, response.text
            assert "/generated-registry.json" in target.seen
    finally:
        origin.shutdown()
        origin.server_close()
        target.stop()
