"""The app's CI run here as its runner would: every `run` step of the GitHub workflow's
backend, frontend and e2e jobs, in a fresh clone of a generated app, against a real PostgreSQL
(the e2e job: against the app in development mode under Docker, with Debian's Chromium).
The `uses` steps are this machine's: the clone is the checkout, a venv of the Python that
.python-version names is setup-python, the installed Node is setup-node."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
import yaml
from deployments import CHROMIUM, set_env, unique_project
from helpers import (
    ENV,
    TEMPLATE_VERSION,
    edit,
    ensure_standins,
    free_port,
    python_for,
    record_timing,
    run,
)

pytestmark = pytest.mark.slow

WORKFLOW = ".github/workflows/ci.yml"


def checkout(app: Path, runner: Path) -> tuple[Path, dict[str, str]]:
    """A fresh clone of the app and the runner's environment: its Python first on PATH."""
    clone = runner / "checkout"
    run("git", "clone", "--quiet", app, clone)
    version = (clone / ".python-version").read_text().strip()
    python = python_for(version)
    venv = runner / "python"
    run(python, "-m", "venv", venv)
    path = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
    return clone, {"PATH": path, "RUNNER_TEMP": str(runner / "temp"), "VIRTUAL_ENV": str(venv)}


def run_steps(
    app: Path, runner: Path, job: str, postgres: dict, change=None, env=None, timings=False
) -> str | None:
    """Run the job's `run` steps in a fresh checkout (changed by `change(clone)` first; `env`
    added to the runner's); returns the first step that failed, or None. Steps that run only
    after a failure (`if: failure()`) run then."""
    spec = yaml.safe_load((app / WORKFLOW).read_text())["jobs"][job]
    clone, runner_env = checkout(app, runner)
    if change:
        change(clone)
    # The job's services listen on this machine: the real PostgreSQL of the tests.
    env = {**spec.get("env", {}), **postgres, **runner_env, **(env or {})}
    steps = [step for step in spec["steps"] if "run" in step]
    assert any("get_stack.py" in step["run"] for step in steps)
    failed = None
    for step in steps:
        if (step.get("if") == "failure()") != bool(failed):
            continue
        cwd = clone / step.get("working-directory", ".")
        start = time.monotonic()
        result = run("bash", "-e", "-c", step["run"], cwd=cwd, env=env, check=False)
        if timings:
            record_timing(f"[app CI] {job}: {step['run'][:36]}", time.monotonic() - start)
            print(f"`{step['run']}`:\n{result.stdout[-1500:]}")
        if result.returncode != 0 or failed:
            print(f"`{step['run']}`:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
            failed = failed or step["run"]
    if failed:
        return failed
    assert run("git", "status", "--porcelain", cwd=clone).stdout == ""
    return None


@pytest.mark.parametrize("job", ["backend", "frontend"])
def test_app_ci_job_passes_on_the_generated_app(generate, postgres, tmp_path, job):
    start = time.monotonic()
    assert run_steps(generate().app, tmp_path / "runner", job, postgres) is None
    record_timing(f"[app CI] {job} job, installs included", time.monotonic() - start)


@pytest.mark.docker
def test_app_ci_e2e_job_runs_the_browser_test_against_make_dev(generate, tmp_path):
    """Sign-up, the verification mail in the mail catcher, sign-in, notes, a second user
    (the app's e2e/): the job's steps with Debian's Chromium instead of a downloaded one, and
    the runner's passwordless sudo (as root here). Its .env first gets what this machine
    needs: free ports, a compose project and data folders of its own."""
    app = generate(**ensure_standins()).app
    project, https_port = unique_project("igny8-e2e"), free_port()
    clones = []

    def ports_and_data(clone: Path) -> None:
        clones.append(clone)
        sudo = clone.parent / "python/bin/sudo"  # on the runner's PATH (checkout())
        sudo.write_text('#!/bin/sh\nexec "$@"\n')
        sudo.chmod(0o755)
        (clone / ".env").write_text("")
        set_env(
            clone / ".env",
            COMPOSE_PROJECT_NAME=project,
            HTTP_PORT=str(free_port()),
            HTTPS_PORT=str(https_port),
            DB_DEV_PORT=str(free_port()),
            DATA_ROOT=str(tmp_path / "data"),
        )

    env = {"CI": "true", "PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH": CHROMIUM}
    start = time.monotonic()
    try:
        failed = run_steps(app, tmp_path / "runner", "e2e", {}, ports_and_data, env, timings=True)
    finally:
        if clones:
            compose = ["docker", "compose", "-f", "docker-compose.app.yml", "-f"]
            run(*compose, "docker-compose.dev.yml", "down", "--volumes", "--remove-orphans",
                cwd=clones[0], check=False)  # fmt: skip
            built = run("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
                        f"--filter=reference={project}-*").stdout.split()  # fmt: skip
            if built:
                run("docker", "image", "rm", *built, check=False)
    assert failed is None
    record_timing("[app CI] e2e job, image builds included", time.monotonic() - start)


def test_app_ci_fails_on_a_model_change_without_its_migration(generate, postgres, tmp_path):
    def add_field(clone: Path) -> None:
        body = "    body = models.TextField(blank=True)\n"
        pinned = "    pinned = models.BooleanField(default=False)\n"
        models = clone / "backend/notes/models.py"
        models.write_text(models.read_text().replace(body, body + pinned))

    failed = run_steps(generate().app, tmp_path / "runner", "backend", postgres, add_field)
    assert failed == "python manage.py makemigrations --check --dry-run"


def test_app_ci_fails_on_a_serializer_change_without_its_schema(generate, postgres, tmp_path):
    def shorter_bodies(clone: Path) -> None:
        serializers = clone / "backend/notes/serializers.py"
        serializers.write_text(serializers.read_text().replace("10_000", "5_000"))

    failed = run_steps(generate().app, tmp_path / "runner", "backend", postgres, shorter_bodies)
    assert failed.startswith('test -z "$(git status --porcelain -- frontend/openapi.json)"')


def test_app_ci_fails_on_a_schema_change_without_its_client(generate, postgres, tmp_path):
    def pinned_notes(clone: Path) -> None:
        schema = clone / "frontend/openapi.json"
        spec = json.loads(schema.read_text())
        spec["components"]["schemas"]["Note"]["properties"]["pinned"] = {"type": "boolean"}
        schema.write_text(json.dumps(spec, indent=4))

    failed = run_steps(generate().app, tmp_path / "runner", "frontend", postgres, pinned_notes)
    assert failed.startswith('test -z "$(git status --porcelain -- src/api/generated)"')


def test_app_ci_fails_on_a_type_error_the_tests_miss(generate, postgres, tmp_path, capsys):
    """A note's __str__ (the admin's lists show it, no test calls it) returns a datetime."""

    def break_str(clone: Path) -> None:
        edit(clone / "backend/notes/models.py", "return self.title", "return self.created_at")

    start = time.monotonic()
    failed = run_steps(generate().app, tmp_path / "runner", "backend", postgres, break_str)
    assert failed == "mypy"
    output = capsys.readouterr().out
    assert 'notes/models.py:18: error: Incompatible return value type (got "datetime"' in output
    record_timing("[app CI] backend job failing at mypy", time.monotonic() - start)


def test_app_ci_fails_when_the_tests_cover_under_90_percent(generate, postgres, tmp_path, capsys):
    """The core app's tests deleted: every test left passes, but they run too little of the
    code."""
    start = time.monotonic()
    failed = run_steps(
        generate().app,
        tmp_path / "runner",
        "backend",
        postgres,
        lambda clone: shutil.rmtree(clone / "backend/core/tests"),
    )
    assert failed == "pytest --cov"
    output = capsys.readouterr().out
    assert " passed" in output and " failed" not in output
    assert "FAIL Required test coverage of 90.0% not reached" in output
    record_timing("[app CI] backend job failing at coverage", time.monotonic() - start)


def test_ci_clones_the_stack_at_the_template_version_the_app_records(pair_copy, tmp_path):
    """The stack's default branch moved on to a newer template version (its update came
    first); the app's CI still gets the stack as it was at the app's version."""
    app, stack = pair_copy
    answers = stack / ".copier-answers.yml"
    at_app_version = run("git", "rev-parse", "HEAD", cwd=stack).stdout.strip()
    (stack / "NOTES.md").write_text("A team's commit at the same version.\n")
    run("git", "add", "NOTES.md", cwd=stack)
    run("git", "commit", "--quiet", "-m", "Notes", cwd=stack, env=ENV)
    last_at_app_version = run("git", "rev-parse", "HEAD", cwd=stack).stdout.strip()
    assert last_at_app_version != at_app_version
    answers.write_text(
        answers.read_text().replace(f'"_commit": "{TEMPLATE_VERSION}"', '"_commit": "100.0.0"')
    )
    run("git", "commit", "--quiet", "--all", "-m", "Update to 100.0.0", cwd=stack, env=ENV)

    clone = tmp_path / "ci checkout"
    run("git", "clone", "--quiet", app, clone)
    ci_stack = tmp_path / "runner temp" / "stack"
    got = run(
        sys.executable, clone / "scripts/get_stack.py", ci_stack, env={"STACK_REPO_URL": str(stack)}
    )
    assert f"Stack at template version {TEMPLATE_VERSION}" in got.stdout
    assert run("git", "rev-parse", "HEAD", cwd=ci_stack).stdout.strip() == last_at_app_version
    assert (clone / "docker-compose.app.yml").resolve().is_relative_to(ci_stack)

    app_answers = clone / ".copier-answers.yml"
    app_answers.write_text(
        app_answers.read_text().replace(f'"_commit": "{TEMPLATE_VERSION}"', '"_commit": "98.5.0"')
    )
    failed = run(
        sys.executable,
        clone / "scripts/get_stack.py",
        tmp_path / "other",
        check=False,
        env={"STACK_REPO_URL": str(stack)},
    )
    assert failed.returncode == 1
    assert "no commit of" in failed.stderr and "at template version 98.5.0" in failed.stderr


ACTION_PIN = re.compile(r"^\s*- uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40})  # v\d+\.\d+\.\d+$")


def test_ci_workflows_get_a_read_only_token_keep_no_credentials_and_pin_actions(generate):
    pair = generate()
    for repo in (pair.app, pair.stack):
        text = (repo / WORKFLOW).read_text()
        workflow = yaml.safe_load(text)
        assert workflow["permissions"] == {"contents": "read"}, repo.name
        steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
        uses = [line for line in text.splitlines() if "uses:" in line]
        assert uses and all(ACTION_PIN.match(line) for line in uses), uses
        checkouts = [step for step in steps if step.get("uses", "").startswith("actions/checkout@")]
        assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)
        dependabot = yaml.safe_load((repo / ".github/dependabot.yml").read_text())
        assert "github-actions" in {update["package-ecosystem"] for update in dependabot["updates"]}


def test_gitlab_ci_backend_job_runs_the_checks_of_the_github_one(generate):
    """GitLab's job is only validated here, not run: the same checks, in the same order."""
    checks = [
        "ruff check .",
        "ruff format --check .",
        "mypy",
        "python manage.py makemigrations --check --dry-run",
        "pytest --cov",
    ]
    github = yaml.safe_load((generate().app / WORKFLOW).read_text())["jobs"]["backend"]
    gitlab = yaml.safe_load((generate(ci_provider="gitlab").app / ".gitlab-ci.yml").read_text())
    assert [step["run"] for step in github["steps"] if step.get("run") in checks] == checks
    assert [line for line in gitlab["backend"]["script"] if line in checks] == checks


def test_gitlab_ci_images_get_pinned_to_a_digest_by_renovate(generate):
    pair = generate(ci_provider="gitlab")
    for repo in (pair.app, pair.stack):
        renovate = json.loads((repo / "renovate.json").read_text())
        assert "gitlabci" in renovate["enabledManagers"]
        rules = renovate["packageRules"]
        assert any(r.get("pinDigests") and r["matchManagers"] == ["gitlabci"] for r in rules)
