"""Generate the stack an app links to when its stack path holds none yet.

The stack comes from the same template source and version as the app, with the app's
answers, so one `copier copy -d repo=app` gives both repositories.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# Answers only the app has; everything else is shared with the stack.
APP_ONLY = {"repo", "stack_path", "package", "stack_repo_url"}


def has_stack(stack_dir: Path) -> bool:
    return (stack_dir / ".copier-answers.yml").is_file()


def stack_answers(app_answers: dict) -> dict:
    """The answers to give the stack: the app's shared answers, and repo=stack."""
    shared = {
        key: value
        for key, value in app_answers.items()
        if not key.startswith("_") and key not in APP_ONLY
    }
    return {"repo": "stack", **shared}


def is_remote(src: str) -> bool:
    return "://" in src or src.startswith(("gh:", "gl:", "git@"))


def resolve_src(src: str, dst_path: str, cwd: Path) -> str:
    """Make a local template path absolute.

    copier records a local path as typed, relative to where it ran; tasks run in the
    destination, so that place is the task's folder minus a relative `dst_path`. With an
    absolute `dst_path` it is unknown, and the shell's $PWD is the best remaining guess.
    """
    if is_remote(src) or os.path.isabs(src):
        return src
    if os.path.isabs(dst_path):
        origin = Path(os.environ.get("PWD", cwd))
    else:
        origin = cwd / os.path.relpath(".", dst_path)
    return os.path.normpath(origin / src)


def usable_ref(src: str, ref: str) -> str | None:
    """The version to check out, or None for the template's current state.

    A dirty local template is rendered as a synthetic version that exists only in
    copier's temporary clone; then the stack is made from the same working tree.
    """
    if not ref:
        return None
    if is_remote(src):
        return ref
    found = subprocess.run(
        ["git", "-C", src, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return ref if found.returncode == 0 else None


def copier_command(src: str, ref: str | None, data_file: Path, stack_dir: Path) -> list[str]:
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults"]
    if ref:
        command += ["--vcs-ref", ref]
    return [*command, "--data-file", str(data_file), src, str(stack_dir)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--src", required=True, help="the template source, as copier recorded it")
    parser.add_argument("--ref", default="", help="the template version the app was made from")
    parser.add_argument("--dst-path", default=".", help="the app destination, as typed")
    parser.add_argument("--stack-dir", type=Path, required=True)
    parser.add_argument("--answers", required=True, help="the app's answers, as JSON")
    args = parser.parse_args(argv)

    if has_stack(args.stack_dir):
        print(f"Linking to the existing stack in {args.stack_dir}.")
        return 0
    src = resolve_src(args.src, args.dst_path, Path.cwd())
    if not is_remote(src) and not Path(src, "copier.yml").is_file():
        print(
            f"error: cannot find the template at {src}; run copier with an absolute template "
            "path or a git URL",
            file=sys.stderr,
        )
        return 1
    ref = usable_ref(src, args.ref)
    print(f"No stack in {args.stack_dir} yet: generating it from {src} {ref or '(working tree)'}.")
    with tempfile.TemporaryDirectory() as tmp:
        data_file = Path(tmp) / "answers.json"
        data_file.write_text(json.dumps(stack_answers(json.loads(args.answers))))
        result = subprocess.run(copier_command(src, ref, data_file, args.stack_dir), check=False)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
