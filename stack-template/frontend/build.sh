#!/bin/sh
# The app's frontend (mounted into /opt/frontend), built into bundles of the shared volume:
# /srv/www/releases/<digest of the sources>, and `current`, the link Caddy serves.
#   build.sh             the container's start: serve the sources' bundle when nothing serves,
#                        then follow the backend's starts (below) until stopped
#   build.sh build       build the sources beside the bundle that serves; print its name
#                        (VITE_SENTRY_RELEASE: the app's commit, when Sentry is on)
#   build.sh serve NAME  serve bundle NAME (./stack deploy and ./stack rollback)
set -eu

www=/srv/www
# What each start of the backend serves (its releases.py, in the release store mounted here
# read-only): "<time> checkout|kept <release>". The sources' bundle serves only beside the
# checkout's code: when the backend keeps a release (new code that waits for a migration, or
# cannot serve, or a rollback), the bundle served with it stays. A start of the backend
# counts from a little before this container's (both start at once on a reboot); a restart of
# the frontend alone changes nothing.
started=/srv/releases/started
head_start=30

# The digest of everything the bundle is built from: the app's sources, the image's files (its
# Node and the packages npm installed: node_modules/.package-lock.json lists them) and, when
# Sentry is on, what the bundle reports with (VITE_SENTRY_DSN, VITE_SENTRY_RELEASE). A deploy
# whose digest names a bundle already built serves that one, built no more.
sources() {
    {
        node --version
        find src index.html public package.json package-lock.json package-app.json \
            package-app.lock.json node_modules/.package-lock.json vite.config.ts tsconfig*.json \
            -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum
        if [ -n "${VITE_SENTRY_DSN:-}" ]; then
            printf 'sentry %s %s\n' "$VITE_SENTRY_DSN" "${VITE_SENTRY_RELEASE:-}"
        fi
    } | sha256sum | cut -c1-16
}

# The bundle reports to Sentry as the app's commit of the backend's release $1 (its
# releases.py records it there).
release_of() {
    VITE_SENTRY_RELEASE=$(cat "/srv/releases/$1/commit" 2>/dev/null || true)
    export VITE_SENTRY_RELEASE
}

build() {
    name=$(sources)
    if [ -f "$www/releases/$name/index.html" ]; then
        echo "Bundle $name is built already (its sources, packages and settings): nothing to build" >&2
        echo "$name"
        return 0
    fi
    rm -rf "$www/releases/.$name"
    # The type check and the bundle at once (the compiler's messages after Vite's): the bundle
    # is kept only when both pass.
    checked=$(mktemp)
    tsc -b tsconfig.build.json >"$checked" 2>&1 &
    checking=$!
    bundled=0
    vite build --outDir "$www/releases/.$name" --emptyOutDir >&2 || bundled=1
    typed=0
    wait "$checking" || typed=1
    cat "$checked" >&2
    rm -f "$checked"
    if [ "$typed$bundled" != 00 ]; then
        rm -rf "$www/releases/.$name"
        return 1
    fi
    mv -T "$www/releases/.$name" "$www/releases/$name"
    echo "$name"
}

serve() {
    test -f "$www/releases/$1/index.html" || { echo "error: no bundle $1 in $www/releases" >&2; exit 1; }
    touch "$www/releases/$1"  # kept by its last use
    ln -sfn "releases/$1" "$www/current.new"
    mv -T "$www/current.new" "$www/current"
    echo "Serving bundle $1"
    # Keep the newest RELEASE_KEEP bundles (the compose file sets it), the one that serves too.
    [ -n "${RELEASE_KEEP:-}" ] || return 0
    # shellcheck disable=SC2012 # names are hex digests (or UTC times): ls sorts them by age
    ls -1t "$www/releases" | tail -n "+$((RELEASE_KEEP + 1))" | while read -r old; do
        [ "$old" = "$1" ] || rm -rf "${www:?}/releases/$old"
    done
}

serving() {
    basename "$(readlink "$www/current")"
}

# follow TIME checkout|kept RELEASE: serve the sources' bundle beside the checkout's code.
follow() {
    if [ "$2" != checkout ]; then
        echo "The backend keeps release $3, not the checkout's code: bundle $(serving) keeps serving beside it"
        return
    fi
    release_of "$3"
    if ! name=$(build); then
        echo "The frontend does not build (the output above): bundle $(serving) keeps serving"
    elif [ "$name" != "$(serving)" ]; then
        serve "$name"
    fi
}

case "${1:-start}" in
    build) build ;;
    serve) serve "$2" ;;
    start)
        since=$(($(date +%s) - head_start))
        if [ ! -e "$www/current" ]; then
            release_of current
            name=$(build)
            serve "$name"
        fi
        seen=""
        trap 'exit 0' INT TERM
        while :; do
            line=$(cat "$started" 2>/dev/null || true)
            if [ "$line" != "$seen" ] && [ "${line%% *}" -ge "$since" ] 2>/dev/null; then
                seen=$line
                # shellcheck disable=SC2086 # its three words
                follow $line
            fi
            sleep 1 &
            wait $!
        done
        ;;
    *)
        echo "usage: build.sh [build | serve NAME]" >&2
        exit 2
        ;;
esac
