#!/usr/bin/env bash
# Installs and starts a Docker engine on a fresh Debian 12 machine; does nothing where it is all
# there and running.
#   Debian 12: iptables containerd runc tini (the engine's dependencies), debootstrap (the
#   tests' stand-in base images), chromium (a headless browser) and libnss3-tools (certutil,
#   to make that browser trust Caddy's local CA).
#   Debian 13: docker.io (engine 26), docker-compose (compose v2), docker-buildx, and docker-cli
#   if there is no client; bookworm's engine 20.10 cannot build additional contexts.
# The engine runs as `setsid dockerd` (no systemd), its log in $DOCKERD_LOG.
set -euo pipefail
# shellcheck source=.ci/debian.sh
. "$(dirname "${BASH_SOURCE[0]}")/debian.sh"

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
DOCKERD_TIMEOUT=${DOCKERD_TIMEOUT:-60}
MIN_ENGINE=25

engine_major() {
    command -v dockerd >/dev/null || { echo 0; return; }
    dockerd --version | sed -E 's/^Docker version ([0-9]+).*/\1/'
}

read -r -a debs <<<"$(missing_packages iptables containerd runc tini debootstrap chromium libnss3-tools)"
if [ ${#debs[@]} -gt 0 ]; then
    need_root "${debs[*]}"
    echo "Installing Debian packages: ${debs[*]}"
    apt_install "${debs[@]}"
fi

trixie_debs=()
command -v docker >/dev/null || trixie_debs+=(docker-cli)
[ "$(engine_major)" -ge $MIN_ENGINE ] || trixie_debs+=(docker.io)
docker compose version >/dev/null 2>&1 || trixie_debs+=(docker-compose)
docker buildx version >/dev/null 2>&1 || trixie_debs+=(docker-buildx)
if [ ${#trixie_debs[@]} -gt 0 ]; then
    need_root "${trixie_debs[*]}"
    echo "Installing from Debian 13: ${trixie_debs[*]}"
    install_trixie_debs "${trixie_debs[@]}"
fi
[ "$(engine_major)" -ge $MIN_ENGINE ] || die "dockerd $(dockerd --version) is older than $MIN_ENGINE"

if ! docker info >/dev/null 2>&1; then
    need_root "a running Docker engine (dockerd)"
    echo "Starting dockerd (log: $DOCKERD_LOG)"
    setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
    deadline=$((SECONDS + DOCKERD_TIMEOUT))
    until docker info >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 $! 2>/dev/null; then
            tail -n 20 "$DOCKERD_LOG" >&2
            die "dockerd did not answer within ${DOCKERD_TIMEOUT}s; its log ($DOCKERD_LOG) ends as above"
        fi
        sleep 0.5
    done
fi

docker buildx version >/dev/null || die "docker buildx does not run; see .ci/provision-docker.sh"
docker compose version >/dev/null || die "docker compose v2 does not run; see .ci/provision-docker.sh"
echo "Docker ready: engine $(docker version -f '{{.Server.Version}}'); $(docker compose version --short | sed 's/^/compose /'); $(docker buildx version | cut -d' ' -f1-2)"
