#!/bin/sh
# The stack's entry point on a server; the work is done by the stack tool (./stack --help).
#   ./install.sh            check Docker, build the images (with the packages of the app
#                           linked last), create that app's data folders
#   ./install.sh --app PATH link the app at PATH to this stack, create or complete its .env
#   ./install.sh --version  print the template version of this stack
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

if ! command -v python3 >/dev/null 2>&1; then
    echo "error: python3 not found: install Python 3.9 or newer (Debian/Ubuntu: apt-get install python3; macOS: xcode-select --install)" >&2
    exit 1
fi

case "${1:-}" in
    -h | --help) sed -n '2,6s/^# \{0,1\}//p' "$0" ;;
    --version) exec python3 "$here/stack" version ;;
    *) exec python3 "$here/stack" install "$@" ;;
esac
