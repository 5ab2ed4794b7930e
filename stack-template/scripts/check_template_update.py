#!/usr/bin/env python3
"""Report whether a newer version of the template this repo was generated from is out.

Exit 2 when one is; else 0, also when the template cannot be reached from here (a warning
says why): CI runs this as a report, never as a reason to fail the pipeline. Needs copier
on PATH.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def report(message: str) -> None:
    if os.environ.get("GITHUB_ACTIONS") == "true":
        message = f"::warning title=Template update::{message}"
    print(message)


def template_source() -> str:
    """Where the template is, as copier recorded it."""
    sys.path.append(str(REPO / "stacktool"))  # the stack's answers.py; the app's is beside this
    from answers import StackError, read_answers

    try:
        return str(read_answers(REPO).get("_src_path") or "the template")
    except StackError as error:
        report(f"cannot read the answers: {error}")
        return "the template"


def has_no_release_tags(src: str) -> bool:
    """True when git lists the template's tags and none is a version (e.g. a clone made
    without them); False also when git cannot tell."""
    try:
        found = subprocess.run(
            ["git", "ls-remote", "--tags", src], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return False
    tags = re.findall(r"refs/tags/v?(\d+(?:\.\d+)*)$", found.stdout, flags=re.MULTILINE)
    return found.returncode == 0 and not tags


def main() -> int:
    src = template_source()
    no_tags = (
        f"cannot check {src} for a newer template version: it has no release tags "
        "(its maintainers publish them with git push --tags)"
    )
    if has_no_release_tags(src):
        report(no_tags)
        return 0
    command = ["copier", "check-update", "--output-format", "json"]
    try:
        found = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        report(f"cannot check {src}: copier not found (pip install copier==9.19.1)")
        return 0
    if found.returncode != 0:
        lines = [line for line in found.stderr.splitlines() if line.strip()]
        reason = lines[-1].strip().removeprefix("Stderr:").strip(" |") if lines else ""
        report(f"cannot check {src} for a newer template version: {reason or 'copier failed'}")
        return 0
    try:
        answer = json.loads(found.stdout)
        current, latest = answer["current_version"], answer["latest_version"]
    except (ValueError, KeyError):
        report(f"cannot read the answer of copier check-update: {found.stdout}")
        return 0
    # Without release tags copier makes up a development version (0.0.0.post35.dev0+g1a2b3c4):
    # nothing to compare against.
    if not latest or re.search(r"\.dev|\+", str(latest)):
        report(no_tags)
        return 0
    if answer.get("update_available"):
        report(
            f"template {src}: version {latest} is out, this repo has {current}; "
            "update with: copier update --trust --defaults"
        )
        return 2
    print(f"template {src}: this repo has the latest version, {current}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
