#!/usr/bin/env bash
# Build the stack's images, tagged <slug>-<service>:<template version>.
#
# The app's own packages (backend/requirements-app.txt, frontend/package-app.json) are built
# in too: from the app given with --app, else from the app last linked to this stack
# (.linked-app, written by link-app.sh). Only those two files are sent to Docker, never the
# app's code: that reaches the containers by bind mount.
set -euo pipefail

stack=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage="usage: $(basename "$0") [--app APP_DIR]"

die() {
    echo "error: $*" >&2
    exit 1
}

app=
case $# in
    0) [ -f "$stack/.linked-app" ] && app=$(cat "$stack/.linked-app") ;;
    2) [ "$1" = --app ] || die "$usage"; app=$2 ;;
    *) die "$usage" ;;
esac
if [ -n "$app" ] && [ ! -d "$app" ]; then
    die "app folder '$app' not found: pass the app with --app PATH, or link it again with ./install.sh --app PATH"
fi

answer() {
    sed -n "s/^$1: *//p" "$stack/.copier-answers.yml" | tr -d "'\""
}
slug=$(answer slug)
version=$(answer _commit)
version=${version:-dev}

# The build context "app": the app's two package lists, or empty defaults.
packages=$(mktemp -d)
trap 'rm -rf "$packages"' EXIT
backend=$packages/backend
frontend=$packages/frontend
mkdir "$backend" "$frontend"
if [ -n "$app" ] && [ -f "$app/backend/requirements-app.txt" ]; then
    cp "$app/backend/requirements-app.txt" "$backend/"
else
    touch "$backend/requirements-app.txt"
fi
if [ -n "$app" ] && [ -f "$app/frontend/package-app.json" ]; then
    cp "$app/frontend/package-app.json" "$frontend/"
else
    echo '{}' >"$frontend/package-app.json"
fi
[ -z "$app" ] || echo "With the packages of the app in $app"

for service in backend frontend caddy; do
    image="$slug-$service:$version"
    echo "Building $image"
    context=()
    [ ! -d "$packages/$service" ] || context=(--build-context "app=$packages/$service")
    docker build "${context[@]}" --tag "$image" "$stack/$service"
done
echo "Built $slug-{backend,frontend,caddy}:$version"
