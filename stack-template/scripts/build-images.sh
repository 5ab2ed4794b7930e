#!/bin/sh
# Build the stack's images (with the packages of the app linked last) and create that app's
# data folders: the same as ./install.sh, under the name a server's update script may use.
#   git pull; ./scripts/build-images.sh; docker compose -f APP/docker-compose.app.yml up -d
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

case "${1:-}" in
    -h | --help) sed -n '2,4s/^# \{0,1\}//p' "$0" ;;
    "") exec "$here/../install.sh" ;;
    *) echo "error: build-images.sh takes no arguments (./install.sh --app PATH links an app)" >&2; exit 1 ;;
esac
