#!/usr/bin/env bash
# Build the stack's images, tagged <slug>-<service>:<template version>.
set -euo pipefail

stack=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
answer() {
    sed -n "s/^$1: *//p" "$stack/.copier-answers.yml" | tr -d "'\""
}
slug=$(answer slug)
version=$(answer _commit)
version=${version:-dev}

for service in backend frontend caddy; do
    image="$slug-$service:$version"
    echo "Building $image"
    docker build --tag "$image" "$stack/$service"
done
echo "Built $slug-{backend,frontend,caddy}:$version"
