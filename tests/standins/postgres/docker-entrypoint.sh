#!/bin/bash
# The official postgres image's entrypoint, in short: on first start (empty $PGDATA) creates the
# cluster with the superuser POSTGRES_USER (password POSTGRES_PASSWORD, scram for network
# clients; or the content of POSTGRES_PASSWORD_FILE) and the database POSTGRES_DB; then runs the
# server as the postgres user.
set -euo pipefail

if [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
fi

# As root, as the official entrypoint: the data folder and the socket folder (a tmpfs when the
# root file system is read-only) become the postgres user's, then it runs as that user.
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA" || :
    mkdir -p /var/run/postgresql || :
    chmod 3775 /var/run/postgresql || :
    find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

# POSTGRES_PASSWORD_FILE (a Docker secret): the password is that file's content.
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    POSTGRES_PASSWORD=$(<"$POSTGRES_PASSWORD_FILE")
    export POSTGRES_PASSWORD
    unset POSTGRES_PASSWORD_FILE
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?is not set; the server accepts network clients by password only}"
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --pgdata="$PGDATA"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait start
    if [ "$db" != postgres ]; then
        psql -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres --set=db="$db" <<<'CREATE DATABASE :"db";'
    fi
    pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop
fi

exec "$@"
