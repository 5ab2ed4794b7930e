"""`./stack lock`: the backend's Python packages, pinned and hashed.

The stack's lock, backend/requirements.lock, holds every package the backend image installs
(requirements.txt and requirements-dev.txt with all they depend on); the app's lock,
APP/backend/requirements-app.lock, holds what the app's requirements-app.txt adds to it,
resolved with the stack's pins as constraints, so an app package cannot move one of them.
Both are made by uv (`uv pip compile --universal --generate-hashes`: one lock for every Python
version and platform); uv comes from PATH, else from PyPI into a cached virtualenv, checked
against the hashes of uv-requirements.txt.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import StackError

# uv's pin and hashes: the one place its version is written.
UV_REQUIREMENTS = Path(__file__).with_name("uv-requirements.txt")
UV = re.search(r"^uv==[^\s\\]+", UV_REQUIREMENTS.read_text(), re.M)[0]
STACK_LOCK = "backend/requirements.lock"
APP_REQUIREMENTS = "backend/requirements-app.txt"
APP_LOCK = "backend/requirements-app.lock"
STACK_HEADER = (
    "# Every package of the backend image, pinned and hashed: requirements-dev.txt resolved.\n"
    "# Installed with pip install --require-hashes. Regenerate: ./stack lock\n"
)
APP_HEADER = (
    "# The packages requirements-app.txt adds to the stack's requirements.lock, pinned and\n"
    "# hashed. Regenerate: <stack>/stack lock --app . (from the app's folder)\n"
)
DIGEST = "# requirements-app.txt sha256: "


def uv() -> list[str]:
    """The uv command: from PATH, else installed from PyPI once into ~/.cache, every file
    checked against its hash."""
    found = shutil.which("uv")
    if found:
        return [found]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = cache / "stack" / UV.replace("==", "-")
    binary = venv / "bin" / "uv"
    if not binary.exists():
        print(f"Installing {UV} from PyPI into {venv}", flush=True)
        for command in (
            [sys.executable, "-m", "venv", str(venv)],
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--require-hashes",
                "--requirement",
                str(UV_REQUIREMENTS),
            ],
        ):
            if subprocess.run(command, check=False).returncode != 0:
                raise StackError(
                    f"cannot install {UV} (checked against the hashes of {UV_REQUIREMENTS}): "
                    f"install uv yourself (pip install --require-hashes -r {UV_REQUIREMENTS}) "
                    "and run this again"
                )
    return [str(binary)]


def compile_lock(inputs: list[Path], python: str, constraints: Path | None = None) -> str:
    """uv's lock of `inputs` (pinned, hashed, for every platform and Python >= `python`)."""
    command = [
        *uv(),
        "pip",
        "compile",
        "--quiet",
        "--universal",
        f"--python-version={python}",
        "--generate-hashes",
        "--no-header",
        "--no-annotate",
        *map(str, inputs),
    ]
    if constraints:
        command += ["--constraints", str(constraints)]
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    found = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if found.returncode != 0:
        reason = " ".join(line.strip() for line in found.stderr.splitlines() if line.strip())
        raise LockError(reason or "uv pip compile failed")
    return found.stdout


class LockError(StackError):
    pass


def entries(lock: str) -> dict[str, str]:
    """The lock's entries by normalized package name: the `name==version ... --hash` text."""
    found: dict[str, str] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock.strip()):
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)", block)
        if match and not block.startswith("#"):
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = block.rstrip() + "\n"
    return found


def lock_stack(stack: Path, python: str) -> list[str]:
    """Write the stack's backend/requirements.lock, for Python `python` (the stack's)."""
    try:
        body = compile_lock([stack / "backend/requirements-dev.txt"], python)
    except LockError as error:
        raise StackError(f"cannot resolve backend/requirements-dev.txt: {error}") from None
    (stack / STACK_LOCK).write_text(STACK_HEADER + body)
    return [f"Wrote {stack / STACK_LOCK} ({len(entries(body))} packages)"]


def digest(requirements: str) -> str:
    """A digest of the requirement lines (comments and blank lines left out)."""
    lines = [line.split("#")[0].strip() for line in requirements.splitlines()]
    return hashlib.sha256("\n".join(line for line in lines if line).encode()).hexdigest()


def app_lock_text(stack: Path, app: Path, python: str) -> str:
    """The app's lock: what requirements-app.txt adds, resolved with the stack's pins for
    Python `python` (the stack's)."""
    requirements = app / APP_REQUIREMENTS
    if not requirements.is_file():
        raise StackError(f"{requirements} not found: create it, one name==version per line")
    text = requirements.read_text()
    header = f"{APP_HEADER}{DIGEST}{digest(text)}\n"
    if digest(text) == digest(""):
        return header
    stack_lock = stack / STACK_LOCK
    with tempfile.TemporaryDirectory(prefix="stack-lock-") as tmp:
        # uv takes constraints without hashes.
        constraints = Path(tmp, "stack-pins.txt")
        pins = (block.split(" ", 1)[0] for block in entries(stack_lock.read_text()).values())
        constraints.write_text("".join(f"{pin}\n" for pin in pins))
        try:
            body = compile_lock([requirements], python, constraints)
        except LockError as error:
            raise StackError(
                f"{requirements} clashes with the stack's pins in {stack_lock}: {error}. "
                "Change the app's pin, or the stack's (then ./stack lock in the stack)"
            ) from None
    stack_names = entries(stack_lock.read_text())
    added = [block for name, block in entries(body).items() if name not in stack_names]
    return header + "".join(added)


def lock_app(stack: Path, app: Path, python: str) -> list[str]:
    """Write APP/backend/requirements-app.lock."""
    text = app_lock_text(stack, app, python)
    (app / APP_LOCK).write_text(text)
    return [f"Wrote {app / APP_LOCK} ({len(entries(text))} packages beside the stack's)"]


def app_lock_is_current(app: Path) -> bool:
    """The app's lock is there and made from its requirements-app.txt as it is now."""
    lock, requirements = app / APP_LOCK, app / APP_REQUIREMENTS
    text = requirements.read_text() if requirements.is_file() else ""
    return lock.is_file() and f"{DIGEST}{digest(text)}\n" in lock.read_text()


def app_lock_for_build(stack: Path, app: Path | None, python: str) -> str:
    """The app's lock for an image build: its own when current; else (none yet, or
    requirements-app.txt changed since) resolved now, with a note to commit one."""
    if app is None or not (app / APP_REQUIREMENTS).is_file():
        return ""
    if app_lock_is_current(app):
        return (app / APP_LOCK).read_text()
    state = "is out of date" if (app / APP_LOCK).is_file() else "is missing"
    print(
        f"note: {app / APP_LOCK} {state}: resolving {APP_REQUIREMENTS} for this build; pin it "
        f"with {stack / 'stack'} lock --app {app} and commit the lock",
        flush=True,
    )
    return app_lock_text(stack, app, python)
