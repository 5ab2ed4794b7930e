"""Make a freshly generated project a git repository with one commit.

Only on `copier copy`. A project generated inside another repository still gets its own.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

FALLBACK_IDENTITY = ["-c", "user.name=Project Template", "-c", "user.email=template@localhost"]


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


def has_identity(cwd: Path) -> bool:
    found = subprocess.run(
        ["git", "config", "user.email"], cwd=cwd, capture_output=True, text=True, check=False
    )
    return bool(found.stdout.strip())


def init_repo(dst: Path, message: str) -> bool:
    """Create the repository and commit everything; False if dst is already a repository."""
    if (dst / ".git").exists():
        return False
    git(dst, "init", "--quiet", "--initial-branch=main")
    git(dst, "add", "--all")
    identity = [] if has_identity(dst) else FALLBACK_IDENTITY
    git(dst, *identity, "commit", "--quiet", "--no-verify", "--message", message)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--message", required=True)
    parser.add_argument("--dst", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    if init_repo(args.dst, args.message):
        print(f"Initialised a git repository in {args.dst} with one commit.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
