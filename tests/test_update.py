"""`copier update` works in both generated repos (the full lifecycle is its own test suite)."""

from __future__ import annotations

import yaml
from conftest import COPIER, TEMPLATE_VERSION, copier_copy, run
from helpers import answers_of, assert_links


def test_copier_update_brings_a_new_template_version_to_both_repos(template, tmp_path):
    source = tmp_path / "template"
    run("git", "clone", "--quiet", template, source)
    app = tmp_path / "work dir" / "igny8"
    copier_copy(source, app, repo="app")
    stack = app.parent / "igny8-stack"
    dotenv = (app / ".env").read_text()

    for readme in ("stack-template/README.md.jinja", "app-template/README.md.jinja"):
        with (source / readme).open("a") as file:
            file.write("\nA line from the next release.\n")
    run("git", "commit", "--quiet", "--all", "--message", "next release", cwd=source)
    run("git", "tag", "99.1.0", cwd=source)

    # The stack's images are tagged with its template version, so its compose file changes too.
    expected_changes = {
        stack: [".copier-answers.yml", "README.md", "compose/docker-compose.app.yml"],
        app: [".copier-answers.yml", "README.md"],
    }
    for repo, expected in expected_changes.items():
        assert answers_of(repo)["_commit"] == TEMPLATE_VERSION
        run(*COPIER, "update", "--trust", "--defaults", cwd=repo)
        assert "A line from the next release." in (repo / "README.md").read_text()
        assert answers_of(repo)["_commit"] == "99.1.0"
        changed = run("git", "status", "--porcelain", cwd=repo).stdout.split("\n")
        assert sorted(line[3:] for line in changed if line) == expected
    compose = yaml.safe_load((stack / "compose/docker-compose.app.yml").read_text())
    assert compose["services"]["backend"]["image"] == "igny8-backend:99.1.0"
    assert_links(app, stack)
    assert (app / ".env").read_text() == dotenv
