#!/usr/bin/env bash
# Put this app's stack in DIR (default: stack_path of .copier-answers.yml) and link the app
# to it. The stack is cloned from STACK_REPO_URL (default: stack_repo_url of the answers),
# or else generated from the template version and answers the app was generated with.
set -euo pipefail

app=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
answers="$app/.copier-answers.yml"
answer() {
    sed -n "s/^$1: *//p" "$answers" | tr -d "'\""
}

dir=${1:-$(answer stack_path)}
case "$dir" in /*) ;; *) dir="$app/$dir" ;; esac
url=${STACK_REPO_URL:-$(answer stack_repo_url)}

if [ -f "$dir/.copier-answers.yml" ]; then
    echo "Using the stack in $dir"
elif [ -n "$url" ]; then
    git clone --quiet --depth 1 "$url" "$dir"
else
    if command -v copier >/dev/null; then
        copier=(copier)
    elif command -v pipx >/dev/null; then
        copier=(pipx run copier==9.19.1)
    else
        echo "error: copier not found: pip install copier==9.19.1, or set STACK_REPO_URL" >&2
        exit 1
    fi
    data=$(mktemp)
    trap 'rm -f "$data"' EXIT
    grep -vE '^(#|_|repo:|package:|stack_path:|stack_repo_url:)' "$answers" >"$data"
    ref=$(answer _commit)
    "${copier[@]}" copy --trust --skip-tasks --defaults --quiet ${ref:+--vcs-ref "$ref"} \
        --data-file "$data" -d repo=stack "$(answer _src_path)" "$dir"
fi
"$dir/scripts/link-app.sh" "$app"
