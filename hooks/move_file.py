"""Carry the project's edits of a file the template moved over to the file's new path.

A migration, run after `copier update` crosses the version that moved the file. The update
has deleted the old path, edits included, and rendered the new one fresh; this merges the
project's last committed version of the old path into the new path, with the old template
version's rendering of the old path as the common base. The template's changes and the
project's edits both arrive; where they overlap, copier's inline conflict markers show both.
Then it stages the old path's removal, which also makes a second run change nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "stack-template"))
from stacktool.answers import ANSWERS_FILE, parse  # noqa: E402

LABELS = ["-L", "before updating", "-L", "last update", "-L", "after updating"]


def git(dst: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=dst, capture_output=True, text=True, check=check)


def is_tracked(dst: Path, path: str) -> bool:
    return git(dst, "ls-files", "--error-unmatch", "--", path, check=False).returncode == 0


def committed(dst: Path, path: str) -> str:
    """The file as the index holds it: the project's version from before the update."""
    return git(dst, "show", f":{path}").stdout


def old_answers(dst: Path) -> dict:
    """The answers the project had before the update (from the index), without copier's own."""
    answers = parse(committed(dst, ANSWERS_FILE))
    return {key: value for key, value in answers.items() if not key.startswith("_")}


def render_old(template: str, version: str, answers: dict, path: str) -> str | None:
    """`path` as the template at `version` rendered it with these answers, or None."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp, "answers.json")
        data.write_text(json.dumps(answers))
        out = Path(tmp, "project")
        command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults"]
        command += ["--skip-tasks", "--quiet", "--vcs-ref", version, "--data-file", str(data)]
        subprocess.run([*command, template, str(out)], capture_output=True, check=True)
        rendered = out / path
        return rendered.read_text() if rendered.is_file() else None


def merge(ours: str, base: str, theirs: str) -> tuple[str, int]:
    """3-way merge as copier's inline conflicts do it; returns (text, number of conflicts)."""
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            files.append(Path(tmp, name))
            files[-1].write_text(text)
        result = subprocess.run(
            ["git", "merge-file", "-p", *LABELS, *map(str, files)],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode < 0:
        raise RuntimeError(f"git merge-file failed: {result.stderr}")
    return result.stdout, result.returncode


def move(dst: Path, old: str, new: str, template: str, version: str) -> str | None:
    """Carry the edits over; return what happened, or None when there is nothing to do."""
    if not is_tracked(dst, old):
        return None
    ours = committed(dst, old)
    try:
        base = render_old(template, version, old_answers(dst), old)
    except subprocess.CalledProcessError as error:
        (dst / old).write_text(ours)
        reason = error.stderr.decode(errors="replace").strip().splitlines()[-1:]
        return (
            f"cannot render {old} of template version {version} ({' '.join(reason)}): "
            f"kept your {old}; move your edits to {new} by hand"
        )
    if base is None:
        return None  # the project's own file, not the template's
    if not (dst / new).is_file():
        return f"{old} is gone and this project has no {new}; your last {old}: git show HEAD:{old}"
    if ours == base:
        message = f"{old} moved to {new}; you had not edited it"
    else:
        text, conflicts = merge(ours, base, (dst / new).read_text())
        (dst / new).write_text(text)
        message = f"{old} moved to {new}, with your edits"
        if conflicts:
            message += f" and {conflicts} conflict(s) marked '<<<<<<< before updating' to resolve"
    (dst / old).unlink(missing_ok=True)
    git(dst, "rm", "--cached", "--quiet", "--", old)
    return message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--template", required=True, help="the template source (a git repo)")
    parser.add_argument("--from-version", required=True, help="the version updated from")
    parser.add_argument("--dst", type=Path, default=Path.cwd())
    parser.add_argument("old", help="the file's path before the move")
    parser.add_argument("new", help="the file's path after the move")
    args = parser.parse_args(argv)
    message = move(args.dst, args.old, args.new, args.template, args.from_version)
    if message:
        print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
