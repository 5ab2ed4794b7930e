"""Updating both repos to newer template versions, as a team does it.

A developer has both repos, edited the way teams edit them, and pushes to their remotes; a
server runs clones of them. Every command comes from an updating section of a README and
runs as a user types it, except the ones that need a Docker engine (DOCKER_COMMANDS).
The versions: two older releases built here from the working tree with deliberate
differences (OLD, MIDDLE), the working tree itself (TEMPLATE_VERSION), and the oldest
release in CHANGELOG.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from helpers import (
    BIN,
    COPIER_PIN,
    DOCKER_COMMANDS,
    ENV,
    MATRIX,
    MIDDLE,
    OLD,
    REQUIREMENTS,
    ROOT,
    SLUG,
    TEMPLATE_VERSION,
    Shell,
    answers_of,
    assert_links,
    bootstrap,
    deploy,
    edit,
    manifest,
    parse_env,
    read_env,
    readme_blocks,
    release_working_tree,
    releases,
    run,
)

MOVED_WORKFLOW = (".github/workflows/lint.yml", ".github/workflows/ci.yml")
CI_FILES = {"github": ".github/workflows/ci.yml", "gitlab": ".gitlab-ci.yml"}


# ---- Resolving conflicts, checking both repos -----------------------------------------------


def resolve_conflicts(path: Path, keep: str) -> str:
    """Resolve copier's conflict markers in path, keeping "ours" (the project's side) or
    "both" (the template's side, then the project's); return the conflicts as they were."""
    kept, conflict, side = [], "", None
    sides: dict[str, list[str]] = {}
    for line in path.read_text().splitlines(keepends=True):
        marker = line[0] if line.startswith(("<<<<<<< ", "||||||| ", "=======", ">>>>>>> ")) else ""
        if marker:
            conflict += line
            side = {"<": "ours", "|": "base", "=": "theirs", ">": None}[marker]
            if side is None:
                kept += sides["ours"] if keep == "ours" else sides["theirs"] + sides["ours"]
            sides.setdefault(side, []) if side else sides.clear()
        elif side:
            conflict += line
            sides[side].append(line)
        else:
            kept.append(line)
    path.write_text("".join(kept))
    return conflict


def resolver(
    relative: str, ours: str, theirs: str, keep: str = "ours"
) -> Callable[[str, Path], None]:
    """What a developer does when the conflict check names `relative`."""

    def resolve(output: str, repo: Path) -> None:
        assert f"{relative}:" in output and "Merge conflict string '<<<<<<<' found" in output
        conflict = resolve_conflicts(repo / relative, keep)
        assert "<<<<<<< before updating" in conflict and ">>>>>>> after updating" in conflict
        assert ours in conflict and theirs in conflict, conflict
        run("git", "add", relative, cwd=repo)

    return resolve


def git_state(repo: Path) -> list[str]:
    """The work tree and index as git sees them."""
    return [
        run("git", *args, cwd=repo).stdout for args in (["status"], ["diff"], ["diff", "--cached"])
    ]


def assert_clean(repo: Path) -> None:
    assert run("git", "status", "--porcelain", cwd=repo).stdout == "", f"{repo} is not clean"


def assert_gitignore_covers_links(app: Path, stack: Path) -> None:
    """The app's own .gitignore, not only the link script's exclude block, lists every link."""
    paths = [path for path, _ in manifest(stack)]
    found = run("git", "check-ignore", "--verbose", "--no-index", *paths, cwd=app).stdout
    sources = {line.split("\t")[1]: line.split(":")[0] for line in found.splitlines()}
    assert sources == dict.fromkeys(paths, ".gitignore")


def assert_version(stack: Path, version: str) -> None:
    assert answers_of(stack)["_commit"] == version
    assert run(stack / "install.sh", "--version").stdout.strip() == version
    compose = (stack / "compose/docker-compose.app.yml").read_text()
    for service in ("backend", "frontend", "caddy"):
        assert f"image: ${{COMPOSE_PROJECT_NAME}}-{service}:{version}\n" in compose


def assert_env_grew(env_file: Path, before: str, added: dict[str, str | None]) -> str:
    """.env kept every byte it had and gained exactly `added` (None: a fresh secret)."""
    after = env_file.read_text()
    assert after.startswith(before), "a value already in .env changed"
    grown = read_env(env_file)
    new = {key: grown[key] for key in grown.keys() - parse_env(before).keys()}
    assert new.keys() == added.keys()
    for key, value in added.items():
        if value is None:
            assert re.fullmatch(r"[A-Za-z0-9]{32,}", new[key]), f"{key} is no fresh secret"
        else:
            assert new[key] == value
    assert env_file.stat().st_mode & 0o777 == 0o600
    return after


# ---- What teams edit -----------------------------------------------------------------------


def edit_stack(stack: Path) -> None:
    """Customise the Caddyfile, add a Python requirement to the base image."""
    caddyfile = stack / "caddy/Caddyfile"
    edit(
        caddyfile,
        "\thandle_path /static/* {",
        "\tredir /blog https://blog.example.com{uri} permanent\n\n\thandle_path /static/* {",
    )
    with (stack / "backend/requirements.txt").open("a") as requirements:
        requirements.write("django-extensions==4.1\n")


def edit_app(app: Path) -> None:
    """App code, a changed setting, a Python requirement, an npm dependency, an ignore rule."""
    settings = app / "backend/shop_core/settings.py"
    edit(settings, '    "notes",\n]', '    "notes",\n    "shop",\n]')
    edit(settings, 'TIME_ZONE = "UTC"', 'TIME_ZONE = "Europe/Paris"')
    shop = app / "backend/shop"
    (shop / "migrations").mkdir(parents=True)
    for empty in ("__init__.py", "migrations/__init__.py"):
        (shop / empty).write_text("")
    (shop / "models.py").write_text(
        "from django.db import models\n\n\nclass Order(models.Model):\n"
        "    total = models.DecimalField(max_digits=10, decimal_places=2)\n"
    )
    (app / "frontend/src/pages/About.tsx").write_text(
        "export default function About() {\n  return <h1>About the shop</h1>;\n}\n"
    )
    with (app / "backend/requirements-app.txt").open("a") as requirements:
        requirements.write("requests==2.32.3\n")
    packages = app / "frontend/package-app.json"
    listing = json.loads(packages.read_text())
    listing["dependencies"]["dayjs"] = "1.11.19"
    packages.write_text(json.dumps(listing, indent=2) + "\n")
    with (app / ".gitignore").open("a") as gitignore:
        gitignore.write("/media/\n")


def assert_stack_edits(stack: Path) -> None:
    caddyfile = (stack / "caddy/Caddyfile").read_text()
    assert "\tredir /blog https://blog.example.com{uri} permanent\n" in caddyfile
    assert "django-extensions==4.1\n" in (stack / "backend/requirements.txt").read_text()


def assert_app_edits(app: Path) -> None:
    settings = (app / "backend/shop_core/settings.py").read_text()
    assert '    "notes",\n    "shop",\n]' in settings
    assert 'TIME_ZONE = "Europe/Paris"' in settings
    assert "class Order(models.Model)" in (app / "backend/shop/models.py").read_text()
    assert (app / "backend/shop/migrations/__init__.py").is_file()
    assert "About the shop" in (app / "frontend/src/pages/About.tsx").read_text()
    assert "requests==2.32.3\n" in (app / "backend/requirements-app.txt").read_text()
    packages = json.loads((app / "frontend/package-app.json").read_text())
    assert packages["dependencies"] == {"dayjs": "1.11.19"}
    assert "\n/media/\n" in (app / ".gitignore").read_text()


def caddy_validate(caddyfile: Path, tmp_path: Path) -> None:
    env = {"DOMAIN": "localhost", "ACME_EMAIL": "", "XDG_DATA_HOME": str(tmp_path)}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    run(BIN / "caddy", "validate", "--config", caddyfile, "--adapter", "caddyfile", env=env)


# ---- The tests -----------------------------------------------------------------------------


def test_two_releases_reach_both_repos_and_every_edit_survives(source, tmp_path):
    team = bootstrap(source, tmp_path, OLD)
    stack, app = team.dev(f"{SLUG}-stack"), team.dev()
    server_stack, server_app = team.server(f"{SLUG}-stack"), team.server()
    edit_stack(stack)
    edit(stack / "caddy/Caddyfile", "Referrer-Policy no-referrer", "Referrer-Policy same-origin")
    edit_app(app)
    edit(app / "backend/shop_core/settings.py", 'LANGUAGE_CODE = "en"', 'LANGUAGE_CODE = "de-de"')
    team.commit(stack, "Our Caddy rules and base requirements")
    team.commit(app, "Shop app, settings, packages")
    dev_env = app / ".env"
    with dev_env.open("a") as env:
        env.write("SENTRY_DSN=https://key@sentry.example.com/1\n")
    deploy(team)
    server_env = server_app / ".env"
    edit(server_env, "DOMAIN=localhost", "DOMAIN=shop.example.com")
    assert (server_app / "frontend/.prettierrc.json").is_symlink()
    secret_key = read_env(server_env)["DJANGO_SECRET_KEY"]
    dev_text, server_text = dev_env.read_text(), server_env.read_text()

    stack_readme = readme_blocks(stack / "README.md", "Updating to a newer template version")
    app_readme = readme_blocks(app / "README.md", "Updating to a newer template version")
    assert [len(stack_readme), len(app_readme)] == [2, 2]
    skipped = []

    # Step 1, OLD -> MIDDLE. The stack: its Caddyfile conflicts, the other edits merge.
    shell = Shell(stack)
    shell.follow(
        stack_readme[0],
        resolver(
            "caddy/Caddyfile",
            "Referrer-Policy same-origin",
            "Referrer-Policy strict-origin-when-cross-origin",
        ),
    )
    assert_version(stack, MIDDLE)
    assert "\tencode zstd gzip\n" in (stack / "caddy/Caddyfile").read_text()
    assert "Referrer-Policy same-origin\n" in (stack / "caddy/Caddyfile").read_text()
    assert_stack_edits(stack)
    caddy_validate(stack / "caddy/Caddyfile", tmp_path)
    assert not (stack / "frontend/.prettierrc.json").exists()
    assert_clean(stack)

    # The server: a new link, a dropped one; the app, not updated yet, stays clean.
    shell = Shell(server_stack, env=team.server_env)
    shell.follow(stack_readme[1])
    skipped += shell.skipped
    assert "removed frontend/.prettierrc.json: links.txt no longer lists it" in shell.output
    assert_version(server_stack, MIDDLE)
    assert_links(server_app, server_stack)
    assert not (server_app / "frontend/.prettierrc.json").is_symlink()
    assert (server_app / "frontend/tsconfig.node.json").is_symlink()
    assert_clean(server_app)
    assert server_env.read_text() == server_text

    # The app: new .env keys, one a secret; the settings change from the template arrives.
    Shell(app).follow(app_readme[0])
    assert answers_of(app)["_commit"] == MIDDLE
    assert '"CONN_MAX_AGE": 60' in (app / "backend/shop_core/settings.py").read_text()
    assert_app_edits(app)
    gitignore = (app / ".gitignore").read_text()
    assert "/frontend/tsconfig.node.json\n" in gitignore and "prettierrc" not in gitignore
    assert_links(app, stack)
    dev_text = assert_env_grew(dev_env, dev_text, {"POSTGRES_PASSWORD": None, "HTTPS_PORT": "443"})
    assert_clean(app)

    shell = Shell(server_app)
    shell.follow(app_readme[1])
    skipped += shell.skipped
    server_text = assert_env_grew(
        server_env, server_text, {"POSTGRES_PASSWORD": None, "HTTPS_PORT": "443"}
    )
    password = read_env(server_env)["POSTGRES_PASSWORD"]
    assert password != read_env(dev_env)["POSTGRES_PASSWORD"]
    assert_gitignore_covers_links(server_app, server_stack)
    assert_clean(server_app)

    # Step 2, MIDDLE -> working tree, once released; CI's check notices it.
    check = [stack / "scripts/check_template_update.py"]
    assert "this repo has the latest version, 98.0.0" in run(*check, env=ENV).stdout
    release_working_tree(source)
    found = run(*check, env=ENV, check=False)
    assert found.returncode == 2
    assert f"version {TEMPLATE_VERSION} is out, this repo has {MIDDLE}" in found.stdout
    # The stack merges cleanly, the app's settings conflict.
    Shell(stack).follow(stack_readme[0])
    assert_version(stack, TEMPLATE_VERSION)
    released = run("git", "show", f"working-tree:{REQUIREMENTS}", cwd=source).stdout
    pin = re.search(r"^gunicorn==.*\n", released, flags=re.M)[0]
    assert pin != "gunicorn==23.0.0\n" and pin in (stack / "backend/requirements.txt").read_text()
    assert_stack_edits(stack)
    assert "Referrer-Policy same-origin\n" in (stack / "caddy/Caddyfile").read_text()
    assert_clean(stack)

    shell = Shell(server_stack, env=team.server_env)
    shell.follow(stack_readme[1])
    skipped += shell.skipped
    assert (server_app / "frontend/eslint.config.js").is_symlink()
    assert_links(server_app, server_stack)
    assert_clean(server_app)

    Shell(app).follow(
        app_readme[0],
        resolver(
            "backend/shop_core/settings.py", 'LANGUAGE_CODE = "de-de"', 'LANGUAGE_CODE = "en-us"'
        ),
    )
    assert answers_of(app)["_commit"] == TEMPLATE_VERSION
    assert 'LANGUAGE_CODE = "de-de"\n' in (app / "backend/shop_core/settings.py").read_text()
    assert_app_edits(app)
    origins = {"DJANGO_CSRF_TRUSTED_ORIGINS": ""}
    dev_text = assert_env_grew(dev_env, dev_text, origins)
    assert read_env(dev_env)["SENTRY_DSN"] == "https://key@sentry.example.com/1"
    assert_clean(app)

    shell = Shell(server_app)
    shell.follow(app_readme[1])
    skipped += shell.skipped
    assert_env_grew(server_env, server_text, origins)
    server = read_env(server_env)
    assert (server["DJANGO_SECRET_KEY"], server["POSTGRES_PASSWORD"]) == (secret_key, password)
    assert server["DOMAIN"] == "shop.example.com"
    assert_gitignore_covers_links(server_app, server_stack)
    assert_links(server_app, server_stack)
    assert_clean(server_app)
    assert_clean(server_stack)
    assert sorted(set(skipped)) == sorted(DOCKER_COMMANDS)


def test_update_from_the_oldest_release_moves_the_stack_workflow_with_its_edits(template, tmp_path):
    oldest = releases(template)[0]
    team = bootstrap(template, tmp_path, oldest)
    stack, app = team.dev(f"{SLUG}-stack"), team.dev()
    edit_stack(stack)
    old_workflow, new_workflow = MOVED_WORKFLOW
    edit(stack / old_workflow, "on:\n  push:\n", "on:\n  push:\n    branches: [main]\n")
    edit_app(app)
    team.commit(stack, "Our Caddy rules, base requirements and CI trigger")
    team.commit(app, "Shop app, settings, packages")
    deploy(team)
    secrets = read_env(team.server() / ".env")

    blocks = readme_blocks(ROOT / "README.md", "Updating")
    assert len(blocks) == 4
    shell = Shell(team.root / "dev")
    shell.follow(blocks[0][:2])  # cd, copier update
    assert f"{old_workflow} moved to {new_workflow}, with your edits" in shell.output
    workflow = (stack / new_workflow).read_text()
    assert "    branches: [main]\n" in workflow and "  template-update:\n" in workflow
    assert not (stack / old_workflow).exists()

    # The migration again, as copier would run it: nothing changes.
    state = git_state(stack)
    run(
        sys.executable,
        ROOT / "hooks/move_file.py",
        f"--template={template}",
        f"--from-version={oldest}",
        *MOVED_WORKFLOW,
        cwd=stack,
    )
    assert git_state(stack) == state
    assert (stack / new_workflow).read_text() == workflow

    # The team's line at the end of the base requirements meets the one the template added
    # there since (sentry-sdk): they keep both, once.
    shell.follow(
        blocks[0][2:],
        resolver("backend/requirements.txt", "django-extensions", "sentry-sdk", "both"),
    )
    assert_version(stack, TEMPLATE_VERSION)
    # A stack from before postgres_version stays on 17, its volume where 17 keeps its data.
    answers = answers_of(stack)
    db = yaml.safe_load((stack / "compose/docker-compose.app.yml").read_text())["services"]["db"]
    assert answers["postgres_version"] == "17" and answers["postgres_image"].endswith(":17")
    assert db["image"] == answers["postgres_image"]
    assert db["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert_stack_edits(stack)
    assert_clean(stack)
    server = Shell(team.root / "server")
    server.follow(blocks[1])
    # 0.2.0 lists the links first in the app's .gitignore, so that lines added at its end no
    # longer meet link changes; the line this team added meets the move once.
    Shell(team.root / "dev").follow(
        blocks[2], resolver(".gitignore", "/media/", "node_modules/", keep="both")
    )
    skipped = server.skipped
    server = Shell(team.root / "server")
    server.follow(blocks[3])
    skipped += server.skipped
    assert answers_of(app)["_commit"] == TEMPLATE_VERSION
    assert_app_edits(app)
    for app_dir, stack_dir in ((app, stack), (team.server(), team.server(f"{SLUG}-stack"))):
        assert_links(app_dir, stack_dir)
        assert_gitignore_covers_links(app_dir, stack_dir)
        assert_clean(app_dir)
    assert_version(team.server(f"{SLUG}-stack"), TEMPLATE_VERSION)
    after = read_env(team.server() / ".env")
    assert {key: after[key] for key in secrets} == secrets
    assert sorted(set(skipped)) == sorted(DOCKER_COMMANDS)


def ci_template_check(repo: Path, ci: str) -> subprocess.CompletedProcess:
    """Run the template-update job's check as its CI does (copier is installed already)."""
    config = yaml.safe_load((repo / CI_FILES[ci]).read_text())
    if ci == "github":
        *_, install, check = config["jobs"]["template-update"]["steps"]
        env = {**ENV, "GITHUB_ACTIONS": "true"}
        command = ["bash", "-e", "-c", check["run"]]
    else:
        install, check = config["template-update"]["script"]
        assert config["template-update"]["allow_failure"] == {"exit_codes": 2}
        env, command = ENV, ["bash", "-c", check]
    assert (install if ci == "gitlab" else install["run"]) == f"pip install copier=={COPIER_PIN}"
    return run(*command, cwd=repo, env=env, check=False)


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_ci_reports_a_newer_template_version_and_never_fails_for_it(
    generate, template, ci, tmp_path
):
    pair = generate(**MATRIX["default" if ci == "github" else "gitlab-domain"])
    newer = tmp_path / "newer template"
    run("git", "clone", "--quiet", template, newer)
    run("git", "commit", "--quiet", "--allow-empty", "-m", "Next release", cwd=newer, env=ENV)
    run("git", "tag", "99.1.0", cwd=newer)
    # A clone without the tags (a template repo whose maintainers never pushed them).
    untagged = tmp_path / "untagged template"
    run("git", "clone", "--quiet", "--no-tags", f"file://{template}", untagged)
    run("git", "tag", "--delete", *run("git", "tag", cwd=untagged).stdout.split(), cwd=untagged)
    cases = [
        (template, 0, f"this repo has the latest version, {TEMPLATE_VERSION}"),
        (newer, 2, f"version 99.1.0 is out, this repo has {TEMPLATE_VERSION}"),
        (tmp_path / "gone", 0, f"cannot check {tmp_path / 'gone'} for a newer template version"),
        (
            untagged,
            0,
            f"cannot check {untagged} for a newer template version: it has no release tags",
        ),
    ]
    script = "scripts/check_template_update.py"
    assert (pair.app / script).read_bytes() == (pair.stack / script).read_bytes()
    for repo in (pair.app, pair.stack):
        assert os.access(repo / script, os.X_OK)
        copy = tmp_path / repo.name
        shutil.copytree(repo, copy, symlinks=True)
        answers = copy / ".copier-answers.yml"
        for src, gitlab_code, says in cases:
            answers.write_text(
                json.dumps({**json.loads(answers.read_text()), "_src_path": str(src)})
            )
            result = ci_template_check(copy, ci)
            # GitHub: the run passes, with a warning; GitLab: exit code 2 is an allowed failure.
            assert result.returncode == (0 if ci == "github" else gitlab_code), result.stderr
            assert says in result.stdout
            warning = result.stdout.startswith("::warning title=Template update::")
            assert warning == (ci == "github" and src != template)
