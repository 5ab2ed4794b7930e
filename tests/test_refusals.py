"""Refuse before touching: the stack tool and the app's make targets under wrong arguments,
odd .env files and missing tools end in one `error:` line naming the fix, never a traceback,
and change nothing they were pointed at."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import COPIER, POSIX_TOOLS, answers_of, bootstrap, releases, run
from stacktool import cli

# ---- Every subcommand, from the tool's own parser ------------------------------------------


def subcommands() -> list[tuple[list[str], bool]]:
    """(words, takes --app) of every subcommand, nested ones (swarm deploy) included; a
    required argument gets a valid value (the only one is swarm scale's N)."""
    found = []

    def walk(parser, words: list[str]) -> None:
        nested = [a for a in parser._actions if a.choices and hasattr(a, "add_parser")]
        if nested:
            for name, sub in nested[0].choices.items():
                walk(sub, [*words, name])
            return
        required = [a for a in parser._actions if not a.option_strings and a.nargs is None]
        assert [a.metavar for a in required] in ([], ["N"]), words
        takes_app = any("--app" in a.option_strings for a in parser._actions)
        found.append(([*words, *("2" for _ in required)], takes_app))

    walk(cli.parser(), [])
    return [*found, (["env", "--get", "DOMAIN"], True)]


COMMANDS = subcommands()
# What needs neither Docker nor a .env already there: these may succeed (link and env create
# the .env, `install --app` is both; `lock --app` pins the app's packages, none here).
NO_DOCKER = {"version", "link", "env", "install", "lock"}


@dataclass
class Place:
    """A private copy of the default pair, readable by the user who runs the tool."""

    root: Path
    stack: Path
    app: Path
    user: list[str]  # the command prefix that runs as a user who is not root
    env: dict[str, str]

    def tool(self, *words: str, app: Path | None = None, cwd: Path | None = None):
        argv = [*words, *(["--app", str(app)] if app is not None else [])]
        return self.run("python3", self.stack / "stack", *argv, cwd=cwd or self.stack)

    def run(self, *command, cwd: Path):
        # Without the outer make's variables (make test), which make the inner one say
        # "Entering directory".
        outer = ["-u", "MAKEFLAGS", "-u", "MFLAGS", "-u", "MAKELEVEL"]
        return run(*self.user, "env", *outer, *self.env_words(), *command, cwd=cwd, check=False)

    def state(self, repo: Path) -> str:
        """git status of the repo, ignored files included (as its owner: git refuses others)."""
        result = self.run("git", "status", "--porcelain", "--ignored", cwd=repo)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def env_words(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.env.items()]


@pytest.fixture
def place(generate) -> Iterator[Place]:
    """The pair in a folder with a space, owned by `nobody` when the tests run as root
    (root reads any file: an unreadable .env needs another user), with a PATH of python3,
    git, make and POSIX basics: no docker, no uv, no npm."""
    source = generate()
    root = Path(tempfile.mkdtemp(prefix="refusals "))
    root.chmod(0o755)
    base = root / "work dir"
    shutil.copytree(source.app.parent, base, symlinks=True)
    app, stack = base / source.app.name, base / source.stack.name
    dotenv = app / ".env"
    lines = dotenv.read_text().splitlines()
    data = [
        f"DATA_ROOT={root / 'data'}" if line.startswith("DATA_ROOT=") else line for line in lines
    ]
    dotenv.write_text("\n".join(data) + "\n")
    (stack / ".linked-app").write_text(f"{app}\n")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for name in (*POSIX_TOOLS, "make", "readlink", "awk", "python3"):
        found = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
        assert found, f"{name} is not installed"
        (bin_dir / name).symlink_to(found)
    user = []
    if os.geteuid() == 0:
        run("chown", "-R", "nobody:", root)
        user = ["runuser", "-u", "nobody", "--"]
    env = {"PATH": str(bin_dir), "HOME": str(root), "LC_ALL": "C.UTF-8"}
    try:
        yield Place(root, stack, app, user, env)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def assert_refused(result, says: str = "") -> str:
    """Exit 1 (make: 2), stderr ending in one `error:` line, no traceback; that line."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode in (1, 2), output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, output
    if lines[-1].startswith("make: ***"):
        lines.pop()
    assert lines[-1] == errors[0], output
    assert says in errors[0], output
    return errors[0]


def tool_targets(app: Path) -> list[str]:
    """The app's make targets that run the stack's tool."""
    targets, current = [], ""
    for line in (app / "Makefile").read_text().splitlines():
        if line[:1].isalpha() and ":" in line and "=" not in line.split(":", 1)[0]:
            current = line.split(":", 1)[0]
        elif line.startswith("\t") and "$(STACK_TOOL)" in line and current not in targets:
            targets.append(current)
    assert {"deploy", "backup", "restore"} <= set(targets), targets
    return targets


def run_everything(place: Place, app: Path | None, may_succeed: set[str], says: str) -> None:
    """Every subcommand (with --app app where it takes one) and make target, in turn."""
    for words, takes_app in COMMANDS:
        result = place.tool(*words, app=app if takes_app else None)
        if words[0] in may_succeed or words == ["version"]:
            output = result.stdout + result.stderr
            assert "Traceback" not in output and result.returncode in (0, 1), (words, output)
            if result.returncode:
                assert_refused(result)
        else:
            assert_refused(result, says if words[0] not in NO_DOCKER else "")


def run_make(place: Place, says: str, e2e_says: str = "") -> None:
    """Each make target that runs the tool; `make e2e` (the tool reads .env, then npm runs
    the browser test) says `e2e_says` where given."""
    for target in tool_targets(place.app):
        expected = e2e_says if target == "e2e" and e2e_says else says
        assert_refused(place.run("make", target, cwd=place.app), expected)


NO_NPM = "npm not found: install Node.js"


def test_without_docker_each_command_that_needs_it_says_so(place):
    run_everything(place, place.app, NO_DOCKER, "docker not found: install Docker Engine")
    run_make(place, "docker not found", NO_NPM)


def test_without_an_env_nothing_breaks(place):
    (place.app / ".env").unlink()
    run_everything(place, place.app, NO_DOCKER, "docker not found")
    run_make(place, "docker not found", NO_NPM)


@pytest.mark.parametrize("kind", ["unreadable", "binary"])
def test_an_env_that_cannot_be_read_is_named(place, kind):
    dotenv = place.app / ".env"
    if kind == "unreadable":
        dotenv.chmod(0)
    else:
        dotenv.write_bytes(b"\xff\xfe\x00\x01DOMAIN=\x80\x81\n")
    before = dotenv.read_bytes()
    run_everything(place, place.app, set(), str(dotenv))
    run_make(place, str(dotenv))
    assert dotenv.read_bytes() == before


def test_a_missing_app_is_named(place):
    missing = place.root / "no app here"
    run_everything(place, missing, set(), f"'{missing}' not found")
    assert not missing.exists()


def test_the_stack_as_the_app_is_refused_and_left_as_it_was(place):
    state = place.state(place.stack)
    for app in (place.stack, place.stack / "frontend"):
        run_everything(place, app, set(), "not an app: name the app's own checkout")
    assert place.state(place.stack) == state
    assert (place.stack / ".linked-app").read_text() == f"{place.app}\n"


def test_a_fresh_clone_says_it_is_not_linked(place):
    stack = place.root / "fresh stack"
    app = place.root / "fresh app"
    for source, clone in ((place.stack, stack), (place.app, app)):
        place.run("git", "clone", "--quiet", source, clone, cwd=place.root)
    fresh = Place(place.root, stack, app, place.user, place.env)
    # The stack knows no app: each command that needs one says how to link one.
    for words, _ in COMMANDS:
        if words[0] in ("install", "build"):  # they build the stack alone: Docker first
            assert_refused(fresh.tool(*words), "docker not found")
        elif words[0] == "lock":  # the stack's own packages, resolved by uv: test_locks.py
            continue
        elif words != ["version"]:
            assert_refused(fresh.tool(*words), "no app linked to this stack")
    # The app's make targets name the command that links it.
    for target in tool_targets(app):
        assert_refused(
            fresh.run("make", target, cwd=app),
            "not linked to a stack: run STACK/install.sh --app .",
        )


# ---- Section 1: nothing written where the target is wrong ------------------------------------


@pytest.mark.parametrize("target", ["the stack", "an empty folder", "a folder inside the stack"])
def test_install_app_refuses_what_is_no_app_before_any_write(place, target):
    folder = {
        "the stack": place.stack,
        "an empty folder": place.root / "empty",
        "a folder inside the stack": place.stack / "frontend",
    }[target]
    folder.mkdir(exist_ok=True)
    state = place.state(place.stack)
    exclude = (place.stack / ".git/info/exclude").read_text()
    before = sorted(p.name for p in folder.iterdir())
    result = place.run("sh", place.stack / "install.sh", "--app", folder, cwd=folder)
    error = assert_refused(result)
    assert str(folder) in error and ".env.example, backend/, frontend/" in error
    assert sorted(p.name for p in folder.iterdir()) == before
    assert place.state(place.stack) == state
    assert (place.stack / ".git/info/exclude").read_text() == exclude
    assert (place.stack / ".linked-app").read_text() == f"{place.app}\n"


def test_app_update_refuses_a_stack_older_than_its_new_version(template, tmp_path):
    """From the oldest release: the app updated before its stack changes nothing."""
    oldest = releases(template)[0]
    team = bootstrap(template, tmp_path, oldest)
    app = team.dev()
    ignored = run("git", "status", "--porcelain", "--ignored", cwd=app).stdout
    failed = run(*COPIER, "update", "--trust", "--defaults", cwd=app, check=False)
    assert failed.returncode != 0
    assert f"is at template version {oldest}, older than" in failed.stderr, failed.stderr
    assert "Update the stack first" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert run("git", "status", "--porcelain", cwd=app).stdout == ""
    assert run("git", "status", "--porcelain", "--ignored", cwd=app).stdout == ignored
    assert answers_of(app)["_commit"] == oldest
