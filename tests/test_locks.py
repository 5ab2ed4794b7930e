"""The backend's Python packages are locked, every dependency pinned and hashed: the stack's
backend/requirements.lock (one per requirements.txt variant, committed in the template), and
the app's backend/requirements-app.lock, made by `./stack lock --app` from requirements-app.txt
with the stack's pins fixed. These tests resolve against PyPI (uv), as `./stack lock` does."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import jinja2
import pytest
from helpers import ENV, ROOT, Shell, copier_copy, readme_blocks, run

pytestmark = pytest.mark.slow

BACKEND = ROOT / "stack-template" / "backend"
LOCKS = {
    False: BACKEND / "{% if not use_celery %}requirements.lock{% endif %}",
    True: BACKEND / "{% if use_celery %}requirements.lock{% endif %}",
}
APP_PACKAGES = "humanize==4.17.0\nrequests==2.32.3\n"


def pins(text: str) -> dict[str, str]:
    """name -> version of each `name==version` line (names normalized, extras dropped)."""
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", text, re.M)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found}


def entries_without_hashes(lock: str) -> list[str]:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.strip())
    return [b.split()[0] for b in blocks if not b.startswith("#") and "--hash=sha256:" not in b]


@pytest.fixture(scope="module")
def pair(template, tmp_path_factory) -> tuple[Path, Path]:
    app = tmp_path_factory.mktemp("locks") / "work dir" / "shop"
    copier_copy(template, app, repo="app")
    return app, app.parent / "shop-stack"


@pytest.mark.parametrize("use_celery", [False, True], ids=["base", "celery"])
def test_each_stack_lock_pins_and_hashes_every_package_of_its_requirements(use_celery):
    lock = LOCKS[use_celery].read_text()
    direct = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        source = (BACKEND / f"{name}.jinja").read_text()
        direct |= pins(jinja2.Template(source).render(use_celery=use_celery))
    locked = pins(lock)
    assert {name: locked.get(name) for name in direct} == direct
    # Transitive ones too (Django's asgiref and sqlparse were unpinned before the locks).
    assert {"asgiref", "sqlparse", "packaging"} <= set(locked)
    assert ("celery" in locked) == use_celery
    assert entries_without_hashes(lock) == []


def test_stack_lock_command_reproduces_the_committed_lock(pair):
    """`./stack lock` in a generated stack (default answers) writes the lock it came with."""
    _, stack = pair
    lock = stack / "backend/requirements.lock"
    committed = lock.read_text()
    assert committed == LOCKS[False].read_text()
    lock.write_text("# spoilt\n")
    result = run("./stack", "lock", cwd=stack, env=ENV)
    assert "Wrote" in result.stdout and f"({len(pins(committed))} packages)" in result.stdout
    assert lock.read_text() == committed


def test_app_lock_adds_the_apps_packages_and_a_venv_installs_both_with_hashes(pair, tmp_path):
    """The app README's commands: lock the app's packages, install both locks in a venv."""
    app, stack = pair
    (app / "backend/requirements-app.txt").write_text(APP_PACKAGES)
    commands = readme_blocks(app / "README.md", "Your own packages")[0]
    assert commands[0] == "../shop-stack/stack lock --app ."
    shell = Shell(app)
    shell.follow(commands)
    lock = (app / "backend/requirements-app.lock").read_text()
    locked = pins(lock)
    # Its own packages and what they need beyond the stack's (whose sentry-sdk brings urllib3
    # and certifi); no stack package again.
    assert locked["humanize"] == "4.17.0" and locked["requests"] == "2.32.3"
    assert {"idna", "charset-normalizer"} <= set(locked)
    assert not set(locked) & set(pins((stack / "backend/requirements.lock").read_text()))
    assert entries_without_hashes(lock) == []
    python = app / ".venv/bin/python"
    run(python, "-c", "import django, humanize, requests, pytest")
    freeze = pins(run(python, "-m", "pip", "freeze", cwd=app).stdout)
    both = (stack / "backend/requirements.lock").read_text() + lock
    windows_only = set(re.findall(r"^(\S+)==\S+ ; sys_platform == 'win32'", both, re.M))
    expected = {name: v for name, v in pins(both).items() if name not in windows_only}
    assert {name: freeze.get(name) for name in expected} == expected
    shutil.rmtree(app / ".venv")


def test_an_app_package_that_clashes_with_a_stack_pin_is_an_error_naming_both(pair):
    app, stack = pair
    requirements = app / "backend/requirements-app.txt"
    requirements.write_text("Django==5.1.4\n")
    lock = app / "backend/requirements-app.lock"
    before = lock.read_bytes()
    result = run("./stack", "lock", "--app", app, cwd=stack, env=ENV, check=False)
    assert result.returncode == 1
    assert (
        f"{requirements} clashes with the stack's pins in {stack / 'backend/requirements.lock'}"
        in result.stderr
    )
    assert "django==5.1.4" in result.stderr and "django==5.2.19" in result.stderr
    assert lock.read_bytes() == before
    assert requirements.read_text() == "Django==5.1.4\n"


def test_a_build_resolves_an_out_of_date_app_lock_and_says_so(pair):
    """./stack build with a requirements-app.txt changed since its lock: the build gets a
    fresh resolve (with the stack's pins) and a note naming the command that pins it."""
    app, stack = pair
    (app / "backend/requirements-app.txt").write_text("humanize==4.17.0\n")
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, '.');"
        " from stacktool import lock; from stacktool.deployment import Stack;"
        f" stack = Path({str(stack)!r});"
        f" print(lock.app_lock_for_build(stack, Path({str(app)!r}), Stack(stack).python_version))"
    )
    result = run("python3", "-c", code, cwd=stack, env=ENV)
    assert f"{app / 'backend/requirements-app.lock'} is out of date" in result.stdout
    assert f"{stack / 'stack'} lock --app {app}" in result.stdout
    assert pins(result.stdout) == {"humanize": "4.17.0"}
    run("./stack", "lock", "--app", app, cwd=stack, env=ENV)
    result = run("python3", "-c", code, cwd=stack, env=ENV)
    assert "out of date" not in result.stdout
    assert result.stdout.rstrip("\n") == (app / "backend/requirements-app.lock").read_text().rstrip(
        "\n"
    )


def test_uv_comes_from_pypi_only_with_the_hashes_of_its_pin(pair, tmp_path):
    """Without uv on PATH, `./stack lock` installs the pinned uv checked against the hashes
    of stacktool/uv-requirements.txt: files that match none are refused, in one error line."""
    _, stack = pair
    env = {**ENV, "PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert shutil.which("uv", path=env["PATH"]) is None
    spoilt = tmp_path / "spoilt"
    shutil.copytree(stack, spoilt, symlinks=True)
    pin = spoilt / "stacktool/uv-requirements.txt"
    pin.write_text(re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, pin.read_text()))
    refused = run("./stack", "lock", cwd=spoilt, env=env, check=False)
    assert refused.returncode == 1
    assert "DO NOT MATCH THE HASHES" in refused.stderr
    assert refused.stderr.rstrip().splitlines()[-1].startswith("error: cannot install uv==")
    code = "import sys; sys.path.insert(0, '.'); from stacktool import lock; print(lock.uv()[0])"
    uv = run("python3", "-c", code, cwd=stack, env=env).stdout.splitlines()[-1]
    version = re.search(r"^uv==(\S+)", (stack / "stacktool/uv-requirements.txt").read_text(), re.M)
    assert run(uv, "--version").stdout.split()[:2] == ["uv", version[1]]
