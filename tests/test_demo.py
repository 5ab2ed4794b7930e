"""The README's first set-up command: `make demo` gives a linked stack + app pair."""

from __future__ import annotations

from helpers import ROOT, assert_links, run


def test_make_demo_generates_the_pair_and_refuses_a_non_empty_folder(tmp_path):
    dest = tmp_path / "my demo"
    run("make", "-C", ROOT, "demo", f"DEST={dest}")
    stack, app = dest / "stack/igny8-stack", dest / "app/igny8"
    assert_links(app, stack)
    for repo in (stack, app):
        assert run("git", "status", "--porcelain", cwd=repo).stdout == ""
    again = run("make", "-C", ROOT, "demo", f"DEST={dest}", check=False)
    assert again.returncode != 0
    assert "is not empty" in again.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["app", "stack"]
