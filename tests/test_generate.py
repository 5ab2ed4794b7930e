"""Rendering both templates: one command gives two clean, linked git repos."""

from __future__ import annotations

from helpers import (
    CHOICES,
    MATRIX,
    TEMPLATE_VERSION,
    answers_of,
    assert_generated,
    assert_links,
    chosen,
    copier_copy,
    matrix,
    read_env,
    run,
)


def test_matrix_takes_every_choice_in_copier_yml():
    """A choice added to copier.yml gets a row (helpers.MATRIX is built from copier.yml)."""
    for question, options in CHOICES.items():
        taken = {chosen(answers)[question] for answers in MATRIX.values()}
        assert taken == set(options), f"no row of MATRIX answers {question} with {options}"
    assert len(MATRIX) <= 5, "every row is a full generation: keep the matrix small"


@matrix
def test_both_repos_render_without_template_leftovers(generate, answers):
    pair = generate(**answers)
    assert_generated(pair.stack)
    assert_generated(pair.app)


@matrix
def test_one_command_gives_two_clean_git_repos_with_resolving_links(generate, answers):
    pair = generate(**answers)
    for repo in (pair.stack, pair.app):
        assert run("git", "status", "--porcelain", "--ignored=no", cwd=repo).stdout == ""
        assert run("git", "rev-list", "--count", "HEAD", cwd=repo).stdout.strip() == "1"
    assert_links(pair.app, pair.stack)


@matrix
def test_answers_files_point_at_the_real_template_and_version(generate, template, answers):
    pair = generate(**answers)
    app, stack = answers_of(pair.app), answers_of(pair.stack)
    assert (app["repo"], stack["repo"]) == ("app", "stack")
    for recorded in (app, stack):
        assert recorded["_src_path"] == str(template)
        assert recorded["_commit"] == TEMPLATE_VERSION
    shared = {k: v for k, v in app.items() if k in stack and not k.startswith("_") and k != "repo"}
    assert shared == {k: stack[k] for k in shared}, "the stack got other answers than the app"
    assert {k: app[k] for k in CHOICES} == chosen(answers), "copier recorded other choices"


@matrix
def test_optional_files_follow_the_answers(generate, answers):
    pair = generate(**answers)
    recorded = answers_of(pair.app)
    package = pair.app / "backend" / recorded["package"]
    assert (package / "settings.py").is_file()
    assert (package / "celery.py").is_file() == recorded["use_celery"]
    ci = recorded["ci_provider"]
    for repo in (pair.app, pair.stack):
        assert (repo / ".github/workflows/ci.yml").is_file() == (ci == "github")
        assert (repo / ".gitlab-ci.yml").is_file() == (ci == "gitlab")
    # Celery's services run when the app's .env turns their profile on.
    services = run("docker", "compose", "-f", "docker-compose.app.yml", "config", "--services",
                   cwd=pair.app).stdout.split()  # fmt: skip
    assert ({"redis", "worker", "beat"} <= set(services)) == recorded["use_celery"]
    assert ("COMPOSE_PROFILES" in read_env(pair.app / ".env")) == recorded["use_celery"]


def test_app_defaults_come_from_the_stack_it_links_to(template, tmp_path):
    stack = tmp_path / "igny8-stack"
    copier_copy(
        template,
        stack,
        repo="stack",
        domain="shop.example.com",
        acme_email="ops@example.com",
        use_celery="true",
        node_version="24",
    )
    app = tmp_path / "igny8"
    copier_copy(template, app, repo="app")
    recorded = answers_of(app)
    assert (recorded["domain"], recorded["use_celery"], recorded["node_version"]) == (
        "shop.example.com",
        True,
        "24",
    )
    assert_links(app, stack)
    assert run("git", "status", "--porcelain", cwd=app).stdout == ""


def test_stack_alone_renders_with_pytest_copier(copier, tmp_path):
    project = copier.copy(tmp_path / "igny8-stack", repo="stack")
    assert project.answers["repo"] == "stack"
    assert (project.path / "links.txt").is_file()
    assert_generated(project.path)


@matrix
def test_ci_reads_the_answered_versions_from_files(generate, answers):
    app = generate(**answers).app
    recorded = answers_of(app)
    assert (app / ".python-version").read_text() == f"{recorded['python_version']}\n"
    assert (app / "frontend/.nvmrc").read_text() == f"{recorded['node_version']}\n"
