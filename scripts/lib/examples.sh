# shellcheck shell=bash
# The example plugins (examples/plugins/) in the development stack: scripts/run makes them the dev
# agent's own plugins, so a first start shows plugins that really load, pass or fail their checks,
# and can be ejected and synced without a network. plugind's own defaults stay Milady's.

# examples_npm_names — the npm names of the example plugins, one a line.
examples_npm_names() {
    local manifest
    for manifest in "$PLUGIND_ROOT"/examples/plugins/*/package.json; do
        node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).name + "\n")' "$manifest"
    done
}

# as_git_owner USER CMD... — runs CMD as USER (the installer, who clones them) with git's identity
# for the examples; as the current user when USER is empty.
as_git_owner() {
    local user="$1"
    shift
    local env=(env -i "PATH=$PATH" "LANG=C.UTF-8" "HOME=/nonexistent" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
        "GIT_AUTHOR_NAME=plugind examples" "GIT_AUTHOR_EMAIL=examples@localhost"
        "GIT_COMMITTER_NAME=plugind examples" "GIT_COMMITTER_EMAIL=examples@localhost")
    if [[ -n "$user" ]]; then
        (cd / && setpriv "--reuid=$user" "--regid=$user" --clear-groups --no-new-privs "${env[@]}" "$@")
    else
        (cd / && "${env[@]}" "$@")
    fi
}

# setup_examples STATE BUNDLED_DIR CATALOGUE_BASE GIT_USER — for each example plugin:
#  - STATE/examples/<dir>: its upstream git repository (branch main, tag v<version>), made and owned by
#    GIT_USER (the installer user plugind runs git as; empty: the current user). A later start commits
#    the repository's newer files on top, so upstream has history to sync;
#  - BUNDLED_DIR/<npm name>: the copy the dev agent bundles (readable by everyone, written by us);
# and STATE/catalogue.json: CATALOGUE_BASE plus an entry per example naming its repository.
setup_examples() {
    local state="$1" bundled="$2" base="$3" git_user="$4"
    local repos="$state/examples" src dir name version repo
    mkdir -p -- "$repos" "$bundled"
    [[ -n "$git_user" ]] && chown -- "$git_user:$git_user" "$repos"
    chmod 755 -- "$repos"
    for src in "$PLUGIND_ROOT"/examples/plugins/*/; do
        src="${src%/}"
        dir="$(basename -- "$src")"
        name="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).name' "$src/package.json")"
        version="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version' "$src/package.json")"
        repo="$repos/$dir"
        # Upstream: the example's files, committed by the installer user.
        if [[ ! -d "$repo/.git" ]]; then
            as_git_owner "$git_user" git init -q -b main -- "$repo" || die "cannot make the example repository $repo"
        fi
        tar -C "$src" -cf - . | as_git_owner "$git_user" tar -C "$repo" -xf - --no-same-owner --no-same-permissions \
            || die "cannot copy $src into $repo"
        as_git_owner "$git_user" git -C "$repo" add -A
        if ! as_git_owner "$git_user" git -C "$repo" diff --cached --quiet 2>/dev/null \
            || ! as_git_owner "$git_user" git -C "$repo" rev-parse -q --verify HEAD >/dev/null; then
            as_git_owner "$git_user" git -C "$repo" commit -q -m "$name $version from plugind's examples/plugins/$dir" \
                || die "cannot commit in $repo"
        fi
        as_git_owner "$git_user" git -C "$repo" rev-parse -q --verify "refs/tags/v$version" >/dev/null \
            || as_git_owner "$git_user" git -C "$repo" tag "v$version"
        # What the dev agent bundles: the same files, ours, readable by all (the agent runs them, never writes them).
        rm -rf -- "${bundled:?}/$name"
        mkdir -p -- "$bundled/$name"
        cp -R -- "$src"/. "$bundled/$name/"
        chmod -R a+rX,go-w -- "$bundled/$name"
    done
    chmod a+rX -- "$bundled" "$bundled"/@* 2>/dev/null || true
    node "$PLUGIND_ROOT/scripts/lib/examples-catalogue.mjs" "$base" "$PLUGIND_ROOT/examples/plugins" "$repos" "$state/catalogue.json" \
        || die "cannot write $state/catalogue.json"
    chmod 644 -- "$state/catalogue.json"
}
