#!/usr/bin/env bash
# Link an app checkout to this stack: one relative symlink per line of links.txt.
# A file or folder in the way is moved to <name>.backup-<UTC time>, never deleted.
#
# The links made are listed in a block of the app's .git/info/exclude. That keeps them out of
# git even before the app's own .gitignore lists them (a newer stack may add links), and tells
# the next run which links it made: one that links.txt no longer lists is removed while it is
# still a link into this stack, and left alone otherwise. Without the block (an app linked by
# an older stack, or not a git checkout) the links made are the app's links into this stack.
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

begin='# links into the stack, made by its scripts/link-app.sh'
end='# end of links into the stack'
exclude=
if [ "$(git -C "$app" rev-parse --show-toplevel 2>/dev/null)" = "$app" ]; then
    exclude=$(git -C "$app" rev-parse --path-format=absolute --git-path info/exclude)
fi

into_stack() {
    [ -L "$1" ] && case "$(realpath -m "$1")" in "$stack"/*) true ;; *) false ;; esac
}

previous=()
if [ -n "$exclude" ] && grep -qxF "$begin" "$exclude" 2>/dev/null; then
    while IFS= read -r path; do
        previous+=("$path")
    done < <(awk -v b="$begin" -v e="$end" '$0 == e { on = 0 } on && /^\// { print substr($0, 2) } $0 == b { on = 1 }' "$exclude")
else
    while IFS= read -r -d '' path; do
        if into_stack "$path"; then
            previous+=("${path#"$app"/}")
        fi
    done < <(find "$app" \( -path "$stack" -o -name .git -o -name node_modules -o -name .venv \) -prune -o -type l -print0)
fi

created=0
replaced=0
removed=0
kept=0
declare -A listed=()
for i in "${!links[@]}"; do
    listed[${links[$i]}]=1
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

for path in "${previous[@]}"; do
    [ -z "${listed[$path]:-}" ] || continue
    if into_stack "$app/$path"; then
        rm "$app/$path"
        echo "removed $path: links.txt no longer lists it"
        removed=$((removed + 1))
    elif [ -e "$app/$path" ] || [ -L "$app/$path" ]; then
        echo "left $path alone: links.txt no longer lists it, and it is no longer a link into $stack"
    fi
done

if [ $((created + replaced + removed)) -gt 0 ]; then
    echo "Linked $app to $stack: $created created, $replaced replaced, $removed removed, $kept already in place."
fi

if [ -n "$exclude" ]; then
    mkdir -p "$(dirname "$exclude")"
    touch "$exclude"
    block=$(printf '%s\n' "$begin" "${links[@]/#//}" "$end")
    others=$(awk -v b="$begin" -v e="$end" '$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' "$exclude")
    wanted="${others:+$others$'\n'}$block"
    if [ "$(cat "$exclude")" != "$wanted" ]; then
        printf '%s\n' "$wanted" >"$exclude"
    fi
fi

# scripts/build-images.sh builds the packages of the app linked last into the images.
if [ "$(cat "$stack/.linked-app" 2>/dev/null)" != "$app" ]; then
    printf '%s\n' "$app" >"$stack/.linked-app"
fi
