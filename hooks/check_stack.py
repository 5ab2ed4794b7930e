"""Before an app's `copier update` writes anything: its stack must be where the app links,
at the version the app is updated to or newer.

Without it the update would render the new files and then fail in the link task, leaving
the app half-updated. The stack is at stack_path of the app's answers, or at the one given
with `-d stack_path=NEW`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from packaging.version import InvalidVersion, Version  # comes with copier

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "stack-template"))
from stacktool.answers import ANSWERS_FILE, StackError  # noqa: E402
from stacktool.answers import read_answers as answers  # noqa: E402


def version_of(commit: str) -> Version | None:
    """The PEP 440 version of a `_commit` (git describe), as copier reads it; None for a
    commit that names no version."""
    described = re.match(r"^(.+)-(\d+)-g(\w+)$", commit)
    text = f"{described[1]}.post{described[2]}+{described[3]}" if described else commit
    try:
        return Version(text)
    except InvalidVersion:
        return None


def problem(app: Path, stack_path: str, version_to: str) -> str | None:
    """Why the update must not start, or None."""
    path = stack_path or str(answers(app).get("stack_path") or "")
    stack = app / path
    if not (stack / ANSWERS_FILE).is_file():
        return (
            f"no stack at stack_path {path} ({os.path.abspath(stack)}); nothing was changed. "
            "Move the stack back, or update with -d stack_path=NEW (relative to the app)."
        )
    commit = str(answers(stack).get("_commit") or "")
    found, wanted = version_of(commit), version_of(version_to)
    if found is not None and wanted is not None and found < wanted:
        return (
            f"the stack at stack_path {path} ({os.path.abspath(stack)}) is at template version "
            f"{commit}, older than {version_to}, the app's new version; nothing was changed. "
            f"Update the stack first (copier update in {os.path.abspath(stack)}, as the "
            "template's README says), then the app."
        )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-path", default="", help="the one given with -d, if any")
    parser.add_argument("--version-to", default="", help="the version the app is updated to")
    parser.add_argument("--app-dir", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    try:
        if answers(args.app_dir).get("repo") != "app":
            return 0
        found = problem(args.app_dir, args.stack_path, args.version_to)
    except StackError as error:
        found = str(error)
    if found:
        print(f"error: {found}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
