#!/usr/bin/env bash
set -euo pipefail

stack=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    cat <<EOF
usage: ./install.sh            check Docker, build the images (with the packages of the
                               app last linked), create the data folders
       ./install.sh --app PATH link the app at PATH to this stack and create/update its .env
       ./install.sh --version  print the template version of this stack

DATA_ROOT=/some/dir ./install.sh overrides the data folder from .copier-answers.yml.
EOF
}

die() {
    echo "error: $*" >&2
    exit 1
}

answer() {
    sed -n "s/^$1: *//p" "$stack/.copier-answers.yml" | tr -d "'\""
}

version() {
    local commit
    commit=$(answer _commit)
    echo "${commit:-dev}"
}

check_docker() {
    command -v docker >/dev/null ||
        die "docker not found: install Docker Engine (https://docs.docker.com/engine/install/)"
    docker info >/dev/null 2>&1 ||
        die "the Docker engine does not answer: start it (systemctl start docker) and check that $(id -un) may use it (docker group)"
    docker compose version >/dev/null 2>&1 ||
        die "docker compose v2 not found: install the compose plugin (package docker-compose-plugin or docker-compose)"
}

create_data_folders() {
    local media image owner
    media="${DATA_ROOT:-$(answer data_root)}/$(answer slug)/media"
    image="$(answer slug)-backend:$(version)"
    # The backend writes uploads as its own user, not as root.
    owner="$(docker run --rm --entrypoint id "$image" -u):$(docker run --rm --entrypoint id "$image" -g)"
    if ! { mkdir -p "$media" && chown "$owner" "$media"; }; then
        die "cannot prepare $media: run ./install.sh as root, or set DATA_ROOT to a folder you own"
    fi
    echo "Uploads go to $media"
}

case "${1:-}" in
    -h | --help)
        usage
        ;;
    --version)
        version
        ;;
    --app)
        [ $# -eq 2 ] || die "--app needs the app folder: ./install.sh --app PATH"
        "$stack/scripts/link-app.sh" "$2"
        "$stack/scripts/sync-env.sh" "$2"
        ;;
    '')
        check_docker
        "$stack/scripts/build-images.sh"
        create_data_folders
        ;;
    *)
        usage >&2
        exit 2
        ;;
esac
