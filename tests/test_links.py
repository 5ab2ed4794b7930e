"""The app's links into the stack: relative, idempotent, nothing of the user's lost. Made by
the stack tool with a PATH of python3, git and POSIX basics only (posix_path)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import TEMPLATE_VERSION, assert_links, manifest, posix_path, read_env, run


@pytest.fixture(scope="module")
def posix(tmp_path_factory) -> dict[str, str]:
    return {"PATH": posix_path(tmp_path_factory.mktemp("posix bin"))}


@pytest.fixture
def link_app(posix):
    def link(stack, app):
        return run(stack / "stack", "link", app, env=posix)

    return link


def snapshot(app, stack):
    return {a: (os.readlink(app / a), os.lstat(app / a).st_ino) for a, _ in manifest(stack)}


def test_second_run_changes_nothing(pair_copy, link_app):
    app, stack = pair_copy
    before = snapshot(app, stack)
    link_app(stack, app)
    assert snapshot(app, stack) == before
    assert run("git", "status", "--porcelain", cwd=app).stdout == ""


def test_real_file_in_the_way_is_backed_up_not_lost(pair_copy, link_app):
    app, stack = pair_copy
    vite = app / "frontend/vite.config.ts"
    vite.unlink()
    vite.write_text("// my own config\n")
    link_app(stack, app)
    assert_links(app, stack)
    backups = list(vite.parent.glob("vite.config.ts.backup-*"))
    assert [b.read_text() for b in backups] == ["// my own config\n"]


def test_link_pointing_elsewhere_is_repointed(pair_copy, link_app, tmp_path):
    app, stack = pair_copy
    compose = app / "docker-compose.app.yml"
    compose.unlink()
    compose.symlink_to(tmp_path / "somewhere-else.yml")
    link_app(stack, app)
    assert_links(app, stack)


def test_links_are_ignored_by_git_and_never_tracked(pair_copy):
    app, stack = pair_copy
    paths = [a for a, _ in manifest(stack)]
    assert run("git", "ls-files", "--", *paths, cwd=app).stdout == ""
    ignored = run("git", "check-ignore", *paths, ".env", cwd=app).stdout.split()
    assert ignored == [*paths, ".env"]


def test_install_sh_links_an_app_from_any_directory(pair_copy, tmp_path, posix):
    app, stack = pair_copy
    moved = tmp_path / "other place" / "my app"
    run("git", "clone", "--quiet", app, moved)
    assert not (moved / ".env").exists()
    result = run(stack / "install.sh", "--app", moved, cwd=tmp_path, env=posix)
    assert_links(moved, stack)
    assert (moved / ".env").stat().st_mode & 0o777 == 0o600
    assert run("git", "status", "--porcelain", cwd=moved).stdout == ""
    # The data folders come from DATA_ROOT of the app's .env, owned by the backend's user.
    media = Path(read_env(moved / ".env")["DATA_ROOT"]) / "igny8" / "media"
    assert f"Data folder: {media}" in result.stdout
    assert media.stat().st_uid == 10001
    again = run(stack / "install.sh", "--app", moved, cwd=moved / "backend", env=posix)
    assert_links(moved, stack)
    assert result.returncode == again.returncode == 0


def test_install_sh_reports_its_template_version(pair_copy, posix):
    _, stack = pair_copy
    result = run(stack / "install.sh", "--version", env=posix)
    assert result.stdout.strip() == TEMPLATE_VERSION
    assert run(stack / "stack", "version", env=posix).stdout == result.stdout


@pytest.mark.parametrize("engine", ["no docker command", "no engine"])
def test_install_sh_checks_for_docker_first_and_names_the_fix(pair_copy, tmp_path, posix, engine):
    app, stack = pair_copy
    if engine == "no docker command":
        env, says = posix, "docker not found: install Docker Engine"
    else:
        env, says = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}, "start it"
    result = run(stack / "install.sh", env=env, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and says in result.stderr
    assert not Path(read_env(app / ".env")["DATA_ROOT"]).exists()


def test_install_sh_without_python3_names_the_fix(pair_copy, tmp_path):
    _, stack = pair_copy
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "dirname").symlink_to(shutil.which("dirname"))
    result = run(stack / "install.sh", "--app", ".", env={"PATH": str(bare)}, check=False)
    assert result.returncode == 1
    assert "python3 not found: install Python 3.9 or newer" in result.stderr


def test_fresh_clone_gets_its_matching_stack_as_its_ci_does(pair_copy, tmp_path, posix):
    app, stack = pair_copy
    clone = tmp_path / "ci checkout"
    run("git", "clone", "--quiet", app, clone)
    ci_stack = tmp_path / "runner temp" / "stack"
    run("python3", clone / "scripts/get_stack.py", ci_stack, env=posix)
    assert_links(clone, ci_stack)
    assert (ci_stack / ".copier-answers.yml").read_text() == (
        stack / ".copier-answers.yml"
    ).read_text()
    assert run("git", "status", "--porcelain", cwd=clone).stdout == ""
    again = run("python3", clone / "scripts/get_stack.py", ci_stack, env=posix)
    assert again.stdout == f"Using the stack in {ci_stack}\n"


def write_manifest(stack: Path, drop: list[str], add: list[str]) -> None:
    """Change the stack's links.txt as a newer stack version would."""
    kept = [
        line
        for line in (stack / "links.txt").read_text().splitlines(keepends=True)
        if not line.split() or line.split()[0] not in drop
    ]
    (stack / "links.txt").write_text("".join(kept) + "".join(f"{line}\n" for line in add))


def exclude_block(app: Path) -> list[str]:
    lines = (app / ".git/info/exclude").read_text().splitlines()
    start = lines.index("# links into the stack, made by its link tool (./stack link)")
    return lines[start + 1 : lines.index("# end of links into the stack")]


def test_links_are_recorded_and_git_ignored_in_the_apps_exclude_file(pair_copy):
    app, stack = pair_copy
    assert exclude_block(app) == [f"/{path}" for path, _ in manifest(stack)]


def test_a_new_stack_link_appears_and_is_ignored_before_the_gitignore_lists_it(pair_copy, link_app):
    app, stack = pair_copy
    write_manifest(stack, drop=[], add=["docs/stack.md README.md"])
    link_app(stack, app)
    assert_links(app, stack)
    source = run("git", "check-ignore", "--verbose", "docs/stack.md", cwd=app).stdout
    assert source.startswith(".git/info/exclude:")
    assert run("git", "status", "--porcelain", cwd=app).stdout == ""


def test_a_dropped_link_is_removed_only_while_it_points_into_the_stack(
    pair_copy, link_app, tmp_path
):
    app, stack = pair_copy
    eslint, npmrc = app / "frontend/eslint.config.js", app / "frontend/.npmrc"
    eslint.unlink()
    eslint.write_text("export default [];\n")  # the team took this file over
    npmrc.unlink()
    npmrc.symlink_to(tmp_path / "team.npmrc")  # and points this one elsewhere
    dropped = ["docker-compose.app.yml", "frontend/eslint.config.js", "frontend/.npmrc"]
    write_manifest(stack, drop=dropped, add=[])

    result = link_app(stack, app)
    assert not (app / "docker-compose.app.yml").is_symlink()
    assert "removed docker-compose.app.yml: links.txt no longer lists it" in result.stdout
    assert eslint.read_text() == "export default [];\n"
    assert os.readlink(npmrc) == str(tmp_path / "team.npmrc")
    for path in dropped[1:]:
        assert f"left {path} alone: links.txt no longer lists it" in result.stdout
    assert_links(app, stack)
    assert exclude_block(app) == [f"/{path}" for path, _ in manifest(stack)]
    assert link_app(stack, app).stdout == ""


def test_an_app_linked_by_an_older_stack_has_its_dropped_links_found(pair_copy, link_app, tmp_path):
    """Without the record (an app linked before the stack kept one), the links made are the
    app's links into the stack; a link elsewhere is not one of them."""
    app, stack = pair_copy
    (app / ".git/info/exclude").write_text("# git's own sample\n")
    (app / "notes.md").symlink_to(tmp_path / "elsewhere.md")
    write_manifest(stack, drop=["frontend/eslint.config.js"], add=[])
    result = link_app(stack, app)
    assert "removed frontend/eslint.config.js" in result.stdout
    assert not (app / "frontend/eslint.config.js").is_symlink()
    assert (app / "notes.md").is_symlink()
    assert (app / ".git/info/exclude").read_text().startswith("# git's own sample\n")
    assert exclude_block(app) == [f"/{path}" for path, _ in manifest(stack)]


def test_the_record_of_an_older_stack_is_read_and_rewritten_once(pair_copy, link_app):
    """A 0.2.0 stack marked its block differently: its record still counts, and is replaced."""
    app, stack = pair_copy
    exclude = app / ".git/info/exclude"
    old = exclude.read_text().replace(
        "made by its link tool (./stack link)", "made by its scripts/link-app.sh"
    )
    exclude.write_text(old)
    write_manifest(stack, drop=["frontend/eslint.config.js"], add=[])
    result = link_app(stack, app)
    assert "removed frontend/eslint.config.js" in result.stdout
    assert "scripts/link-app.sh" not in exclude.read_text()
    assert exclude_block(app) == [f"/{path}" for path, _ in manifest(stack)]
