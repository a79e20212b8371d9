"""The systemd units in systemd/ pass `systemd-analyze verify` with ExecStart pointed at the built
binary, and the check really catches a broken unit."""
import os
import re
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


def test_every_units_documentation_is_installed_by_the_deployment_guide():
    """`systemctl help plugind` opens what Documentation= names: a file the documented install puts there."""
    guide = (REPO / "docs" / "deployment.md").read_text()
    assert "install -m 0644 docs/*.md docs/openapi.yaml /usr/share/doc/plugind/" in guide
    for unit in sorted((REPO / "systemd").glob("plugind*")):
        links = [line.split("=", 1)[1] for line in unit.read_text().splitlines() if line.startswith("Documentation=")]
        assert links, f"{unit.name} has no Documentation="
        for link in links:
            assert link.startswith("file:/usr/share/doc/plugind/"), f"{unit.name}: {link} is not where the guide installs the docs"
            assert (REPO / "docs" / Path(link).name).is_file(), f"{unit.name}: {link} names no file in docs/"


def test_the_deployment_guide_installs_the_agent_host_and_names_what_the_build_needs():
    """From an empty Debian 12 to every unit: the build's headers, the agent host and its bundled plugins, the right sections."""
    guide = (REPO / "docs" / "deployment.md").read_text()
    assert "zlib1g-dev" in guide and "libfcgi-dev" in guide and "libcurl4-openssl-dev" in guide
    for unit in sorted((REPO / "systemd").glob("plugind*")):
        assert f"systemd/{unit.name}" in guide or "systemd/*" in guide, f"the guide never installs {unit.name}"
    assert "install -m 0644 agent-host/*.mjs /usr/share/plugind/agent-host/" in guide
    assert "/var/lib/plugind/agent/node_modules" in guide and "npm install" in guide
    assert "enable --now plugind-agent.service" in guide
    headings = {int(n): title for n, title in re.findall(r"^## (\d+)\. (.+)$", guide, flags=re.M)}
    assert "Backups" in headings[9]
    assert "backups (section 9)" in guide
