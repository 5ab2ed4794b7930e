"""Link an app checkout to this stack: one relative symlink per line of links.txt.

A file or folder in the way is moved to <name>.backup-<UTC time>, never deleted. The links
made are listed in a block of the app's .git/info/exclude: that keeps them out of git even
before the app's own .gitignore lists them (a newer stack may add links), and tells the next
run which links it made, so that one links.txt no longer lists is removed while it is still a
link into this stack, and left alone otherwise. Without the block (an app linked by an older
stack, or not a git checkout) the links made are the app's symlinks into this stack.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

from .errors import StackError

MANIFEST = "links.txt"
BEGIN = "# links into the stack, made by its link tool (./stack link)"
END = "# end of links into the stack"
# Markers older stacks wrote; their blocks are read, then rewritten with BEGIN.
OLD_BEGINS = ("# links into the stack, made by its scripts/link-app.sh",)
SKIP_DIRS = {".git", "node_modules", ".venv"}
LINKED_APP = ".linked-app"  # the app linked last: whose packages `build` builds in


def read_manifest(stack: Path) -> list[tuple[str, str]]:
    """links.txt as (path in app, path in stack) pairs. One link a line, two paths without
    spaces; blank lines and # comments are skipped."""
    pairs = []
    path = Path(stack) / MANIFEST
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2 or any(os.path.isabs(f) or ".." in f.split("/") for f in fields):
            raise StackError(
                f"{path}, line {number}: write '<path in app> <path in stack>', both relative "
                f"and inside their repo: {line.strip()!r}"
            )
        pairs.append((fields[0], fields[1]))
    return pairs


def _exclude_file(app: Path) -> Path | None:
    """The app's .git/info/exclude when the app is the top of a git checkout, else None."""

    def git(*args: str) -> str:
        command = ["git", "-C", str(app), "rev-parse", *args]
        found = subprocess.run(command, capture_output=True, text=True, check=False)
        return found.stdout.strip() if found.returncode == 0 else ""

    if git("--show-toplevel") != str(app):
        return None
    return Path(git("--path-format=absolute", "--git-path", "info/exclude"))


def _block(lines: list[str]) -> tuple[list[str] | None, list[str]]:
    """(the paths in our block, or None without one; the lines outside it)."""
    paths: list[str] | None = None
    others: list[str] = []
    inside = False
    for line in lines:
        if line == BEGIN or line in OLD_BEGINS:
            inside, paths = True, paths or []
        elif inside and line == END:
            inside = False
        elif inside:
            if line.startswith("/"):
                paths.append(line[1:])
        else:
            others.append(line)
    return paths, others


def _into(stack: Path, path: Path) -> bool:
    """Whether path is a symlink that resolves into the stack (dangling or not)."""
    return path.is_symlink() and Path(os.path.realpath(path)).is_relative_to(stack)


def _links_into(stack: Path, app: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(app):
        here = Path(folder)
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and here / d != stack]
        for name in [*files, *dirs]:
            if _into(stack, here / name):
                found.append((here / name).relative_to(app).as_posix())
    return sorted(found)


def _backup_name(path: Path) -> Path:
    base = f"{path}.backup-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    backup, n = Path(base), 1
    while backup.exists() or backup.is_symlink():
        backup, n = Path(f"{base}.{n}"), n + 1
    return backup


def link(stack_dir: Path, app_dir: Path) -> list[str]:
    """Make every link of the manifest in the app (an app checkout: check_app); return what
    to tell the user."""
    stack = Path(os.path.realpath(stack_dir))
    app = Path(os.path.realpath(app_dir))
    wanted: dict[str, Path] = {}
    for app_path, stack_path in read_manifest(stack):
        target = stack / stack_path
        if not (target.exists() or target.is_symlink()):
            raise StackError(
                f"{target} is missing: this stack checkout is incomplete (git status in {stack})"
            )
        wanted[app_path] = target

    exclude = _exclude_file(app)
    lines = exclude.read_text().splitlines() if exclude and exclude.is_file() else []
    recorded, others = _block(lines)
    previous = recorded if recorded is not None else _links_into(stack, app)

    said: list[str] = []
    counts = {"created": 0, "replaced": 0, "removed": 0, "kept": 0}
    for app_path, target in wanted.items():
        path = app / app_path
        path.parent.mkdir(parents=True, exist_ok=True)
        relative = os.path.relpath(target, os.path.realpath(path.parent))
        if path.is_symlink():
            if os.readlink(path) == relative:
                counts["kept"] += 1
                continue
            path.unlink()
            counts["replaced"] += 1
        elif path.exists():
            backup = _backup_name(path)
            path.rename(backup)
            said.append(f"moved {app_path} out of the way to {backup.relative_to(app)}")
            counts["replaced"] += 1
        else:
            counts["created"] += 1
        os.symlink(relative, path)

    for app_path in previous:
        if app_path in wanted:
            continue
        path = app / app_path
        if _into(stack, path):
            path.unlink()
            said.append(f"removed {app_path}: {MANIFEST} no longer lists it")
            counts["removed"] += 1
        elif path.exists() or path.is_symlink():
            said.append(
                f"left {app_path} alone: {MANIFEST} no longer lists it, "
                f"and it is no longer a link into {stack}"
            )

    if counts["created"] + counts["replaced"] + counts["removed"]:
        said.append(
            f"Linked {app} to {stack}: {counts['created']} created, {counts['replaced']} "
            f"replaced, {counts['removed']} removed, {counts['kept']} already in place."
        )
    if exclude:
        block = [BEGIN, *(f"/{p}" for p in wanted), END]
        if others + block != lines:
            exclude.parent.mkdir(parents=True, exist_ok=True)
            exclude.write_text("\n".join(others + block) + "\n")
    record = stack / LINKED_APP
    if not record.is_file() or record.read_text().strip() != str(app):
        record.write_text(f"{app}\n")
    return said


def linked_app(stack: Path) -> Path | None:
    """The app linked to this stack last, if any."""
    record = Path(stack) / LINKED_APP
    if not record.is_file():
        return None
    return Path(record.read_text().strip())


def app_or_linked(stack: Path, app: Path | None) -> Path:
    """`app` (--app), else the app linked last, as an absolute path; an error without one."""
    app = app or linked_app(stack)
    if app is None:
        raise StackError(
            f"no app linked to this stack: name it with --app PATH, or link one with "
            f"{_quote(Path(stack) / 'install.sh')} --app PATH"
        )
    return Path(app).resolve()


# What makes a folder an app checkout (made by copier from the app template, or by hand in
# the same layout).
APP_LAYOUT = (".env.example", "backend/", "frontend/")


def _quote(path: Path) -> str:
    """A path as it pastes into a shell."""
    return shlex.quote(str(path))


def check_app(stack: Path, app: Path) -> Path:
    """The app checkout at `app`, as an absolute path; an error, before anything is written,
    when it is missing, is the stack or a folder inside it, or lacks the app's layout."""
    stack = Path(os.path.realpath(stack))
    given = Path(app)
    if not given.is_dir():
        raise StackError(
            f"app folder {_quote(given)} not found: name the app's checkout with --app PATH "
            f"(the folder holding {', '.join(APP_LAYOUT)})"
        )
    found = Path(os.path.realpath(given))
    if found == stack or found.is_relative_to(stack):
        raise StackError(
            f"{_quote(found)} is {'this stack' if found == stack else 'a folder inside this stack'}"
            f", not an app: name the app's own checkout, the folder holding "
            f"{', '.join(APP_LAYOUT)}, e.g. {_quote(stack / 'install.sh')} --app ../APP"
        )
    missing = [
        name
        for name in APP_LAYOUT
        if not ((found / name).is_dir() if name.endswith("/") else (found / name).is_file())
    ]
    if missing:
        raise StackError(
            f"{_quote(found)} is not an app checkout: it has no {', '.join(missing)}. Name the "
            f"folder of the app's checkout (holding {', '.join(APP_LAYOUT)}) with --app PATH"
        )
    return found
