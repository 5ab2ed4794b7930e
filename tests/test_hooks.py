"""Unit tests of the copier hooks (hooks/*.py) and of the app's scripts/get_stack.py, which
copier runs as a task too; imported as modules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import TEMPLATE_VERSION, load_get_stack, run

from hooks import check_stack, init_git, link_app, move_file

get_stack = load_get_stack()


def test_real_destination_is_every_copy_and_an_update_in_a_git_repo(tmp_path):
    assert link_app.in_real_destination("copy", tmp_path)
    assert not link_app.in_real_destination("update", tmp_path)
    (tmp_path / ".git").mkdir()
    assert link_app.in_real_destination("update", tmp_path)


def test_link_hook_does_nothing_in_update_throwaway_folders(tmp_path):
    # No stack exists at all: a run that did anything would fail.
    argv = ["--operation=update", f"--stack-dir={tmp_path / 'none'}", f"--app-dir={tmp_path}"]
    assert link_app.main(argv) == 0
    assert list(tmp_path.iterdir()) == []


def test_link_hook_fails_clearly_without_a_stack_tool(tmp_path, capsys):
    argv = ["--operation=copy", f"--stack-dir={tmp_path / 'none'}", f"--app-dir={tmp_path}"]
    assert link_app.main(argv) == 1
    error = capsys.readouterr().err
    assert "has no stack tool" in error and "update the stack first" in error


def test_link_hook_runs_the_stack_tool_imported_from_the_stack(generate, tmp_path):
    pair = generate()
    app = tmp_path / "app"
    run("git", "clone", "--quiet", pair.app, app)
    argv = ["--operation=copy", f"--stack-dir={pair.stack}", f"--app-dir={app}"]
    assert link_app.main(argv) == 0
    assert (app / "docker-compose.app.yml").is_symlink()
    assert (app / ".env").stat().st_mode & 0o777 == 0o600
    assert link_app.load_stack_tool(pair.stack).__file__ == str(pair.stack / "stacktool/cli.py")


@pytest.mark.parametrize(
    ("stack", "app", "refused"),
    [
        ("0.1.0", "0.2.0", True),
        ("0.2.0", "0.2.0", False),
        ("0.2.0-3-g1a2b3c4", "0.2.0", False),  # git describe: three commits past 0.2.0
        ("0.2.0", "0.2.0-3-g1a2b3c4", True),
        ("0.10.0", "0.9.0", False),  # PEP 440, not text order
        ("1a2b3c4", "0.2.0", False),  # no version known: the link task tells later
    ],
)
def test_the_update_check_refuses_a_stack_older_than_the_app_new_version(
    tmp_path, stack, app, refused
):
    (tmp_path / "app").mkdir()
    (tmp_path / "app/.copier-answers.yml").write_text('{"repo": "app", "stack_path": "../s"}')
    (tmp_path / "s").mkdir()
    (tmp_path / "s/.copier-answers.yml").write_text(json.dumps({"_commit": stack, "repo": "stack"}))
    argv = [f"--version-to={app}", f"--app-dir={tmp_path / 'app'}"]
    assert check_stack.main(argv) == (1 if refused else 0)


def test_stack_answers_keep_shared_answers_only():
    app = {
        "_src_path": "/t",
        "_commit": "1.0.0",
        "repo": "app",
        "package": "x_core",
        "stack_path": "../s",
        "ci_provider": "github",
        "stack_repo_url": "",
        "slug": "shop",
        "use_celery": True,
        "domain": "localhost",
    }
    assert get_stack.stack_answers(app) == {
        "repo": "stack",
        "ci_provider": "github",
        "slug": "shop",
        "use_celery": True,
        "domain": "localhost",
    }


@pytest.mark.parametrize(
    ("src", "dst_path", "expected"),
    [
        ("gh:org/template", "out/app", "gh:org/template"),
        ("/abs/template", "out/app", "/abs/template"),
        ("template", "out/app", "/work/template"),
        ("../template", "app", "/work/template"),
        ("template", "/work/out/app", "/home/me/template"),
        ("../template", None, "/work/out/template"),
    ],
    ids=["remote", "absolute", "relative-dst", "parent", "absolute-dst-uses-PWD", "later-from-app"],
)
def test_local_template_path_is_made_absolute_from_where_copier_ran(
    src, dst_path, expected, monkeypatch
):
    # The task runs inside the destination, /work/out/app; copier ran in /home/me.
    monkeypatch.setenv("PWD", "/home/me")
    assert get_stack.resolve_src(src, dst_path, Path("/work/out/app")) == expected


def test_version_is_used_only_when_the_template_has_it(template):
    assert get_stack.usable_ref(str(template), TEMPLATE_VERSION) == TEMPLATE_VERSION
    assert get_stack.usable_ref(str(template), "0.0.0.post1.dev0+g123") is None
    assert get_stack.usable_ref(str(template), "") is None
    assert get_stack.usable_ref("gh:org/template", "1.2.0") == "1.2.0"


def test_init_git_commits_everything_once(tmp_path):
    (tmp_path / "a.txt").write_text("a\n")
    assert init_git.init_repo(tmp_path, "first")
    assert not init_git.init_repo(tmp_path, "again")
    assert run("git", "log", "--format=%s", cwd=tmp_path).stdout.split() == ["first"]
    assert run("git", "status", "--porcelain", cwd=tmp_path).stdout == ""
    assert run("git", "branch", "--show-current", cwd=tmp_path).stdout.strip() == "main"


def test_init_git_makes_its_own_repo_inside_another(tmp_path):
    run("git", "init", "--quiet", cwd=tmp_path)
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "b.txt").write_text("b\n")
    assert init_git.main(["--message=inner", f"--dst={inner}"]) == 0
    assert run("git", "rev-parse", "--show-toplevel", cwd=inner).stdout.strip() == str(inner)


def test_move_file_merges_like_copier_and_marks_overlaps():
    base = "a\nb\nc\nd\ne\n"
    merged, conflicts = move_file.merge("a\nB\nc\nd\ne\n", base, "a\nb\nc\nd\nE\n")
    assert (merged, conflicts) == ("a\nB\nc\nd\nE\n", 0)
    merged, conflicts = move_file.merge("a\nmine\nc\n", "a\nb\nc\n", "a\ntheirs\nc\n")
    assert conflicts == 1
    assert "<<<<<<< before updating\nmine\n" in merged
    assert "theirs\n>>>>>>> after updating\n" in merged


def test_move_file_does_nothing_for_a_file_the_project_does_not_track(tmp_path, capsys):
    run("git", "init", "--quiet", cwd=tmp_path)
    (tmp_path / "new.yml").write_text("new\n")
    argv = ["--template=/nowhere", "--from-version=0.1.0", f"--dst={tmp_path}"]
    argv += ["old.yml", "new.yml"]
    assert move_file.main(argv) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "new.yml").read_text() == "new\n"
