"""The generated frontend: npm ci, build, test and lint pass in the app, through the links,
without changing the stack's files; the app's pre-commit config passes (its mypy hook too)."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

import pytest
from helpers import chosen, node_path, rows_choosing, run

# The frontend variants; the other rows of the matrix do not change the frontend.
VARIANTS = rows_choosing("node_version")

pytestmark = pytest.mark.slow


def stack_frontend_digest(stack: Path) -> str:
    files = sorted((stack / "frontend").glob("*.*"))
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


@pytest.fixture(scope="module", params=list(VARIANTS.values()), ids=list(VARIANTS))
def frontend(request, generate):
    """The variant's app with its packages installed, on the variant's Node.js major."""
    pair = generate(**request.param)
    before = stack_frontend_digest(pair.stack)
    path = os.environ["PATH"]
    os.environ["PATH"] = node_path(chosen(request.param)["node_version"])
    try:
        run("npm", "ci", "--no-audit", "--no-fund", cwd=pair.app / "frontend")
        yield pair
    finally:
        os.environ["PATH"] = path
    assert stack_frontend_digest(pair.stack) == before, "the app changed the stack's files"


def test_runs_on_the_answered_node_major(frontend):
    major = (frontend.app / "frontend/.nvmrc").read_text().strip()
    frontend_dir = frontend.app / "frontend"
    for command in (["node", "--version"], ["npm", "exec", "--", "node", "--version"]):
        assert run(*command, cwd=frontend_dir).stdout.startswith(f"v{major}."), command


@pytest.mark.parametrize("script", ["build", "test", "lint"])
def test_npm_script_passes(frontend, script):
    run("npm", "run", script, cwd=frontend.app / "frontend")


def test_build_output_is_in_the_app_not_the_stack(frontend):
    app, stack = frontend.app, frontend.stack
    run("npm", "run", "build", cwd=app / "frontend")
    assert (app / "frontend/dist/index.html").is_file()
    assert list((app / "frontend/dist/assets").glob("*.js"))
    assert not (stack / "frontend/dist").exists()
    assert not (stack / "frontend/node_modules").exists()


def test_app_make_lint_passes(frontend):
    """The app README's `make lint`: its own pre-commit config, on every file."""
    app = frontend.app
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    result = run("make", "lint", cwd=app, env={"PATH": path})
    assert "pre-commit run --all-files" in result.stdout
    # mypy too, in the .venv that its first run makes (git-ignored).
    assert re.search(r"^mypy\.+Passed$", result.stdout, re.M), result.stdout
    assert run("git", "status", "--porcelain", cwd=app).stdout == ""
