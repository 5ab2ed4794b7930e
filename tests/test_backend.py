"""The generated backend: installs from the stack's lock (hashes required), passes `check --deploy`,
has its migrations, its own test suite passes against real PostgreSQL (and Redis) and covers
90 % of its code, and mypy finds no error in strict mode."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from helpers import answers_of, free_port, python_for, read_env, rows_choosing, run

# The backend variants; the other rows of the matrix do not change the backend.
VARIANTS = rows_choosing("python_version", "use_celery", "user_model")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=list(VARIANTS.values()), ids=list(VARIANTS))
def backend(request, generate, postgres, redis_url, tmp_path_factory):
    """(backend folder, its python, production-like environment)."""
    app = generate(**request.param).app
    venv = tmp_path_factory.mktemp("venv") / "backend venv"
    run(python_for(answers_of(app)["python_version"]), "-m", "venv", venv)
    python = venv / "bin/python"
    run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--require-hashes",
        "-r",
        app / "backend/requirements.lock",
        "-r",
        app / "backend/requirements-app.lock",
    )
    env = {
        **read_env(app / ".env"),
        **postgres,
        "REDIS_URL": redis_url,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    }
    return app / "backend", python, env


def test_deploy_check_passes_with_production_values_and_no_warnings(backend):
    folder, python, env = backend
    assert env["DJANGO_DEBUG"].lower() == "false"
    result = run(
        python, "manage.py", "check", "--deploy", "--fail-level", "WARNING", cwd=folder, env=env
    )
    assert "no issues" in result.stdout


def test_migrations_match_the_models(backend):
    folder, python, env = backend
    run(python, "manage.py", "makemigrations", "--check", "--dry-run", cwd=folder, env=env)


def test_migrate_runs_against_postgresql(backend):
    folder, python, env = backend
    run(python, "manage.py", "migrate", "--noinput", cwd=folder, env=env)


def test_backend_test_suite_passes_against_postgresql_and_covers_90_percent(backend, tmp_path):
    folder, python, env = backend
    env = {**env, "COVERAGE_FILE": str(tmp_path / ".coverage")}  # not in the shared app
    result = run(
        python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--cov", cwd=folder, env=env
    )
    assert " passed" in result.stdout and "failed" not in result.stdout
    assert "Required test coverage of 90.0% reached" in result.stdout
    print(re.search(r"^TOTAL .*", result.stdout, re.M).group())


def test_backend_passes_mypy_in_strict_mode(backend):
    folder, python, env = backend
    result = run(python, "-m", "mypy", cwd=folder, env=env)
    assert result.stdout.startswith("Success: no issues found")


class Inbox:
    """An SMTP server's handler (aiosmtpd) that keeps every message it gets."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


# A real server error in a request: the health view raises.
SERVER_ERROR = """
from unittest import mock
from django.test import Client
client = Client(raise_request_exception=False, headers={"X-Forwarded-Proto": "https"})
with mock.patch("core.views.checks", side_effect=RuntimeError("boom")):
    print(client.get("/api/health/", SERVER_NAME="shop.example.com").status_code)
"""


def test_server_error_is_mailed_to_admins_through_the_smtp_server_of_env(backend):
    from aiosmtpd.controller import Controller

    folder, python, env = backend
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        env = {
            **env,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
            "DJANGO_ADMINS": "Ops <ops@example.com>, dev@example.com",
            "SERVER_EMAIL": "errors@example.com",
        }
        result = run(python, "manage.py", "shell", "-c", SERVER_ERROR, cwd=folder, env=env)
    finally:
        smtp.stop()
    assert result.stdout.strip().endswith("500")
    (mail,) = inbox.envelopes
    assert mail.mail_from == "errors@example.com"
    assert sorted(mail.rcpt_tos) == ["dev@example.com", "ops@example.com"]
    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert "Internal Server Error: /api/health/" in message["Subject"]
    assert message["From"] == "errors@example.com"
    assert "RuntimeError at /api/health/\r\nboom" in message.get_content()
