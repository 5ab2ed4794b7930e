"""The app's own npm packages are locked: `./stack lock --app` writes the app-owned
frontend/package-app.lock.json (its packages and all they bring, as npm resolved them on top
of the stack's package-lock.json), and `npm ci` installs exactly that tree. Real npm, against
the npm registry."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest
from helpers import copier_copy, record_timing, run, write_packages

pytestmark = pytest.mark.slow

# is-odd 3.0.1 needs is-number ^6: beside the app's is-number 7 it is nested under is-odd.
PACKAGES = {"is-number": "7.0.0", "is-odd": "3.0.1"}
LOCK = "frontend/package-app.lock.json"
LISTING = "frontend/package-app.json"


@pytest.fixture(scope="module")
def pair(template, tmp_path_factory) -> tuple[Path, Path]:
    app = tmp_path_factory.mktemp("npm locks") / "work dir" / "shop"
    copier_copy(template, app, repo="app")
    return app, app.parent / "shop-stack"


def lock_app(app: Path, stack: Path, check=True, env=None):
    """As the app's README says: the stack tool, from the app's folder."""
    return run(stack / "stack", "lock", "--app", ".", cwd=app, check=check, env=env)


def installed_tree(frontend: Path) -> dict[str, str]:
    """node_modules path -> version of every installed package, nested ones included."""
    tree: dict[str, str] = {}

    def walk(modules: Path, prefix: str) -> None:
        if not modules.is_dir():
            return
        for entry in sorted(modules.iterdir()):
            if entry.name.startswith("."):
                continue
            found = sorted(entry.iterdir()) if entry.name.startswith("@") else [entry]
            for package in found:
                manifest = package / "package.json"
                if package.is_symlink() or not manifest.is_file():
                    continue
                name = entry.name if package == entry else f"{entry.name}/{package.name}"
                path = f"{prefix}node_modules/{name}"
                tree[path] = json.loads(manifest.read_text())["version"]
                walk(package / "node_modules", f"{path}/")

    walk(frontend / "node_modules", "")
    return tree


def fresh_npm_ci(frontend: Path, name: str) -> dict[str, str]:
    shutil.rmtree(frontend / "node_modules", ignore_errors=True)
    start = time.monotonic()
    run("npm", "ci", "--no-audit", "--no-fund", cwd=frontend)
    record_timing(f"[npm lock] npm ci with the app's packages ({name})", time.monotonic() - start)
    return installed_tree(frontend)


def test_the_app_lock_holds_every_package_and_npm_ci_installs_the_same_tree_twice(pair):
    app, stack = pair
    before = {p: p.read_bytes() for p in (stack / "frontend").glob("package*.json")}
    write_packages(app, PACKAGES)
    said = lock_app(app, stack).stdout
    assert f"Wrote {app / LOCK} (3 packages beside the stack's)" in said

    lock = json.loads((app / LOCK).read_text())
    assert lock["dependencies"] == PACKAGES
    locked = {path: entry["version"] for path, entry in lock["packages"].items()}
    # The transitive one too, where npm puts it, each with its integrity.
    assert locked == {
        "node_modules/is-number": "7.0.0",
        "node_modules/is-odd": "3.0.1",
        "node_modules/is-odd/node_modules/is-number": "6.0.0",
    }
    assert all(entry["integrity"].startswith("sha512-") for entry in lock["packages"].values())

    first = fresh_npm_ci(app / "frontend", "first")
    second = fresh_npm_ci(app / "frontend", "second")
    assert first == second
    assert {path: first.get(path) for path in locked} == locked
    # The rest is the stack's tree, as its lock fixes it.
    stack_lock = json.loads((stack / "frontend/package-lock.json").read_text())["packages"]
    for path, version in first.items():
        if path not in locked:
            assert stack_lock[path]["version"] == version, path
    assert not (app / "frontend/node_modules/.app-packages").exists()
    # The hook against `npm install NAME` is still in place.
    assert (app / "frontend/node_modules/app-packages-check").is_symlink()
    assert {p: p.read_bytes() for p in (stack / "frontend").glob("package*.json")} == before
    assert run("git", "status", "--porcelain", cwd=stack).stdout == ""

    # The integrity npm checks is the app lock's.
    text = (app / LOCK).read_text()
    (app / LOCK).write_text(
        text.replace(
            lock["packages"]["node_modules/is-odd"]["integrity"], "sha512-" + "A" * 86 + "=="
        )
    )
    result = run("npm", "ci", "--no-audit", "--no-fund", cwd=app / "frontend", check=False)
    assert result.returncode != 0
    assert "EINTEGRITY" in result.stderr
    (app / LOCK).write_text(text)


def test_a_stale_or_missing_lock_fails_npm_ci_naming_the_lock_command(pair):
    app, stack = pair
    write_packages(app, PACKAGES)
    lock_app(app, stack)
    write_packages(app, {**PACKAGES, "dayjs": "1.11.19"})
    result = run("npm", "ci", "--no-audit", "--no-fund", cwd=app / "frontend", check=False)
    assert result.returncode != 0
    assert (
        "error: package-app.lock.json: it does not match package-app.json (it locks other "
        '"dependencies"): run ../shop-stack/stack lock --app . in the app\'s folder, and commit '
        "package-app.lock.json"
    ) in result.stderr

    (app / LOCK).unlink()
    result = run("npm", "ci", "--no-audit", "--no-fund", cwd=app / "frontend", check=False)
    assert result.returncode != 0
    assert (
        "error: package-app.lock.json: not found: run ../shop-stack/stack lock --app . "
        "in the app's folder"
    ) in result.stderr

    # A dependency of a locked package that the merged tree no longer satisfies (as after a
    # stack update that moved a package they share): here the nested is-number 6 is gone.
    lock_app(app, stack)
    kept = (app / LOCK).read_text()
    lock = json.loads(kept)
    del lock["packages"]["node_modules/is-odd/node_modules/is-number"]
    (app / LOCK).write_text(json.dumps(lock))
    result = run("npm", "ci", "--no-audit", "--no-fund", cwd=app / "frontend", check=False)
    assert result.returncode != 0
    assert (
        "error: package-app.lock.json: is-odd 3.0.1 needs is-number@^6.0.0 and would get 7.0.0"
    ) in result.stderr
    assert "run ../shop-stack/stack lock --app . in the app's folder" in result.stderr

    # Following the message works.
    (app / LOCK).write_text(kept)
    tree = fresh_npm_ci(app / "frontend", "after the relock")
    assert tree["node_modules/dayjs"] == "1.11.19"


def test_a_clash_with_a_stack_pin_is_an_error_naming_both_sides(pair):
    app, stack = pair
    stack_lock = json.loads((stack / "frontend/package-lock.json").read_text())["packages"]
    react = stack_lock["node_modules/react"]["version"]
    scheduler = stack_lock["node_modules/scheduler"]["version"]
    write_packages(app, {**PACKAGES})
    lock_app(app, stack)
    kept = (app / LOCK).read_text()

    # A package the stack has (react-dom's scheduler), at another version.
    write_packages(app, {"scheduler": "0.25.0"})
    result = lock_app(app, stack, check=False)
    assert result.returncode == 1
    assert (
        f"package-app.json (scheduler 0.25.0) would change scheduler from {scheduler}, which "
        "the stack's package-lock.json fixes at node_modules/scheduler, to 0.25.0"
    ) in result.stderr
    # A peer dependency on another React.
    write_packages(app, {"react-redux": "8.1.3"})
    result = lock_app(app, stack, check=False)
    assert result.returncode == 1
    assert "frontend/package-app.json clashes with the stack's" in result.stderr
    assert f"Found: react@{react}" in result.stderr
    assert 'peer react@"^16.8 || ^17.0 || ^18.0" from react-redux@8.1.3' in result.stderr
    assert (app / LOCK).read_text() == kept  # the app's lock is left as it was


def test_an_unknown_package_or_version_is_named_as_missing_not_as_a_clash(pair):
    app, stack = pair
    write_packages(app, {"is-number": "99.0.0"})
    result = lock_app(app, stack, check=False)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {app / LISTING}: is-number has no version 99.0.0 in the npm "
        "registry; correct the version (npm view is-number versions lists them)\n"
    )
    write_packages(app, {"@types/no-such-package-of-the-template": "1.0.0"})
    result = lock_app(app, stack, check=False)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {app / LISTING}: @types/no-such-package-of-the-template: no such "
        "package in the npm registry; correct the name\n"
    )


def test_locking_without_npm_says_what_to_install(pair, tmp_path):
    app, stack = pair
    write_packages(app, PACKAGES)
    bin_dir = tmp_path / "bin"  # a PATH with python3 and no npm
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    result = lock_app(app, stack, check=False, env={"PATH": str(bin_dir)})
    assert result.returncode == 1
    assert "npm not found: locking the app's npm packages needs Node.js with npm" in result.stderr
