# shellcheck shell=bash
# Installing what is missing, without prompting (Debian 12). Source after common.sh.
#
#   ensure_apt_packages PKG...   install those of PKG... that are not installed
#   ensure_node                  nodejs and npm, only when `node`/`npm` are not on PATH
#   ensure_swift                 fail with a clear message when there is no Swift toolchain
#
# Set PLUGIND_SKIP_DEPS=1 to skip all of it (a machine managed some other way).

PLUGIND_APT_UPDATED="${PLUGIND_APT_UPDATED:-0}"

# The packages scripts/run needs on a fresh Debian 12 (Swift itself comes from swift.org).
# shellcheck disable=SC2034  # used by scripts/run
PLUGIND_RUN_PACKAGES=(libfcgi-dev libfcgi-bin libcurl4-openssl-dev zlib1g-dev nginx-light openssl ca-certificates git sqlite3 curl acl systemd)

apt_is_installed() {
    # dpkg-query prints only the status, so grep -q stopping early cannot kill it with SIGPIPE under pipefail.
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

_apt_install() {
    if [[ "$(id -u)" != 0 ]]; then
        die "missing Debian packages: $* — run as root, or install them: apt-get install $*"
    fi
    if [[ "$PLUGIND_APT_UPDATED" != 1 ]]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        PLUGIND_APT_UPDATED=1
    fi
    say "installing: $*"
    # A package's own service (nginx's, prometheus') is never started by the install: the scripts run their own
    # processes on free ports. Debian asks /usr/sbin/policy-rc.d before starting one; where there is none, one
    # that says no stands there for the install's length.
    local policy=/usr/sbin/policy-rc.d placed=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && placed=1
    fi
    local status=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 || status=$?
    ((placed)) && rm -f -- "$policy"
    return "$status"
}

ensure_apt_packages() {
    [[ "${PLUGIND_SKIP_DEPS:-0}" == 1 ]] && return 0
    local missing=() p
    for p in "$@"; do
        apt_is_installed "$p" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) || _apt_install "${missing[@]}"
}

ensure_node() {
    [[ "${PLUGIND_SKIP_DEPS:-0}" == 1 ]] && return 0
    local missing=()
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    ((${#missing[@]} == 0)) || _apt_install "${missing[@]}"
}

ensure_swift() {
    command -v swift >/dev/null 2>&1 \
        || die "no Swift toolchain on PATH: install Swift 6 (swift.org) or pass --no-build --binary PATH"
}
