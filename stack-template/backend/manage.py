#!/usr/bin/env python
"""Django's command-line utility, shared by every app that links to this stack.

The app links its backend/manage.py here. The app's backend folder (where the link
is, not where it points) goes first on sys.path, so the app's packages import. The
settings module comes from DJANGO_SETTINGS_MODULE, or from that key in the app's .env.
"""

import os
import sys
from pathlib import Path


def settings_from_env_file(env_file):
    """Return DJANGO_SETTINGS_MODULE as set in env_file, or None."""
    if not env_file.is_file():
        return None
    for line in env_file.read_text().splitlines():
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip() == "DJANGO_SETTINGS_MODULE":
            return value.strip().strip("'\"") or None
    return None


def main():
    backend_dir = Path(os.path.abspath(__file__)).parent
    sys.path.insert(0, str(backend_dir))
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        env_file = backend_dir.parent / ".env"
        settings = settings_from_env_file(env_file)
        if not settings:
            sys.exit(
                f"DJANGO_SETTINGS_MODULE is not set and {env_file} does not set it:"
                " export DJANGO_SETTINGS_MODULE=<package>.settings or add it there."
            )
        os.environ["DJANGO_SETTINGS_MODULE"] = settings
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
