"""Unit tests of the copier hooks (hooks/*.py), imported as modules."""

from __future__ import annotations

from pathlib import Path

import generate_stack
import init_git
import link_app
import move_file
import pytest
import stack_scripts
import write_env
from helpers import TEMPLATE_VERSION, run


def test_real_destination_is_every_copy_and_an_update_in_a_git_repo(tmp_path):
    assert stack_scripts.in_real_destination("copy", tmp_path)
    assert not stack_scripts.in_real_destination("update", tmp_path)
    (tmp_path / ".git").mkdir()
    assert stack_scripts.in_real_destination("update", tmp_path)


def test_missing_stack_script_names_the_fix(tmp_path):
    with pytest.raises(stack_scripts.HookError, match="Point stack_path at a <slug>-stack"):
        stack_scripts.stack_script(tmp_path, "link-app.sh")


@pytest.mark.parametrize("hook", [link_app, write_env], ids=["link_app", "write_env"])
def test_stack_hooks_do_nothing_in_update_throwaway_folders(hook, tmp_path):
    # No stack exists at all: a run that did anything would fail.
    argv = ["--operation=update", f"--stack-dir={tmp_path / 'none'}", f"--app-dir={tmp_path}"]
    assert hook.main(argv) == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("hook", [link_app, write_env], ids=["link_app", "write_env"])
def test_stack_hooks_fail_clearly_without_a_stack(hook, tmp_path, capsys):
    argv = ["--operation=copy", f"--stack-dir={tmp_path / 'none'}", f"--app-dir={tmp_path}"]
    assert hook.main(argv) == 1
    assert "is not a generated stack" in capsys.readouterr().err


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
    assert generate_stack.stack_answers(app) == {
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
    ],
    ids=["remote", "absolute", "relative-dst", "parent", "absolute-dst-uses-PWD"],
)
def test_local_template_path_is_made_absolute_from_where_copier_ran(
    src, dst_path, expected, monkeypatch
):
    # The task runs inside the destination, /work/out/app; copier ran in /home/me.
    monkeypatch.setenv("PWD", "/home/me")
    assert generate_stack.resolve_src(src, dst_path, Path("/work/out/app")) == expected


def test_version_is_used_only_when_the_template_has_it(template):
    assert generate_stack.usable_ref(str(template), TEMPLATE_VERSION) == TEMPLATE_VERSION
    assert generate_stack.usable_ref(str(template), "0.0.0.post1.dev0+g123") is None
    assert generate_stack.usable_ref(str(template), "") is None
    assert generate_stack.usable_ref("gh:org/template", "1.2.0") == "1.2.0"


def test_existing_stack_is_reused_not_regenerated(tmp_path, capsys):
    (tmp_path / ".copier-answers.yml").write_text("repo: stack\n")
    argv = ["--src=/nowhere", f"--stack-dir={tmp_path}", "--answers={}"]
    assert generate_stack.main(argv) == 0
    assert "existing stack" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == [".copier-answers.yml"]


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
