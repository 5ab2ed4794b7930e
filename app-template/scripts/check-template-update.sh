#!/usr/bin/env bash
# Report whether a newer version of the template this repo was generated from is out.
# Exit 2 when one is; else 0, also when the template cannot be reached from here (a
# warning says why): CI runs this as a report, never as a reason to fail the pipeline.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

report() {
    if [ "${GITHUB_ACTIONS:-}" = true ]; then
        echo "::warning title=Template update::$*"
    else
        echo "$*"
    fi
}

src=$(sed -n 's/^_src_path: *//p' .copier-answers.yml | tr -d "'\"")
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
if ! found=$(copier check-update --output-format json 2>"$errors"); then
    reason=$(grep -v '^[[:space:]]*$' "$errors" | tail -n 1 | sed 's/^Stderr: *| *//' || true)
    report "cannot check $src for a newer template version: ${reason:-copier check-update failed}"
    exit 0
fi
pattern='"update_available": (true|false), "current_version": "([^"]*)", "latest_version": "([^"]*)"'
if [[ ! $found =~ $pattern ]]; then
    report "cannot read the answer of copier check-update: $found"
    exit 0
fi
if [ "${BASH_REMATCH[1]}" = true ]; then
    report "template $src: version ${BASH_REMATCH[3]} is out, this repo has ${BASH_REMATCH[2]}; update with: copier update --trust --defaults"
    exit 2
fi
echo "template $src: this repo has the latest version, ${BASH_REMATCH[2]}"
