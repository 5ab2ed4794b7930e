"""Answers as a new user gives them: any project name, the destination's name as the default,
an update whose stack moved away, copier saying nothing it need not; the answers file read
by the tools (JSON) and by copier (YAML) alike."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from helpers import (
    COPIER,
    ROOT,
    TEMPLATE_VERSION,
    answers_of,
    assert_generated,
    assert_links,
    copier_copy,
    load_get_stack,
    releases,
    run,
)
from stacktool import answers, images

get_stack = load_get_stack()

HOSTILE_NAMES = {
    "triple-quote": ('Triple """ quote', "triple-quote"),
    "backslash": ("Back\\N slash", "back-n-slash"),
    "command-substitution": ("$(touch x)", "touch-x"),
    "backticks": ("Tick `touch y` tock", "tick-touch-y-tock"),
    "accents": ("Café Crème", "cafe-creme"),
    "markup": ("<script>alert('x')</script>", "script-alert-x-script"),
    "quotes-and-ampersand": ("It's \"ours\" & \\'theirs\\'", "it-s-ours-theirs"),
}


def files_of(repo: Path) -> dict[str, str | bytes]:
    """Every entry of a repo outside .git: a link's target, a file's bytes."""
    entries: dict[str, str | bytes] = {}
    for folder, dirs, files in os.walk(repo):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in [*dirs, *files]:
            path = Path(folder) / name
            rel = str(path.relative_to(repo))
            if path.is_symlink():
                entries[rel] = os.readlink(path)
            elif path.is_file():
                entries[rel] = path.read_bytes()
    return entries


@pytest.mark.parametrize(("name", "slug"), list(HOSTILE_NAMES.values()), ids=list(HOSTILE_NAMES))
def test_any_project_name_renders_valid_files_and_runs_nothing(template, tmp_path, name, slug):
    base = tmp_path / "work dir"
    app = base / "app"
    copier_copy(template, app, repo="app", project_name=name)
    stack = base / f"{slug}-stack"
    assert sorted(p.name for p in base.iterdir()) == sorted(["app", stack.name])
    assert_generated(app)
    assert_generated(stack)
    assert not list(tmp_path.rglob("x")) and not list(tmp_path.rglob("y")), "a name ran a command"
    assert answers_of(app)["project_name"] == answers_of(stack)["project_name"] == name
    assert answers_of(app)["slug"] == slug
    title = re.search(r"<title>(.*)</title>", (app / "frontend/index.html").read_text())
    assert title and html.unescape(title[1]) == name


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Ærøskøbing Łódź", "aeroskobing-lodz"),
        ("Straße Œuvre", "strasse-oeuvre"),
        ("Ångström Çağrı", "angstrom-cagri"),
        ("Smørrebrød Þing", "smorrebrod-thing"),
        ("ŽLUŤOUČKÝ kůň", "zlutoucky-kun"),
    ],
)
def test_slug_spells_accented_letters_plainly(template, tmp_path, name, slug):
    stack = tmp_path / "stack"
    copier_copy(template, stack, repo="stack", project_name=name)
    assert answers_of(stack)["slug"] == slug


def test_readme_command_names_the_pair_after_the_destination(template, tmp_path):
    """The README's `copier copy --trust -d repo=app TEMPLATE shop --defaults`."""
    run(*COPIER, "copy", "--trust", "-d", "repo=app", template, "shop", "--defaults", cwd=tmp_path)
    app, stack = tmp_path / "shop", tmp_path / "shop-stack"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop", "shop-stack"]
    for repo in (app, stack):
        assert answers_of(repo)["project_name"] == "shop"
        assert answers_of(repo)["slug"] == "shop"
    assert answers_of(app)["stack_path"] == "../shop-stack"
    assert answers_of(app)["package"] == "shop_core"
    assert_links(app, stack)


def test_a_stack_alone_is_named_after_its_folder_without_stack(template, tmp_path):
    copier_copy(template, tmp_path / "shop-stack", repo="stack")
    recorded = answers_of(tmp_path / "shop-stack")
    assert (recorded["project_name"], recorded["slug"]) == ("shop", "shop")


@pytest.fixture
def newer(template: Path, tmp_path: Path) -> Path:
    """The template with a newer release, 99.0.1, to update to."""
    src = tmp_path / "template"
    run("git", "clone", "--quiet", template, src)
    run(
        *("git", "-c", "user.name=t", "-c", "user.email=t@localhost"),
        *("commit", "--quiet", "--allow-empty", "--no-verify", "-m", "Release 99.0.1"),
        cwd=src,
    )
    run("git", "tag", "99.0.1", cwd=src)
    return src


def copy_pair(src: Path, app: Path):
    return run(
        *COPIER,
        *("copy", "--trust", "--defaults", "--vcs-ref=99.0.0", "--data=repo=app"),
        *(src, app),
    )


def test_copy_and_update_print_no_warning(newer, tmp_path):
    app = tmp_path / "shop"
    copied = copy_pair(newer, app)
    assert "Warning" not in copied.stderr, copied.stderr
    for repo in (tmp_path / "shop-stack", app):  # the stack first, as the README says
        updated = run(*COPIER, "update", "--trust", "--defaults", cwd=repo)
        assert "Warning" not in updated.stderr, updated.stderr
        assert answers_of(repo)["_commit"] == "99.0.1"


def test_update_with_the_stack_moved_away_changes_nothing_and_names_the_fix(newer, tmp_path):
    app = tmp_path / "shop"
    copy_pair(newer, app)
    shutil.move(tmp_path / "shop-stack", tmp_path / "moved-stack")
    before = files_of(app)

    failed = run(*COPIER, "update", "--trust", "--defaults", cwd=app, check=False)
    assert failed.returncode != 0
    assert "no stack at stack_path ../shop-stack" in failed.stderr
    assert "-d stack_path=" in failed.stderr
    assert run("git", "status", "--porcelain", cwd=app).stdout == ""
    assert files_of(app) == before
    assert answers_of(app)["_commit"] == "99.0.0"

    # The fix the message names (the stack updated first, as the README says).
    run(*COPIER, "update", "--trust", "--defaults", cwd=tmp_path / "moved-stack")
    run(*COPIER, "update", "--trust", "--defaults", "-d", "stack_path=../moved-stack", cwd=app)
    assert answers_of(app)["stack_path"] == "../moved-stack"
    assert answers_of(app)["_commit"] == "99.0.1"
    assert_links(app, tmp_path / "moved-stack")


EVERY_TYPE = {
    "text": "Café \"ours\" 'theirs' 🎉 # not a comment\nkey: value\t\\ \x7f\x85\x9f\u2028 ",
    "number": 42,
    "ratio": 0.5,
    "flag": True,
    "nothing": None,
    "features": ["celery", "s3"],
    "settings": {"a": 1, "b": ["x", {"c": None}], "yes": "no"},
    "blank": "",
    "numeric_text": "24",
}


def test_every_answer_type_round_trips_through_the_answers_file(tmp_path):
    """Each type copier allows, in the answers file as the template writes it: the stack
    tool's reader (json) and copier itself (YAML, on update) read back what was answered."""
    src = tmp_path / "template"
    (src / "project").mkdir(parents=True)
    questions = {
        "text": {"type": "str"},
        "number": {"type": "int"},
        "ratio": {"type": "float"},
        "flag": {"type": "bool"},
        "nothing": {"type": "yaml"},
        "features": {"type": "str", "multiselect": True, "choices": ["celery", "s3", "sentry"]},
        "settings": {"type": "yaml"},
        "blank": {"type": "str"},
        "numeric_text": {"type": "str"},
    }
    config = {
        "_subdirectory": "project",
        **{k: {**q, "default": None} for k, q in questions.items()},
    }
    (src / "copier.yml").write_text(json.dumps(config))
    answers_file = "{{ _copier_conf.answers_file }}.jinja"
    shutil.copy(ROOT / "stack-template" / answers_file, src / "project" / answers_file)
    git = ("git", "-c", "user.name=t", "-c", "user.email=t@localhost")
    run("git", "init", "--quiet", cwd=src)
    run(*git, "add", "--all", cwd=src)
    run(*git, "commit", "--quiet", "--no-verify", "-m", "1", cwd=src)
    run("git", "tag", "1.0.0", cwd=src)
    data = tmp_path / "data.json"
    data.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True))
    dst = tmp_path / "project"
    run(*COPIER, "copy", "--quiet", "--defaults", "--data-file", data, src, dst)
    written = (dst / ".copier-answers.yml").read_text()
    assert answers.read_answers(dst) == {**EVERY_TYPE, "_commit": "1.0.0", "_src_path": str(src)}

    run(*git, "commit", "--quiet", "--allow-empty", "--no-verify", "-m", "2", cwd=src)
    run("git", "tag", "1.0.1", cwd=src)
    run(*git, "init", "--quiet", cwd=dst)
    run(*git, "add", "--all", cwd=dst)
    run(*git, "commit", "--quiet", "--no-verify", "-m", "1", cwd=dst)
    run(*COPIER, "update", "--quiet", "--defaults", cwd=dst)
    assert (dst / ".copier-answers.yml").read_text() == written.replace("1.0.0", "1.0.1")


def deployment(app: Path) -> dict:
    """What names a deployment's data and images, as compose reads the app's compose file:
    the project, its volumes and data folders, each service's image."""
    command = ("docker", "compose", "-f", "docker-compose.app.yml", "config", "--format", "json")
    config = json.loads(run(*command, cwd=app).stdout)
    services = config["services"]
    data = str(app.parent / "data")
    return {
        "name": config["name"],
        "volumes": {volume["name"] for volume in config["volumes"].values()},
        "folders": {
            volume["source"]
            for service in services.values()
            for volume in service.get("volumes", [])
            if volume["source"].startswith(data)
        },
        "images": {name: service["image"] for name, service in services.items()},
    }


def untagged(named: dict[str, str]) -> dict[str, str]:
    return {name: image.rpartition(":")[0] for name, image in named.items()}


@pytest.mark.parametrize("release", releases(ROOT))
def test_update_from_each_release_keeps_the_answers_and_the_deployments_names(
    template, tmp_path, release
):
    """Releases before the JSON form wrote YAML; the update (stack first, as the README says)
    keeps the answers and rewrites the file so that the tools read it without PyYAML. The
    deployment keeps its project name, volumes, data folders and image names, and the stack
    tool names the images compose runs."""
    app, stack = tmp_path / "shop", tmp_path / "shop-stack"
    copy = ("copy", "--trust", "--defaults", f"--vcs-ref={release}", "--data=repo=app")
    copy += ("--data=project_name=shop", f"--data=data_root={tmp_path / 'data'}")
    run(*COPIER, *copy, template, app)
    was = deployment(app)
    for repo in (stack, app):
        before = answers_of(repo)
        run(*COPIER, "update", "--trust", "--defaults", cwd=repo)
        after = json.loads((repo / ".copier-answers.yml").read_text())
        assert after["_commit"] == TEMPLATE_VERSION
        kept = (before.keys() & after.keys()) - {"_commit"}  # a stack has no data_root since 0.2.0
        assert {key: after[key] for key in kept} == {key: before[key] for key in kept}
        assert len(kept) > 10
    now = deployment(app)
    assert now["name"] == was["name"] == "shop" and "shop_pgdata" in was["volumes"]
    assert now["volumes"] >= was["volumes"] and now["folders"] >= was["folders"] != set()
    assert untagged(now["images"]).items() >= untagged(was["images"]).items()
    built = images.tags(stack, app)
    assert {name: now["images"][name] for name in built} == built


def test_a_server_python_without_pyyaml_gets_the_stack_of_a_fresh_clone(generate, tmp_path):
    """The app's README for a new server: clone the app, scripts/get_stack.py clones the
    stack at the app's version (STACK_REPO_URL), with python3 alone (no copier, no PyYAML)."""
    pair = generate()
    venv = tmp_path / "bare python"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    clone, stack = tmp_path / "app", tmp_path / "stack"
    run("git", "clone", "--quiet", pair.app, clone)
    got = run(
        venv / "bin/python",
        clone / "scripts/get_stack.py",
        stack,
        env={"STACK_REPO_URL": str(pair.stack)},
    )
    assert f"Stack at template version {TEMPLATE_VERSION}" in got.stdout
    assert_links(clone, stack)
    missing = run(venv / "bin/python", "-c", "import yaml", check=False)
    assert "No module named 'yaml'" in missing.stderr


def test_the_app_only_questions_of_get_stack_are_those_copier_asks_an_app_only(generate):
    """Which questions are the app's alone: their `when:` in copier.yml, and APP_ONLY in
    scripts/get_stack.py (which gives the stack the other answers); the same set."""
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    app_only = {
        name
        for name, question in config.items()
        if isinstance(question, dict) and "repo == 'app'" in str(question.get("when", ""))
    }
    assert {"repo", *app_only} == get_stack.APP_ONLY
    app, stack = (answers_of(repo) for repo in (generate().app, generate().stack))
    assert app_only <= app.keys() and not app_only & stack.keys()
    shared = stack.keys() - {"_commit", "_src_path", "repo"}
    assert {key: stack[key] for key in shared} == {key: app[key] for key in shared}
    assert app.keys() - app_only - shared == {"_commit", "_src_path", "repo"}
