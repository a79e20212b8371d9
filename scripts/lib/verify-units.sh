#!/usr/bin/env bash
# scripts/lib/verify-units.sh BINARY — `systemd-analyze verify` on systemd/plugind.socket and
# systemd/plugind.service, with the service's ExecStart pointed at BINARY (verify fails when
# ExecStart names a binary that does not exist, and /usr/local/bin/plugind usually does not).
#
# Exits 0 when the units are clean, non-zero otherwise. Stricter than verify itself, which exits 0
# after warnings such as an unknown key or a value it cannot parse: any message verify prints
# about our units counts as a failure.
#
# Works offline and without a booted systemd (Debian 12: systemd 252). The `plugind` user need not
# exist: User=/Group=/SocketGroup= are resolved only when a unit starts, not by verify.
set -euo pipefail

# shellcheck disable=SC2034  # read by common.sh
PLUGIND_SCRIPT=verify-units
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

(($# == 1)) || die "usage: scripts/lib/verify-units.sh BINARY"
binary="$(abs_path "$1")"
[[ -x "$binary" && -f "$binary" ]] || die "$binary is not an executable file"
[[ "$binary" != *[[:space:]\\\"\'%\$]* ]] || die "$binary: a path with spaces, quotes, % or \$ cannot go into ExecStart unquoted"
command -v systemd-analyze >/dev/null 2>&1 || die "systemd-analyze is missing (Debian package systemd)"

# PLUGIND_UNITS_DIR lets the tests check that a broken unit is caught.
units_dir="${PLUGIND_UNITS_DIR:-$PLUGIND_ROOT/systemd}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/plugind-units.XXXXXX")"
trap 'rm -rf -- "$tmp"' EXIT

cp -- "$units_dir/plugind.socket" "$units_dir/plugind.service" "$units_dir/plugind-agent.service" \
    "$units_dir/plugind-runner.socket" "$units_dir/plugind-runner.service" "$tmp/"
grep -q '^ExecStart=/usr/local/bin/plugind ' "$tmp/plugind.service" \
    || die "systemd/plugind.service: ExecStart no longer starts with /usr/local/bin/plugind"
sed -i -e "s#^ExecStart=/usr/local/bin/plugind #ExecStart=$binary #" -e "s#^ExecStartPre=+/usr/local/bin/plugind #ExecStartPre=+$binary #" \
    "$tmp/plugind.service" "$tmp/plugind-runner.service"

rc=0
out="$(cd "$tmp" && systemd-analyze verify --man=no "$tmp/plugind.socket" "$tmp/plugind.service" "$tmp/plugind-agent.service" \
    "$tmp/plugind-runner.socket" "$tmp/plugind-runner.service" 2>&1)" || rc=$?
ours="$(printf '%s\n' "$out" | grep -E 'plugind(-agent|-runner)?\.(socket|service)' || true)"
if ((rc != 0)) || [[ -n "$ours" ]]; then
    printf '%s\n' "$out" >&2
    die "systemd-analyze verify failed on systemd/plugind.socket + plugind.service (exit status $rc)"
fi
if [[ -n "$out" ]]; then
    # Messages about other units (e.g. of this host) are shown but do not fail the check.
    printf '%s\n' "$out" >&2
fi
say "systemd/plugind.socket, plugind.service, plugind-agent.service and plugind-runner.socket, .service verify cleanly (ExecStart=$binary)"
