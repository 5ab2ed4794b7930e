"""The oldest copier that copier.yml accepts (`_min_copier_version`) does everything the
template asks of copier: it generates the pair, the update check (`copier check-update`)
sees a newer release, and the READMEs' update commands take both repos to it.

That copier is installed from PyPI into a venv of its own, kept in .venv/ between runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from helpers import (
    BIN,
    ENV,
    MIDDLE,
    ROOT,
    SLUG,
    TEMPLATE_VERSION,
    Shell,
    answers_of,
    assert_links,
    readme_blocks,
    release_working_tree,
    run,
)

pytestmark = pytest.mark.slow

MIN_COPIER = yaml.safe_load((ROOT / "copier.yml").read_text())["_min_copier_version"]


@pytest.fixture(scope="session")
def oldest_copier() -> Path:
    """The bin folder of a venv holding copier at copier.yml's _min_copier_version."""
    venv = ROOT / ".venv" / f"copier-{MIN_COPIER}"
    copier = venv / "bin" / "copier"
    found = run(copier, "--version", check=False) if copier.exists() else None
    if found is None or found.stdout.split() != ["copier", MIN_COPIER]:
        shutil.rmtree(venv, ignore_errors=True)
        run(BIN / "python", "-m", "venv", venv)
        run(venv / "bin/pip", "install", "--quiet", f"copier=={MIN_COPIER}")
    return venv / "bin"


def test_the_oldest_copier_generates_checks_and_updates_the_pair(source, tmp_path, oldest_copier):
    env = {**ENV, "PATH": f"{oldest_copier}{os.pathsep}{ENV['PATH']}"}
    assert run("copier", "--version", env=env).stdout.split() == ["copier", MIN_COPIER]
    app, stack = tmp_path / "dev" / SLUG, tmp_path / "dev" / f"{SLUG}-stack"
    run(
        "copier",
        "copy",
        "--trust",
        "--defaults",
        f"--vcs-ref={MIDDLE}",
        "--data=repo=app",
        f"--data=project_name={SLUG}",
        f"--data=data_root={tmp_path / 'data'}",
        source,
        app,
        env=env,
    )
    assert answers_of(stack)["_commit"] == answers_of(app)["_commit"] == MIDDLE
    assert_links(app, stack)
    for repo in (stack, app):
        remote = tmp_path / "remotes" / f"{repo.name}.git"
        run("git", "init", "--quiet", "--bare", "--initial-branch=main", remote)
        run("git", "remote", "add", "origin", remote, cwd=repo)
        run("git", "push", "--quiet", "--set-upstream", "origin", "main", cwd=repo)

    release_working_tree(source)
    check = run(stack / "scripts/check_template_update.py", env=env, check=False)
    assert check.returncode == 2, check.stdout
    assert f"version {TEMPLATE_VERSION} is out, this repo has {MIDDLE}" in check.stdout

    section = "Updating to a newer template version"
    for repo in (stack, app):
        developer = readme_blocks(repo / "README.md", section)[0]
        assert developer[0] == "copier update --trust --defaults"
        Shell(repo, env=env).follow(developer)
        assert answers_of(repo)["_commit"] == TEMPLATE_VERSION
        assert run("git", "status", "--porcelain", cwd=repo).stdout == ""
    assert_links(app, stack)
    assert "the latest version" in run(stack / "scripts/check_template_update.py", env=env).stdout
