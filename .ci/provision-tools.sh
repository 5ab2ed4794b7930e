#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine; does nothing where it is all there.
#   Debian packages: PostgreSQL and Redis servers (the tests start them on free ports), a Docker
#   registry (the swarm tests push release images to one on a free port), ab (load).
#   Lighthouse (npm, pinned by .ci/lighthouse/package-lock.json) into .ci/lighthouse/node_modules.
#   Node.js 22 and 24 (the offered majors, official binaries): provision-node.sh.
#   Python 3.14 (Debian forky's, in its own root; pyenv has 3.12 and 3.13): provision-python.sh.
#   Docker engine, compose v2 and buildx: provision-docker.sh, run at the end.
set -euo pipefail
# shellcheck source=.ci/debian.sh
. "$(dirname "${BASH_SOURCE[0]}")/debian.sh"

missing_debs() {
    local bin missing=()
    command -v psql >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
    for bin in redis-server:redis-server git:git node:nodejs npm:npm make:make rsync:rsync \
        docker-registry:docker-registry ab:apache2-utils; do
        command -v "${bin%%:*}" >/dev/null || missing+=("${bin#*:}")
    done
    echo "${missing[@]}"
}

read -r -a debs <<<"$(missing_debs)"
if [ ${#debs[@]} -gt 0 ]; then
    need_root "${debs[*]}"
    echo "Installing Debian packages: ${debs[*]}"
    apt_install "${debs[@]}"
fi

# --ignore-scripts: no install script of its dependencies may download a browser; the tests
# run it with Debian's Chromium.
lighthouse=$(dirname "${BASH_SOURCE[0]}")/lighthouse
pinned=$(node -p "require('./$lighthouse/package.json').dependencies.lighthouse")
installed=$(node -p "try { require('./$lighthouse/node_modules/lighthouse/package.json').version } catch { '' }")
if [ "$installed" != "$pinned" ]; then
    echo "Installing Lighthouse $pinned"
    npm ci --prefix "$lighthouse" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
fi

echo "Tools ready: $(psql --version | head -1); $(redis-server --version | cut -d' ' -f1-3); Lighthouse $pinned"
bash "$(dirname "${BASH_SOURCE[0]}")/provision-node.sh"
bash "$(dirname "${BASH_SOURCE[0]}")/provision-python.sh"
bash "$(dirname "${BASH_SOURCE[0]}")/provision-docker.sh"
