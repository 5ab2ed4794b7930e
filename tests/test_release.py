"""`make release VERSION=x.y.z` in a clone of this repo, as the README's Releasing section
says: it tags only a version the CHANGELOG names, from a clean tree, and the tag reaches the
remote with `git push --tags`."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import ENV, MATRIX, ROOT, Shell, readme_blocks, run


def clone_with_remote(tmp_path: Path) -> Path:
    remote = tmp_path / "template.git"
    repo = tmp_path / "template"
    run("git", "init", "--quiet", "--bare", remote)
    run("git", "clone", "--quiet", "--no-hardlinks", ROOT, repo)
    # The working tree as committed, so the Makefile and CHANGELOG under test are these.
    for name in ("Makefile", "CHANGELOG.md", "README.md"):
        (repo / name).write_bytes((ROOT / name).read_bytes())
    run("git", "add", "--all", cwd=repo)
    run("git", "commit", "--quiet", "--allow-empty", "-m", "working tree", cwd=repo, env=ENV)
    run("git", "remote", "set-url", "origin", remote, cwd=repo)
    run("git", "push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=repo)
    return repo


def release_heading(repo: Path, version: str) -> None:
    changelog = repo / "CHANGELOG.md"
    text = changelog.read_text().replace(
        "## [Unreleased]\n", f"## [Unreleased]\n\n## [{version}] - 2026-11-26\n", 1
    )
    changelog.write_text(text)
    run("git", "commit", "--quiet", "-am", f"Release {version}", cwd=repo, env=ENV)


def test_release_tags_a_changelog_version_and_push_publishes_it(tmp_path):
    repo = clone_with_remote(tmp_path)
    (commands,) = readme_blocks(ROOT / "README.md", "Releasing")
    version = re.search(r"VERSION=(\S+)", commands[0])[1]
    release_heading(repo, version)
    shell = Shell(repo)
    shell.follow(commands)
    assert f"Tagged {version}. Publish it: git push --tags" in shell.output
    remote_tags = run("git", "ls-remote", "--tags", tmp_path / "template.git").stdout
    assert f"refs/tags/{version}\n" in remote_tags
    tagged = run("git", "rev-list", "-n", "1", version, cwd=repo).stdout
    assert tagged == run("git", "rev-parse", "HEAD", cwd=repo).stdout


def test_release_refuses_a_version_without_heading_a_dirty_tree_and_an_existing_tag(tmp_path):
    repo = clone_with_remote(tmp_path)

    def release(version: str):
        return run("make", "release", f"VERSION={version}", cwd=repo, env=ENV, check=False)

    result = release("7.7.7")
    assert result.returncode != 0
    assert "CHANGELOG.md has no '## [7.7.7]' heading" in result.stderr
    result = release("seven")
    assert result.returncode != 0 and "VERSION=x.y.z" in result.stderr

    release_heading(repo, "7.7.7")
    notes = repo / "NOTES.txt"
    notes.write_text("a user's file\n")
    result = release("7.7.7")
    assert result.returncode != 0 and "uncommitted changes" in result.stderr
    assert notes.read_text() == "a user's file\n"
    notes.unlink()

    assert release("7.7.7").returncode == 0
    result = release("7.7.7")
    assert result.returncode != 0 and "tag 7.7.7 exists already" in result.stderr
    assert run("git", "tag", "--list", "7.7.7", cwd=repo).stdout == "7.7.7\n"


def test_generated_readmes_say_the_code_is_the_teams_own(generate):
    pair = generate(**MATRIX["default"])
    for repo in (pair.app, pair.stack):
        readme = (repo / "README.md").read_text()
        assert (
            "This code is yours: the template it was generated from (MIT) puts no licence" in readme
        )
