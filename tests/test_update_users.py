"""An app from a release before users and sign-in, with a database that has users and notes,
updated to this version as its README says: it keeps Django's auth.User (a custom user model
cannot replace it under existing data), its migrations apply, its users sign in through the
new API, and the notes from before, which have no author, are seen by staff only."""

from __future__ import annotations

import pytest
from helpers import (
    ENV,
    ROOT,
    TEMPLATE_VERSION,
    Shell,
    answers_of,
    bootstrap,
    python_for,
    read_env,
    readme_blocks,
    releases,
    run,
)

pytestmark = pytest.mark.slow

# Before: a user, a staff member and a note, as the earlier release's code makes them.
BEFORE = """
from django.contrib.auth.models import User
from notes.models import Note
User.objects.create_user("ann", "ann@example.com", "ann's passphrase 1")
User.objects.create_user("ops", "ops@example.com", "ops's passphrase 1", is_staff=True)
Note.objects.create(title="from before sign-in")
"""

# After: through the new API, as the React app calls it.
AFTER = r"""
import re
from urllib.parse import unquote
from django.core import mail
from django.test import Client
from django.test.utils import setup_test_environment
from notes.models import Note
setup_test_environment()
AUTH = "/api/auth/browser/v1/auth"
def client():
    return Client(headers={"X-Forwarded-Proto": "https"})
ann = client()
# Her first sign-in asks her to verify her address (mandatory now), by mail.
first = ann.post(f"{AUTH}/login", {"email": "ann@example.com", "password": "ann's passphrase 1"},
                 content_type="application/json")
print("first sign-in", first.status_code, [f["id"] for f in first.json()["data"]["flows"]
                                           if f.get("is_pending")])
key = unquote(re.search(r"/account/verify-email/(\S+)", mail.outbox[-1].body)[1])
print("verified", ann.post(f"{AUTH}/email/verify", {"key": key},
                           content_type="application/json").status_code)
print("ann's notes", ann.get("/api/notes/").json()["count"])
print("ann writes", ann.post("/api/notes/", {"title": "ann's"},
                             content_type="application/json").status_code)
print("note authors", sorted(str(n.author) for n in Note.objects.all()))
ops = client()
ops.post(f"/{__import__('django.conf').conf.settings.ADMIN_URL}login/",
         {"username": "ops", "password": "ops's passphrase 1"})
print("staff sees", [n["title"] for n in ops.get("/api/notes/").json()["results"]])
"""


def test_an_app_from_before_users_keeps_auth_user_its_users_and_notes(template, postgres, tmp_path):
    before_users = releases(template)[-1]
    team = bootstrap(template, tmp_path, before_users)
    app = team.dev()
    assert "user_model" not in answers_of(app)

    # A virtualenv with the packages of this version (a superset of the earlier one's).
    venv = tmp_path / "venv"
    run(python_for(answers_of(app)["python_version"]), "-m", "venv", venv)
    python = venv / "bin/python"
    lock = "stack-template/backend/{% if not use_celery %}requirements.lock{% endif %}"
    (tmp_path / "requirements.lock").write_text(
        run("git", "show", f"{TEMPLATE_VERSION}:{lock}", cwd=template).stdout
    )
    run(python, "-m", "pip", "install", "--quiet", "--require-hashes", "-r",
        tmp_path / "requirements.lock")  # fmt: skip
    database = "update_users"
    run("psql", "-h", postgres["POSTGRES_HOST"], "-p", postgres["POSTGRES_PORT"], "-U",
        postgres["POSTGRES_USER"], "-c", f"CREATE DATABASE {database}",
        env={**ENV, "PGPASSWORD": postgres["POSTGRES_PASSWORD"]})  # fmt: skip
    env = {
        **ENV,
        **read_env(app / ".env"),
        **postgres,
        "POSTGRES_DB": database,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    }
    backend = app / "backend"
    run(python, "manage.py", "migrate", "--noinput", cwd=backend, env=env)
    run(python, "manage.py", "shell", "-c", BEFORE, cwd=backend, env=env)

    # The template README's commands: the stack first, then the app.
    blocks = readme_blocks(ROOT / "README.md", "Updating")
    Shell(team.root / "dev").follow(blocks[0])
    Shell(team.root / "dev").follow(blocks[2])
    assert answers_of(app)["_commit"] == TEMPLATE_VERSION
    assert answers_of(app)["user_model"] == "auth.User"
    assert not (backend / "users").exists()
    assert "AUTH_USER_MODEL" not in (backend / "shop_core/settings.py").read_text()

    migrated = run(python, "manage.py", "migrate", "--noinput", cwd=backend, env=env).stdout
    assert "Applying notes.0002_note_author... OK" in migrated
    run(python, "manage.py", "makemigrations", "--check", "--dry-run", cwd=backend, env=env)
    after = run(python, "manage.py", "shell", "-c", AFTER, cwd=backend, env=env).stdout
    assert after.splitlines()[-6:] == [
        "first sign-in 401 ['verify_email']",
        "verified 200",
        "ann's notes 0",
        "ann writes 201",
        "note authors ['None', 'ann']",
        "staff sees ['from before sign-in']",
    ], after
