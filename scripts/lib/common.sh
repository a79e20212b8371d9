# shellcheck shell=bash
# Shared helpers for scripts/run, scripts/test and scripts/bench. Source it; do not run it.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#
# Sets PLUGIND_ROOT (the repository root, found from this file's own path) unless already set.

if [[ -z "${PLUGIND_ROOT:-}" ]]; then
    PLUGIND_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
fi
PLUGIND_SCRIPT="${PLUGIND_SCRIPT:-$(basename "$0")}"

# Messages go to stderr so that a script's stdout stays machine-readable.
say()  { printf '[%s] %s\n' "$PLUGIND_SCRIPT" "$*" >&2; }
warn() { printf '[%s] warning: %s\n' "$PLUGIND_SCRIPT" "$*" >&2; }
die()  { printf '[%s] error: %s\n' "$PLUGIND_SCRIPT" "$*" >&2; exit 1; }

# abs_path PATH — absolute path without requiring it to exist (relative to the current directory).
abs_path() {
    local p="$1"
    [[ "$p" == /* ]] || p="$PWD/$p"
    realpath -m -- "$p"
}

# require_nginx_safe_path WHAT PATH — a path that goes into an nginx config unquoted.
require_nginx_safe_path() {
    [[ "$2" =~ ^[A-Za-z0-9._/+@:,=~-]+$ ]] \
        || die "$1 '$2' contains characters nginx configs cannot take unquoted (spaces, quotes, ; { } \$ ...)"
}

# pid_alive PID — true while PID runs (a zombie counts as dead).
pid_alive() {
    local pid="$1" stat
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat%% *}" != Z ]]
}

# stop_pid PID NAME [TIMEOUT_SECONDS] [SIGNAL] — signal one process we started, wait for it,
# SIGKILL it after the timeout, and reap it if it is our child. Never fails.
stop_pid() {
    local pid="$1" name="$2" timeout="${3:-30}" sig="${4:-TERM}" i
    [[ -n "$pid" ]] || return 0
    if pid_alive "$pid"; then
        kill "-$sig" "$pid" 2>/dev/null || true
        for ((i = 0; i < timeout * 10; i++)); do
            pid_alive "$pid" || break
            sleep 0.1
        done
        if pid_alive "$pid"; then
            warn "$name (pid $pid) did not stop within ${timeout}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

# spawn_own_group — run "$@" as the leader of a new session and process group (util-linux setsid
# execs without forking when the caller is not a group leader, as a background job of a script is
# not), so that $! is the process itself and stop_group can reach its children (nginx workers)
# even after the leader has died. A terminal's Ctrl-C then reaches only the script, which stops it.
spawn_own_group() {
    exec setsid "$@"
}

# ensure_system_user NAME — a system user NAME with a group of the same name, no home, no login shell.
ensure_system_user() {
    id -u "$1" >/dev/null 2>&1 && return 0
    say "creating the system user $1"
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$1" >&2 \
        || die "useradd $1 failed"
}

# grant_traverse USER PATH — USER may pass through every directory from / down to PATH: where it could
# not, an ACL entry u:USER:--x is added (it may open known names there, never list them).
grant_traverse() {
    local user="$1" dir dirs=()
    dir="$(abs_path "$2")"
    while [[ -n "$dir" && "$dir" != / ]]; do
        [[ -d "$dir" ]] && dirs=("$dir" "${dirs[@]}")
        dir="$(dirname -- "$dir")"
    done
    for dir in "${dirs[@]}"; do
        setpriv "--reuid=$user" "--regid=$user" --clear-groups test -x "$dir" 2>/dev/null && continue
        command -v setfacl >/dev/null 2>&1 || die "setfacl is missing (Debian package acl): $user cannot pass through $dir"
        setfacl -m "u:$user:--x" -- "$dir" || die "cannot let $user pass through $dir (setfacl)"
    done
}

# stop_group PID NAME [TIMEOUT_SECONDS] [SIGNAL] — like stop_pid for a process started with
# spawn_own_group: signals the whole group, and SIGKILLs what is left of it after the timeout.
stop_group() {
    local pid="$1" name="$2" timeout="${3:-30}" sig="${4:-TERM}" i
    [[ -n "$pid" ]] || return 0
    kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        pid_alive "$pid" || break
        sleep 0.1
    done
    if pid_alive "$pid"; then
        warn "$name (pid $pid) did not stop within ${timeout}s; sending SIGKILL"
    fi
    # Whatever is left of the group (the leader, or orphaned workers of a leader that died).
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# stop_groups TIMEOUT PID:NAME:SIGNAL... — stop_group for several at once: each gets its signal now, all share one
# TIMEOUT, and whatever is still alive then is killed. Stopping them one after another would add their bounds up.
stop_groups() {
    local timeout="$1" spec pid name sig i alive
    shift
    local -a pids=() names=()
    for spec in "$@"; do
        IFS=: read -r pid name sig <<<"$spec"
        [[ -n "$pid" ]] || continue
        pids+=("$pid")
        names+=("$name")
        kill "-${sig:-TERM}" -- "-$pid" 2>/dev/null || kill "-${sig:-TERM}" "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < timeout * 10; i++)); do
        alive=0
        for pid in "${pids[@]}"; do pid_alive "$pid" && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for i in "${!pids[@]}"; do
        pid="${pids[$i]}"
        pid_alive "$pid" && warn "${names[$i]} (pid $pid) did not stop within ${timeout}s; sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# build_release_binary — builds plugind for release and prints the binary's path. The Swift runtime and Foundation
# are linked in (--static-swift-stdlib): the dynamic loader then has a handful of system libraries to map (libc,
# libcurl, libfcgi, libsqlite3, zlib) instead of fifty, which is most of a socket-activated start.
build_release_binary() {
    ensure_swift
    local flags=(-c release --static-swift-stdlib --product plugind)
    say "building plugind (swift build ${flags[*]})"
    (cd "$PLUGIND_ROOT" && swift build "${flags[@]}" >&2) || die "the build failed"
    printf '%s/plugind\n' "$(cd "$PLUGIND_ROOT" && swift build "${flags[@]}" --show-bin-path)"
}

# port_in_use PORT [HOST] — something accepts TCP connections there.
port_in_use() {
    (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

# free_port — a TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range): a port in it can be taken meanwhile as the local end of some outgoing
# connection (wrk's, nginx's), and a server's bind then fails with "Address already in use".
free_port() {
    local p i low=32768
    read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    ((low > 11000)) || low=32768
    for ((i = 0; i < 200; i++)); do
        p=$((10000 + RANDOM % (low - 10000)))
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    die "no free port found"
}

# log_tail FILE [LINES] — show the end of a log on stderr.
log_tail() {
    local file="$1" n="${2:-40}"
    if [[ -s "$file" ]]; then
        printf -- '----- last %s lines of %s -----\n' "$n" "$file" >&2
        tail -n "$n" -- "$file" >&2
        printf -- '-----\n' >&2
    else
        printf -- '(%s is empty or missing)\n' "$file" >&2
    fi
}

# json_escape STRING — the string as a JSON string literal, quotes included.
json_escape() {
    local s="$1" out="" c i code
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
            '"') out+='\"' ;;
            '\') out+='\\' ;;
            $'\n') out+='\n' ;;
            $'\t') out+='\t' ;;
            $'\r') out+='\r' ;;
            *)
                printf -v code '%d' "'$c"
                if ((code >= 0 && code < 32)); then
                    printf -v c '\\u%04x' "$code"
                fi
                out+="$c"
                ;;
        esac
    done
    printf '"%s"' "$out"
}

# json_string_field FILE KEY — the value of "KEY": "value" in a JSON file that this project wrote
# itself (one key per line, values without escapes, e.g. tokens). Empty when absent.
json_string_field() {
    [[ -r "$1" ]] || return 0
    sed -n "s/^[[:space:]]*\"$2\"[[:space:]]*:[[:space:]]*\"\\([^\"\\\\]*\\)\".*/\\1/p" -- "$1" | head -n 1
}

# curl_local ARGS... — curl for loopback: no proxies, no certificate checks, no retries.
curl_local() {
    curl --noproxy '*' -sk "$@"
}

# http_status URL [CURL ARGS...] — the HTTP status code (000 when nothing answered).
http_status() {
    local url="$1"
    shift
    curl_local -o /dev/null -w '%{http_code}' --max-time 5 "$@" -- "$url" 2>/dev/null || true
}
