#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine; does nothing where it is all there.
#   Debian packages: PostgreSQL and Redis servers (the tests start them on free ports).
#   Docker compose v2 plugin (and the docker client if missing) from Debian 13, for
#   `docker compose config`; bookworm's own docker packages have no compose v2.
set -euo pipefail

TRIXIE_DIR=/var/cache/template-ci/trixie
COMPOSE_PLUGIN=/usr/libexec/docker/cli-plugins/docker-compose

die() { echo "error: $*" >&2; exit 1; }

missing_debs() {
    local bin missing=()
    command -v psql >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
    for bin in redis-server:redis-server git:git node:nodejs npm:npm; do
        command -v "${bin%%:*}" >/dev/null || missing+=("${bin#*:}")
    done
    echo "${missing[@]}"
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "missing $1; install it as root (sudo bash $0) or by hand, then run the tests again"
}

apt_updated=false
apt_install() {
    $apt_updated || { apt-get update -qq; apt_updated=true; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

trixie() {
    # A separate source list for Debian 13, so the system's own sources stay as they are.
    mkdir -p "$TRIXIE_DIR/lists/partial" "$TRIXIE_DIR/archives/partial"
    [ -f "$TRIXIE_DIR/sources.list" ] ||
        echo "deb http://deb.debian.org/debian trixie main" >"$TRIXIE_DIR/sources.list"
    apt-get -qq -o APT::Sandbox::User=root -o Dir::Etc::SourceList="$TRIXIE_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$TRIXIE_DIR/lists" -o Dir::Cache::Archives="$TRIXIE_DIR/archives" "$@"
}

install_trixie_debs() {
    trixie update
    (cd "$TRIXIE_DIR/archives" && trixie download "$@")
    local pkg
    for pkg in "$@"; do
        dpkg -i "$TRIXIE_DIR"/archives/"${pkg}"_*.deb >/dev/null
    done
}

read -r -a debs <<<"$(missing_debs)"
if [ ${#debs[@]} -gt 0 ]; then
    need_root "${debs[*]}"
    echo "Installing Debian packages: ${debs[*]}"
    apt_install "${debs[@]}"
fi

trixie_debs=()
command -v docker >/dev/null || trixie_debs+=(docker-cli)
[ -x "$COMPOSE_PLUGIN" ] || docker compose version >/dev/null 2>&1 || trixie_debs+=(docker-compose)
if [ ${#trixie_debs[@]} -gt 0 ]; then
    need_root "${trixie_debs[*]}"
    echo "Installing from Debian 13: ${trixie_debs[*]}"
    install_trixie_debs "${trixie_debs[@]}"
fi

docker compose version >/dev/null || die "docker compose v2 does not run; see .ci/provision-tools.sh"
echo "Tools ready: $(psql --version | head -1); $(redis-server --version | cut -d' ' -f1-3); $(docker compose version)"
