"""Generated files pass the real tools: ruff, shellcheck, hadolint, caddy, docker compose,
workflow schemas and the repos' own pre-commit configs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import matrix, project_files, run, tool


def shell_scripts(root: Path) -> list[Path]:
    return [
        p
        for p in project_files(root)
        if p.suffix == ".sh" or p.read_bytes().startswith((b"#!/usr/bin/env bash", b"#!/bin/sh"))
    ]


@matrix
def test_python_passes_ruff(generate, answers):
    pair = generate(**answers)
    for repo in (pair.app, pair.stack):
        run(tool("ruff"), "check", ".", cwd=repo)
        run(tool("ruff"), "format", "--check", ".", cwd=repo)


@matrix
def test_shell_scripts_pass_shellcheck(generate, answers):
    pair = generate(**answers)
    scripts = shell_scripts(pair.stack) + shell_scripts(pair.app)
    assert "install.sh" in {s.name for s in scripts}
    run(tool("shellcheck"), *scripts)


@matrix
def test_dockerfiles_pass_hadolint(generate, answers):
    stack = generate(**answers).stack
    dockerfiles = [
        stack / "backend/Dockerfile",
        stack / "frontend/Dockerfile",
        stack / "caddy/Dockerfile",
    ]
    run(tool("hadolint"), "--failure-threshold", "style", *dockerfiles)


@pytest.mark.parametrize("mode", ["single", "swarm"])
@pytest.mark.parametrize("domain", ["localhost", "shop.example.com"])
def test_caddyfile_validates_and_is_formatted(generate, domain, mode, tmp_path):
    """The front Caddyfile in both modes (STACK_MODE picks the file of snippets it imports:
    single.caddy or swarm.caddy), each formatted, and the swarm web service's Caddyfile.web."""
    caddy = generate().stack / "caddy"
    env = {
        "DOMAIN": domain,
        "ACME_EMAIL": "ops@example.com",
        "STACK_MODE": mode,
        "XDG_DATA_HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    for config in ("Caddyfile", "Caddyfile.web"):
        run(
            tool("caddy"), "validate", "--config", caddy / config, "--adapter", "caddyfile", env=env
        )
    adapted = run(tool("caddy"), "adapt", "--config", caddy / "Caddyfile", env=env).stdout
    upstream = '"dynamic_upstreams"' if mode == "swarm" else '"dial":"backend:8000"'
    assert upstream in adapted.replace(" ", "")
    for caddyfile in (caddy / "Caddyfile", caddy / "Caddyfile.web", *caddy.glob("*.caddy")):
        formatted = run(tool("caddy"), "fmt", caddyfile).stdout
        assert formatted == caddyfile.read_text(), caddyfile


def compose_config(app: Path) -> dict:
    result = run(
        "docker", "compose", "-f", "docker-compose.app.yml", "config", "--format", "json", cwd=app
    )
    return json.loads(result.stdout)


@matrix
def test_compose_file_is_valid_and_follows_the_rules(generate, answers):
    app = generate(**answers).app
    services = compose_config(app)["services"]
    assert {"caddy", "backend", "frontend", "db"} <= set(services)
    # The one-shot migrate service runs once per up or deploy; the rest run for good.
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["command"] == ["migrate"]
    for name, service in services.items():
        assert service["logging"]["options"]["max-size"], f"{name}'s log is not capped"
        assert service["mem_limit"], f"{name} has no memory limit"
        assert service["cap_drop"] == ["ALL"], f"{name} keeps every capability"
        assert service["security_opt"] == ["no-new-privileges:true"], name
        assert service.get("read_only", False) is (name != "frontend"), f"{name}: read_only"
        assert service["pids_limit"] > 0, f"{name} has no process limit"
        if service["restart"] == "no":  # the one-shots: migrate, caddy-files
            continue
        assert "healthcheck" in service, f"{name} has no healthcheck"
        assert service["restart"] == "unless-stopped", name
        for dependency, condition in service.get("depends_on", {}).items():
            one_shot = services.get(dependency, {}).get("restart") == "no"
            expected = "service_completed_successfully" if one_shot else "service_healthy"
            assert condition["condition"] == expected, name
        if name in ("backend", "worker", "beat"):
            assert "migrate" in service["depends_on"], f"{name} does not wait for migrations"
        if name != "caddy":
            assert not service.get("ports"), f"{name} publishes ports"
    assert {p["target"] for p in services["caddy"]["ports"]} >= {80, 443}
    app_mounts = [
        m
        for s in services.values()
        for m in s.get("volumes", [])
        if m["type"] == "bind" and str(app) in m["source"]
    ]
    assert app_mounts, "no app code is bind-mounted"
    assert all(m.get("read_only") for m in app_mounts), app_mounts


@pytest.mark.parametrize(
    ("answers", "workflow", "schema"),
    [
        ({}, ".github/workflows/ci.yml", "vendor.github-workflows"),
        (
            {
                "ci_provider": "gitlab",
                "domain": "shop.example.com",
                "acme_email": "ops@example.com",
            },
            ".gitlab-ci.yml",
            "vendor.gitlab-ci",
        ),
    ],
    ids=["github", "gitlab"],
)
def test_ci_files_of_both_repos_match_their_schema(generate, answers, workflow, schema):
    pair = generate(**answers)
    files = [pair.app / workflow, pair.stack / workflow]
    run(tool("check-jsonschema"), "--builtin-schema", schema, *files)


def test_stack_workflows_match_their_schema(generate):
    workflows = list((generate().stack / ".github/workflows").glob("*.yml"))
    assert workflows
    run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows)


def test_stack_pre_commit_config_passes_on_the_stack(generate, tmp_path):
    stack = tmp_path / "stack"
    shutil.copytree(generate().stack, stack, symlinks=True)
    run(tool("pre-commit"), "run", "--all-files", cwd=stack)
    assert run("git", "status", "--porcelain", cwd=stack).stdout == ""


def test_dev_caddyfile_validates_and_is_formatted(generate, tmp_path):
    caddyfile = generate().stack / "caddy/Caddyfile.dev"
    env = {"DOMAIN": "localhost", "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    run(tool("caddy"), "validate", "--config", caddyfile, "--adapter", "caddyfile", env=env)
    assert run(tool("caddy"), "fmt", caddyfile).stdout == caddyfile.read_text()


def test_dev_compose_override_changes_only_what_development_needs(generate):
    app = generate().app
    files = ["-f", "docker-compose.app.yml", "-f", "docker-compose.dev.yml"]
    config = run("docker", "compose", *files, "config", "--format", "json", cwd=app).stdout
    services = json.loads(config)["services"]
    production = compose_config(app)["services"]
    assert set(services) - set(production) == {"mailcatcher"}  # development mode's own
    assert services.pop("mailcatcher")["image"] == "maildev/maildev:2.2.1"
    for name, service in services.items():
        assert service["image"] == production[name]["image"], f"{name}: another image"
    assert services["backend"]["command"] == ["dev"]
    (code,) = [m for m in services["backend"]["volumes"] if m["target"] == "/app"]
    assert not code.get("read_only"), "makemigrations cannot write the app's migrations"
    (db_port,) = services["db"]["ports"]
    assert db_port["host_ip"] == "127.0.0.1"
    assert {name for name, s in services.items() if s.get("ports")} == {"caddy", "db"}


def test_dev_mode_publishes_the_site_on_this_machine_unless_env_says_otherwise(pair_copy):
    app, _ = pair_copy

    def published() -> set[str]:
        files = ("-f", "docker-compose.app.yml", "-f", "docker-compose.dev.yml")
        result = run("docker", "compose", *files, "config", "--format", "json", cwd=app)
        ports = json.loads(result.stdout)["services"]["caddy"]["ports"]
        assert {p["target"] for p in ports} == {80, 443}
        return {p.get("host_ip", "every interface") for p in ports}

    assert published() == {"127.0.0.1"}
    env = app / ".env"
    env.write_text(env.read_text().replace("DEV_ADDRESS=127.0.0.1", "DEV_ADDRESS=0.0.0.0"))
    assert published() == {"0.0.0.0"}
