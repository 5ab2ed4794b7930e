#!/usr/bin/env python3
"""Put this app's stack in DIR (default: stack_path of .copier-answers.yml), link the app.

The stack is cloned from STACK_REPO_URL (default: stack_repo_url of the answers) at the
template version the app records (_commit), or else generated from the template source and
that version, with the app's answers. copier runs this too, right after it generated the
app (--no-link: it links later), and CI runs it in a fresh clone. Needs copier unless cloning.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from answers import ANSWERS_FILE, StackError, parse, read_answers

APP = Path(__file__).resolve().parent.parent
# Answers only the app has (copier.yml asks them when repo == 'app'; a test compares); every
# other answer is shared with the stack.
APP_ONLY = {"repo", "stack_path", "package", "stack_repo_url", "data_root", "user_model"}


def stack_answers(answers: dict) -> dict:
    """The answers to give the stack: the app's shared answers, and repo=stack."""
    shared = {k: v for k, v in answers.items() if not k.startswith("_") and k not in APP_ONLY}
    return {**shared, "repo": "stack"}


def is_remote(src: str) -> bool:
    return "://" in src or src.startswith(("gh:", "gl:", "git@"))


def resolve_src(src: str, dst_path: str | None, app: Path) -> str:
    """Make a local template path absolute.

    copier records a local path as typed, relative to where it ran. Right after generation
    that place is the app folder minus the typed destination (dst_path); with an absolute
    dst_path it is unknown, and the shell's $PWD is the best remaining guess. Later (CI) it
    is unknown too: a relative path is then taken from the app folder.
    """
    if is_remote(src) or os.path.isabs(src):
        return src
    if dst_path is None:
        origin = app
    elif os.path.isabs(dst_path):
        origin = Path(os.environ.get("PWD", app))
    else:
        origin = app / os.path.relpath(".", dst_path)
    return os.path.normpath(origin / src)


def usable_ref(src: str, ref: str) -> str | None:
    """The version to check out, or None for the template's current state.

    A dirty local template is rendered as a synthetic version that exists only in copier's
    temporary clone; then the stack is made from the same working tree.
    """
    if not ref or is_remote(src):
        return ref or None
    found = subprocess.run(
        ["git", "-C", src, "rev-parse", "--verify", "--quiet", ref + "^{commit}"],
        capture_output=True,
        check=False,
    )
    return ref if found.returncode == 0 else None


def generate(answers: dict, dst_path: str | None, stack: Path) -> None:
    src = resolve_src(str(answers["_src_path"]), dst_path, APP)
    if not is_remote(src) and not Path(src, "copier.yml").is_file():
        sys.exit(
            f"error: cannot find the template at {src}: set STACK_REPO_URL to the stack's git "
            "URL, or generate the app from an absolute template path or a git URL"
        )
    ref = usable_ref(src, str(answers.get("_commit") or ""))
    print(f"No stack in {stack} yet: generating it from {src} {ref or '(this state)'}")
    try:
        from copier import run_copy
        from copier.errors import CopierError
    except ImportError:
        sys.exit("error: copier not found: pip install copier==9.19.1")
    try:
        data = stack_answers(answers)
        run_copy(src, stack, data, vcs_ref=ref, defaults=True, unsafe=True, quiet=True)
    except CopierError as error:
        sys.exit(f"error: generating the stack in {stack} failed: {error}")


def version_commit(stack: Path, version: str) -> str | None:
    """The newest commit of the cloned stack whose answers record the template `version`."""
    git = ["git", "-C", str(stack)]
    changes = subprocess.run(
        [*git, "rev-list", "HEAD", "--", ANSWERS_FILE],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for newer, commit in zip([None, *changes], changes):
        show = [*git, "show", f"{commit}:{ANSWERS_FILE}"]
        text = subprocess.run(show, capture_output=True, text=True, check=True).stdout
        try:
            answers = parse(text, f"{commit}:{ANSWERS_FILE}")
        except StackError:  # the YAML form, without PyYAML: older than any app that has this
            return None
        if str(answers.get("_commit")) == version:
            return "HEAD" if newer is None else f"{newer}^"
    return None


def clone(url: str, version: str, stack: Path) -> None:
    """Clone the stack and check out the version the app was generated with (its _commit):
    the stack's default branch may already be newer than this app."""
    subprocess.run(["git", "clone", "--quiet", url, str(stack)], check=True)
    commit = version_commit(stack, version) if version else "HEAD"
    if commit is None:
        sys.exit(
            f"error: no commit of {url} is at template version {version} (the app's _commit): "
            "update the app (copier update) or the stack to the same version"
        )
    subprocess.run(["git", "-C", str(stack), "checkout", "--quiet", commit], check=True)
    print(f"Stack at template version {version or '(unrecorded)'}: {url} {commit}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", nargs="?", help="where it goes (default: stack_path)")
    parser.add_argument("--no-link", action="store_true", help="only get the stack")
    parser.add_argument("--dst-path", help=argparse.SUPPRESS)  # as typed to copier copy
    args = parser.parse_args(argv)
    try:
        answers = read_answers(APP)
    except StackError as error:
        sys.exit(f"error: {error}")
    stack = Path(os.path.normpath(APP / (args.dir or answers["stack_path"])))
    url = os.environ.get("STACK_REPO_URL") or answers.get("stack_repo_url")
    if (stack / ANSWERS_FILE).is_file():
        print(f"Using the stack in {stack}")
    elif url:
        clone(url, str(answers.get("_commit") or ""), stack)
    else:
        generate(answers, args.dst_path, stack)
    if not args.no_link:
        link = [sys.executable, str(stack / "stack"), "link", str(APP)]
        return subprocess.run(link, check=False).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
