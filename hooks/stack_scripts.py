"""Shared by the hooks that call the stack's own scripts (the server-side logic lives there)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


class HookError(Exception):
    """A failure with a message that names the fix."""


def in_real_destination(operation: str, dst: Path) -> bool:
    """Tell if this task run is in the real project rather than a throwaway copy.

    On `copier update` tasks also run in temporary renders of the old and new template
    versions; those are not git repositories, the real destination always is.
    """
    return operation == "copy" or (dst / ".git").exists()


def stack_script(stack_dir: Path, name: str) -> Path:
    """Return the stack's script `scripts/<name>`, or explain what is missing."""
    script = stack_dir / "scripts" / name
    if not script.is_file():
        raise HookError(
            f"{script} not found: {stack_dir} is not a generated stack. "
            "Point stack_path at a <slug>-stack repo (copier copy -d repo=stack ...)."
        )
    return script


def run_stack_script(stack_dir: Path, name: str, app_dir: Path) -> None:
    """Run a stack script on the app in list form (paths with spaces are safe)."""
    script = stack_script(stack_dir, name)
    result = subprocess.run(["bash", str(script), str(app_dir)], check=False)
    if result.returncode != 0:
        raise HookError(f"{script} failed with exit code {result.returncode}")


def main_for(name: str, argv: list[str] | None) -> int:
    """The whole of a hook that runs one stack script on the current app folder."""
    parser = argparse.ArgumentParser(description=f"Run the stack's scripts/{name} on this app.")
    parser.add_argument("--operation", default="copy")
    parser.add_argument("--stack-dir", type=Path, required=True)
    parser.add_argument("--app-dir", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    if not in_real_destination(args.operation, args.app_dir):
        return 0
    try:
        run_stack_script(args.stack_dir, name, args.app_dir)
    except HookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
