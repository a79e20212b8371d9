"""The systemd units in systemd/ pass `systemd-analyze verify` with ExecStart pointed at the built
binary, and the check really catches a broken unit."""
import os
import shutil
import subprocess
from pathlib import Path

from helpers import plugind_binary

REPO = Path(__file__).resolve().parents[2]
VERIFY = REPO / "scripts" / "lib" / "verify-units.sh"


def verify(env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(["bash", str(VERIFY), str(plugind_binary())], capture_output=True, text=True, timeout=120, env=env)


def test_the_units_verify_with_the_built_binary():
    result = verify()
    assert result.returncode == 0, result.stderr + result.stdout


def test_a_broken_unit_is_caught(tmp_path):
    units = tmp_path / "systemd"
    shutil.copytree(REPO / "systemd", units)
    service = units / "plugind.service"
    service.write_text(service.read_text().replace("[Service]", "[Service]\nProtectSystem=sometimes\nNoSuchDirective=1", 1))
    result = verify({"PLUGIND_UNITS_DIR": str(units)})
    assert result.returncode != 0
    assert "plugind.service" in result.stderr + result.stdout


def test_the_socket_unit_matches_the_nginx_site():
    socket = (REPO / "systemd" / "plugind.socket").read_text()
    site = (REPO / "nginx" / "plugind.conf").read_text()
    assert "ListenStream=/run/plugind/plugind.sock" in socket
    assert "SocketMode=0660" in socket and "SocketGroup=www-data" in socket
    assert "fastcgi_pass unix:/run/plugind/plugind.sock;" in site
    assert "RuntimeDirectory=plugind\n" not in (REPO / "systemd" / "plugind.service").read_text()
