"""docs/adding-a-service.md, followed: its edits, made as written to a copy of the template,
add a service (`sessions`, a Redis with a generated password; the Redis stand-in as its
image) that starts under compose and in development mode with its secret, is left running by
a deploy and a restore while the backend is stopped and started (on Swarm: tests/test_swarm.py)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml
from deployments import Deployment, deployment_of
from helpers import ENV, copier_copy, ensure_standins, read_env, run


def test_the_recipe_edits_five_files_or_fewer(with_sessions):
    edited = run("git", "diff", "--name-only", "HEAD~1", cwd=with_sessions).stdout.split()
    assert len(edited) <= 5, edited
    assert "stack-template/compose/services.jinja" in edited


def test_the_service_is_in_every_file_and_its_secret_generated(with_sessions, tmp_path):
    standins = ensure_standins()
    app = tmp_path / "app" / "igny8"
    copier_copy(with_sessions, app, repo="app", project_name="igny8", data_root=str(tmp_path),
                sessions_image=standins["redis_image"])  # fmt: skip
    stack = tmp_path / "app" / "igny8-stack"
    facts = json.loads((stack / "compose/services.json").read_text())["sessions"]
    assert (facts["role"], facts["restore"]) == ("cache", "keeps running")
    password = read_env(app / ".env")["SESSIONS_PASSWORD"]
    assert re.fullmatch(r"[A-Za-z0-9]{32}", password)
    compose = yaml.safe_load((stack / "compose/docker-compose.app.yml").read_text())
    assert compose["services"]["sessions"]["image"] == standins["redis_image"]
    swarm = yaml.safe_load((stack / "compose/docker-stack.yml").read_text())
    assert "sessions" in swarm["services"]
    # The stack's own check: its compose files and services.json agree.
    result = run("python3", "-m", "unittest", "tests.test_services", cwd=stack)
    assert result.stderr.rstrip().endswith("OK"), result.stderr


def started(deployment: Deployment, service: str) -> str:
    (container,) = deployment.compose("ps", "--quiet", service).stdout.split()
    return run("docker", "inspect", "-f", "{{.State.StartedAt}}", container).stdout.strip()


def sessions_answer(deployment: Deployment, password: str | None) -> str:
    auth = ["-e", f"REDISCLI_AUTH={password}"] if password else ["-e", "REDISCLI_AUTH="]
    return deployment.compose(
        "exec", "-T", *auth, "sessions", "redis-cli", "ping", check=False
    ).stdout.strip()


@pytest.mark.docker
def test_the_service_runs_with_its_secret_and_outlives_deploy_and_restore(
    with_sessions, tmp_path_factory
):
    standins = ensure_standins()
    base = tmp_path_factory.mktemp("sessions") / "server"
    with deployment_of(with_sessions, base, "sessions", app_packages=False,
                       sessions_image=standins["redis_image"]) as deployment:  # fmt: skip
        password = read_env(deployment.app / ".env")["SESSIONS_PASSWORD"]
        assert sessions_answer(deployment, password) == "PONG"
        assert "NOAUTH" in sessions_answer(deployment, None)
        health = deployment.compose("ps", "--format", "{{.Service}} {{.Health}}").stdout
        assert "sessions healthy" in health, health

        sessions, backend = started(deployment, "sessions"), started(deployment, "backend")
        run("make", "deploy", cwd=deployment.app, env=ENV)
        assert started(deployment, "sessions") == sessions  # a deploy leaves it running
        run("make", "backup", cwd=deployment.app, env=ENV)
        run("make", "restore", cwd=deployment.app, env=ENV)
        assert started(deployment, "sessions") == sessions  # a restore leaves it running
        assert started(deployment, "backend") != backend  # and stops what writes

        files = ["-f", "docker-compose.app.yml", "-f", "docker-compose.dev.yml"]
        up = ["docker", "compose", *files, "up", "-d", "--wait"]
        dev = subprocess.run(up, cwd=deployment.app, capture_output=True, text=True, check=False)
        assert dev.returncode == 0, dev.stderr
        assert sessions_answer(deployment, password) == "PONG"
