#!/bin/sh
# The app's frontend (mounted into /opt/frontend), built into bundles of the shared volume:
# /srv/www/releases/<digest of the sources>, and `current`, the link Caddy serves.
#   build.sh             the container's start: serve the sources' bundle if they build (a
#                        bundle made before is not served again: a rollback stays), then stay up
#   build.sh build       build the sources beside the bundle that serves; print its name
#   build.sh serve NAME  serve bundle NAME (./stack deploy and ./stack rollback)
set -eu

www=/srv/www

# The digest of everything the bundle is built from: the app's sources and the image's files.
sources() {
    find src index.html public package.json package-lock.json package-app.json \
        package-app.lock.json vite.config.ts tsconfig*.json -type f -print0 2>/dev/null \
        | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}

build() {
    name=$(sources)
    if [ ! -f "$www/releases/$name/index.html" ]; then
        rm -rf "$www/releases/.$name"
        if ! { tsc -b && vite build --outDir "$www/releases/.$name" --emptyOutDir; } >&2; then
            rm -rf "$www/releases/.$name"
            return 1
        fi
        mv -T "$www/releases/.$name" "$www/releases/$name"
    fi
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

case "${1:-start}" in
    build) build ;;
    serve) serve "$2" ;;
    start)
        name=$(sources)
        if [ -e "$www/current" ] && [ -d "$www/releases/$name" ]; then
            echo "Serving bundle $(basename "$(readlink "$www/current")") (the sources' bundle $name was made before)"
        elif name=$(build); then
            serve "$name"
        elif [ -e "$www/current" ]; then
            echo "The frontend does not build (the output above): bundle $(basename "$(readlink "$www/current")") keeps serving"
        else
            exit 1
        fi
        trap 'exit 0' INT TERM
        sleep infinity &
        wait
        ;;
    *)
        echo "usage: build.sh [build | serve NAME]" >&2
        exit 2
        ;;
esac
