#!/usr/bin/env bash
# Create APP_DIR/.env from APP_DIR/.env.example, or append the keys it lacks.
# Values already in .env are never changed. Empty *_SECRET_KEY / *_PASSWORD
# values of the example get fresh random ones.
set -euo pipefail

usage="usage: $(basename "$0") APP_DIR"
if [ $# -ne 1 ]; then
    echo "$usage" >&2
    exit 2
fi
example="$1/.env.example"
env_file="$1/.env"
if [ ! -f "$example" ]; then
    echo "error: $example not found: is '$1' an app checkout?" >&2
    exit 1
fi

random_string() {
    local chars=''
    while [ "${#chars}" -lt "$1" ]; do
        chars+=$(head -c 1024 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')
    done
    printf '%s' "${chars:0:$1}"
}

declare -A present=()
creating=false
if [ -e "$env_file" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
        if [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)= ]]; then
            present[${BASH_REMATCH[2]}]=1
        fi
    done <"$env_file"
else
    creating=true
fi

output=''
comments=''
added=()
generated=()
while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        if [ -z "${present[$key]:-}" ]; then
            if [ -z "$value" ]; then
                case "$key" in
                    *_SECRET_KEY) value=$(random_string 64) && generated+=("$key") ;;
                    *_PASSWORD) value=$(random_string 32) && generated+=("$key") ;;
                esac
            fi
            output+="$comments$key=$value"$'\n'
            present[$key]=1
            added+=("$key")
        fi
        comments=''
    elif [ -z "$line" ]; then
        $creating && output+="$comments"$'\n'
        comments=''
    else
        comments+="$line"$'\n'
    fi
done <"$example"
if $creating; then
    output+=$comments
fi

if [ ${#added[@]} -eq 0 ] && ! $creating; then
    exit 0
fi

umask 077
if $creating; then
    printf '%s' "$output" >"$env_file"
    echo "Created $env_file (mode 600) with ${#added[@]} keys."
else
    if [ -s "$env_file" ] && [ "$(tail -c 1 "$env_file")" != '' ]; then
        echo >>"$env_file"
    fi
    printf '\n%s' "$output" >>"$env_file"
    echo "Added to $env_file: ${added[*]}"
fi
if [ ${#generated[@]} -gt 0 ]; then
    echo "Generated random values for: ${generated[*]}"
fi
