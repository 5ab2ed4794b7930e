"""The template's releases: a PEP 440 tag on the commit that adds its CHANGELOG.md heading.

A fresh clone may carry no tags (CI checks out a branch), so tests recreate them from the
CHANGELOG and can update from the oldest supported release either way.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from packaging.version import Version

HEADING = re.compile(r"^## \[(\d+(?:\.\d+)+)\]", re.MULTILINE)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def releases(repo: Path) -> list[str]:
    """The versions CHANGELOG.md has a heading for, oldest first."""
    return sorted(HEADING.findall((repo / "CHANGELOG.md").read_text()), key=Version)


def release_commit(repo: Path, version: str) -> str:
    """The commit that added the version's heading to CHANGELOG.md."""
    heading = f"## [{version}]"
    commits = git(repo, "log", "--format=%H", "--reverse", "-S", heading, "--", "CHANGELOG.md")
    if not commits.split():
        raise AssertionError(
            f"no commit of {repo} adds '{heading}' to CHANGELOG.md: a shallow clone? "
            "(git fetch --unshallow)"
        )
    return commits.split()[0]


def tag_releases(repo: Path) -> list[str]:
    """Tag each release the repo has no tag for yet; return the releases, oldest first."""
    tags = set(git(repo, "tag", "--list").split())
    for version in releases(repo):
        if version not in tags:
            git(repo, "tag", version, release_commit(repo, version))
    return releases(repo)
