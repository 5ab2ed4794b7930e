#!/usr/bin/env bash
# Link an app checkout to this stack: one relative symlink per line of links.txt.
# A file or folder in the way is moved to <name>.backup-<UTC time>, never deleted.
set -euo pipefail

usage="usage: $(basename "$0") APP_DIR"
if [ $# -ne 1 ]; then
    echo "$usage" >&2
    exit 2
fi
if [ ! -d "$1" ]; then
    echo "error: app folder '$1' not found" >&2
    exit 1
fi

stack=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
app=$(cd "$1" && pwd -P)
manifest="$stack/links.txt"

links=()
targets=()
while read -r link_path stack_path _ || [ -n "${link_path:-}" ]; do
    case "$link_path" in '' | '#'*) continue ;; esac
    if [ ! -e "$stack/$stack_path" ]; then
        echo "error: $stack/$stack_path is missing: this stack checkout is incomplete (git status in $stack)" >&2
        exit 1
    fi
    links+=("$link_path")
    targets+=("$stack/$stack_path")
done <"$manifest"

created=0
replaced=0
kept=0
for i in "${!links[@]}"; do
    link="$app/${links[$i]}"
    mkdir -p "$(dirname "$link")"
    relative=$(realpath -m --relative-to="$(dirname "$link")" "${targets[$i]}")
    if [ -L "$link" ]; then
        if [ "$(readlink "$link")" = "$relative" ]; then
            kept=$((kept + 1))
            continue
        fi
        rm "$link"
        replaced=$((replaced + 1))
    elif [ -e "$link" ]; then
        base="$link.backup-$(date -u +%Y%m%dT%H%M%SZ)"
        backup=$base
        n=1
        while [ -e "$backup" ] || [ -L "$backup" ]; do
            backup="$base.$n"
            n=$((n + 1))
        done
        mv "$link" "$backup"
        echo "moved ${links[$i]} out of the way to ${backup#"$app/"}"
        replaced=$((replaced + 1))
    else
        created=$((created + 1))
    fi
    ln -s "$relative" "$link"
done

if [ $((created + replaced)) -gt 0 ]; then
    echo "Linked $app to $stack: $created created, $replaced replaced, $kept already in place."
fi

# scripts/build-images.sh builds the packages of the app linked last into the images.
if [ "$(cat "$stack/.linked-app" 2>/dev/null)" != "$app" ]; then
    printf '%s\n' "$app" >"$stack/.linked-app"
fi
