"""The app's own packages: listed in app files (frontend/package-app.json,
backend/requirements-app.txt), installed on top of the stack's, and the stack's files are
never written from the app side. The images pick them up too (test_docker.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import copier_copy, run, write_packages

pytestmark = pytest.mark.slow

STACK_NPM_FILES = ("package.json", "package-lock.json", ".npmrc", "install-app-packages.mjs")


@pytest.fixture(scope="module")
def pair(template, tmp_path_factory) -> tuple[Path, Path]:
    app = tmp_path_factory.mktemp("packages") / "work dir" / "igny8"
    copier_copy(template, app, repo="app")
    return app, app.parent / "igny8-stack"


def lock_npm_packages(app: Path, stack: Path) -> None:
    """The app's package-app.lock.json, as the app's README says."""
    run(stack / "stack", "lock", "--app", ".", cwd=app)


def stack_npm_files(stack: Path) -> dict[str, bytes]:
    return {name: (stack / "frontend" / name).read_bytes() for name in STACK_NPM_FILES}


def test_npm_ci_installs_the_app_packages_and_leaves_the_stack_alone(pair):
    app, stack = pair
    before = stack_npm_files(stack)
    write_packages(app, {"is-number": "7.0.0"})
    lock_npm_packages(app, stack)

    run("npm", "ci", "--no-audit", "--no-fund", cwd=app / "frontend")
    version = run("node", "-p", "require('is-number/package.json').version", cwd=app / "frontend")
    assert version.stdout.strip() == "7.0.0"
    assert (app / "frontend/node_modules/react").is_dir()

    # A developer who reaches for `npm install NAME` is stopped, told what to write where,
    # and neither the stack (through the links) nor node_modules is changed.
    result = run(
        "npm",
        "install",
        "dayjs@1.11.19",
        "--no-audit",
        "--no-fund",
        cwd=app / "frontend",
        check=False,
    )
    assert result.returncode != 0
    assert (
        'Add "dayjs": "1.11.19" to the "dependencies" of package-app.json, run '
        "../igny8-stack/stack lock --app . in the app's folder and run npm ci" in result.stderr
    )
    assert not (app / "frontend/node_modules/dayjs").exists()
    version = run("node", "-p", "require('is-number/package.json').version", cwd=app / "frontend")
    assert version.stdout.strip() == "7.0.0"
    assert stack_npm_files(stack) == before
    assert run("git", "status", "--porcelain", cwd=stack).stdout == ""
    assert run("git", "status", "--porcelain", cwd=app).stdout == (
        " M frontend/package-app.json\n M frontend/package-app.lock.json\n"
    )

    # Following the message works.
    write_packages(app, {"is-number": "7.0.0", "dayjs": "1.11.19"})
    lock_npm_packages(app, stack)
    run("npm", "ci", "--no-audit", "--no-fund", cwd=app / "frontend")
    version = run("node", "-p", "require('dayjs/package.json').version", cwd=app / "frontend")
    assert version.stdout.strip() == "1.11.19"

    # A bare `npm install` keeps the app's packages; `npm uninstall NAME` is stopped too.
    run("npm", "install", "--no-audit", "--no-fund", cwd=app / "frontend")
    assert (app / "frontend/node_modules/dayjs").is_dir()
    assert (app / "frontend/node_modules/is-number").is_dir()
    result = run("npm", "uninstall", "dayjs", cwd=app / "frontend", check=False)
    assert result.returncode != 0
    assert (
        "To remove one, delete it from package-app.json, run ../igny8-stack/stack lock --app . "
        "in the app's folder and run npm ci" in result.stderr
    )
    assert (app / "frontend/node_modules/dayjs").is_dir()
    assert (app / "frontend/node_modules/is-number").is_dir()
    assert stack_npm_files(stack) == before
    assert run("git", "status", "--porcelain", cwd=stack).stdout == ""


@pytest.mark.parametrize(
    ("dependencies", "message"),
    [
        (
            {"is-number": "^7.0.0"},
            'is-number: "^7.0.0" is not an exact version; write it as "1.2.3"',
        ),
        (
            {"react": "19.0.0"},
            "react is already a stack dependency (19.3.1); remove it from package-app.json",
        ),
    ],
    ids=["range", "stack-package"],
)
def test_a_bad_package_list_fails_npm_ci_naming_the_fix(pair, dependencies, message):
    app, stack = pair
    before = stack_npm_files(stack)
    write_packages(app, dependencies)
    result = run("npm", "ci", "--no-audit", "--no-fund", cwd=app / "frontend", check=False)
    assert result.returncode != 0
    assert f"error: package-app.json: {message}" in result.stderr
    assert stack_npm_files(stack) == before


def test_app_ci_installs_the_app_requirements(pair):
    """The app's CI installs its requirements-app.lock beside the stack's lock, hashed."""
    app, _ = pair
    workflow = (app / ".github/workflows/ci.yml").read_text()
    install = (
        "pip install --require-hashes -r backend/requirements.lock -r backend/requirements-app.lock"
    )
    assert install in workflow
    requirements = (app / "backend/requirements-app.txt").read_text()
    assert all(line.startswith("#") for line in requirements.splitlines())
