#!/bin/sh
# Backend container entrypoint: migrate | web | dev | worker | beat | any command.
# What serves is a release (releases.py): a copy of the app's code that could serve when it
# was made, so a restart never serves code that cannot load.
set -eu

stack_dir=/opt/stack

django_package() {
    : "${DJANGO_SETTINGS_MODULE:?must be set, e.g. myapp_core.settings (the app .env sets it)}"
    printf '%s\n' "${DJANGO_SETTINGS_MODULE%%.*}"
}

# Waits for the database Django is configured for (its settings, from the app's .env: the
# one place the connection is written).
wait_for_db() {
    python - <<'PY'
import os
import sys
import time

import django
from django.db import connection
from django.db.utils import OperationalError

django.setup()
timeout = float(os.environ.get("DB_WAIT_TIMEOUT", "60"))
deadline = time.monotonic() + timeout
while True:
    try:
        connection.ensure_connection()
        break
    except OperationalError as exc:
        if "password authentication failed" in str(exc):
            settings = connection.settings_dict
            sys.exit(
                f"error: the database refuses POSTGRES_PASSWORD of the app's .env for user "
                f"{settings['USER']!r}: the database volume was created with another password "
                "(a lost or regenerated .env). Either put back the .env it was created with "
                "(or the one in your backup), or, losing every record in it, reset the "
                "database, in the app's folder: docker compose down && docker volume rm "
                f"{os.environ.get('COMPOSE_PROJECT_NAME', 'PROJECT')}_pgdata && docker compose up -d"
            )
        if time.monotonic() >= deadline:
            sys.exit(f"database not reachable after {timeout:g}s: {exc}")
        time.sleep(1)
PY
}

case "${1:-web}" in
    migrate)
        # The compose service `migrate`: a release of the checkout, migrated, served from now
        # on (./stack deploy, or the first start); before the web service starts.
        django_package >/dev/null
        wait_for_db
        exec python "$stack_dir/releases.py" deploy
        ;;
    web)
        django_package >/dev/null
        wait_for_db
        python "$stack_dir/releases.py" serve
        export PYTHONPATH="$stack_dir"
        exec gunicorn --config "$stack_dir/gunicorn.conf.py" release_wsgi:application
        ;;
    dev)
        # Development mode (docker-compose.dev.yml): reloads on every change of the code.
        wait_for_db
        exec python "$stack_dir/manage.py" runserver 0.0.0.0:8000
        ;;
    worker)
        package=$(django_package)
        PYTHONPATH=$(python "$stack_dir/releases.py" current)
        SENTRY_RELEASE=$(python "$stack_dir/releases.py" commit)
        export PYTHONPATH SENTRY_RELEASE
        exec celery -A "$package" worker --loglevel=INFO
        ;;
    beat)
        package=$(django_package)
        PYTHONPATH=$(python "$stack_dir/releases.py" current)
        SENTRY_RELEASE=$(python "$stack_dir/releases.py" commit)
        export PYTHONPATH SENTRY_RELEASE
        exec celery -A "$package" beat --loglevel=INFO --schedule=/tmp/celerybeat-schedule
        ;;
    *)
        exec "$@"
        ;;
esac
