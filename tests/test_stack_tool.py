"""The stack tool (stack-template/stacktool): portable to Python 3.9 and POSIX hosts, one
reader per file format, one rule per value."""

from __future__ import annotations

import json
import random
import re
import shutil
import sys
from pathlib import Path

import jinja2
import pytest
import yaml
from helpers import ROOT, TEMPLATE_VERSION, answers_of, posix_path, run, tool
from stacktool import answers, images


def test_host_side_code_needs_no_more_than_python_3_9():
    paths = [
        ROOT / "stack-template/stacktool",
        ROOT / "stack-template/stack",
        ROOT / "stack-template/scripts",
        ROOT / "stack-template/tests",
        ROOT / "app-template/scripts/get_stack.py",
        ROOT / "hooks",
    ]
    result = run(tool("vermin"), "-t=3.9-", "--no-tips", "--violations", "--eval-annotations",
                 "--backport", "typing", *paths)  # fmt: skip
    # vermin exits non-zero when a file needs more (run() checks), and names the minimum.
    assert "Target versions not met" not in result.stdout
    assert re.search(r"^Minimum required versions: 3\.[0-9]$", result.stdout, re.M), result.stdout
    assert re.search(r"^Analyzing \d+ files", result.stdout, re.M)


def test_the_stacks_own_tests_pass_with_only_python3_git_and_posix_tools(generate, tmp_path):
    """... and a python3 whose path holds a space, as a checkout's venv may (a #! line ends at
    the first space)."""
    stack = generate().stack
    venv = tmp_path / "a venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    path = posix_path(tmp_path / "bin")
    (Path(path) / "python3").write_text(f'#!/bin/sh\nexec "{venv}/bin/python" "$@"\n')
    result = run("python3", "-m", "unittest", "-v", cwd=stack, env={"PATH": path})
    assert re.search(r"^Ran [1-9]\d* tests", result.stderr, re.M), result.stderr
    assert result.stderr.rstrip().endswith("OK")


HOSTILE = [
    "",
    "plain",
    "yes",
    "24",
    "3.12",
    "null",
    "~",
    'Triple """ quote',
    "Back\\N slash",
    "it's",
    "$(touch x) `id`",
    "Café Crème ß 漢字 🎉",
    "# not a comment",
    "key: value",
    " leading and trailing ",
    "new\nline\n\nand blank",
    "tab\there",
    "- dash",
    "'quoted'",
    '"double"',
    "x" * 150,
    "a long value with spaces " * 8,
    "/a/path/with spaces/" * 6,
    "\\\\server\\share",
    "bell\a and \x1b escape",
]


ANSWERS_TEMPLATE = jinja2.Environment(
    extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],  # as copier's
    keep_trailing_newline=True,
).from_string((ROOT / "stack-template/{{ _copier_conf.answers_file }}.jinja").read_text())


def written_answers(data: dict) -> str:
    """The answers file as the template renders it."""
    return ANSWERS_TEMPLATE.render(_copier_answers=data)


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_answers_read_by_the_tool_and_by_copier_as_written(value):
    """The tool reads JSON; copier reads the same file as YAML."""
    data = {"_commit": "1.2.3", "project_name": value, "use_celery": True, "z": [value, 3]}
    text = written_answers(data)
    assert answers.parse(text) == yaml.safe_load(text) == data, text


def test_answers_read_by_the_tool_and_by_copier_as_written_for_random_text():
    rng = random.Random(8)
    alphabet = "ab yz'\"\\#:-\n\t!&*[]{}|>%@`é漢🎉" + "\x85\u2028\u2029\xa0\x7f\x9f\x00"
    for _ in range(2000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        data = {"project_name": value, "slug": "shop", "settings": {value: [value]}}
        text = written_answers(data)
        assert answers.parse(text) == yaml.safe_load(text) == data, text


def test_answers_files_of_generated_repos_read_as_copier_reads_them(generate):
    pair = generate()
    for repo in (pair.app, pair.stack):
        assert answers.read_answers(repo) == answers_of(repo)


def test_compose_runs_the_images_the_tool_builds(generate):
    pair = generate()
    config = run("docker", "compose", "-f", "docker-compose.app.yml", "config", "--format",
                 "json", cwd=pair.app)  # fmt: skip
    services = json.loads(config.stdout)["services"]
    built = images.tags(pair.stack, pair.app)
    assert {service: services[service]["image"] for service in built} == built
    recorded = answers.read_answers(pair.stack)
    assert json.loads(config.stdout)["name"] == recorded["slug"] == images.slug(pair.stack)
    assert images.version(pair.stack) == recorded["_commit"]


def test_a_compose_file_whose_images_disagree_on_the_version_is_an_error(generate, tmp_path):
    """The tool reads the slug and the version where compose does: one tag for all images."""
    stack = tmp_path / "stack"
    shutil.copytree(generate().stack, stack, symlinks=True)
    compose = stack / images.STACK_COMPOSE_FILE
    compose.write_text(compose.read_text().replace(f"-caddy:{TEMPLATE_VERSION}", "-caddy:0.0.1"))
    result = run(stack / "stack", "version", check=False)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {compose} lacks its `name:` line or one tag for the images of backend, "
        f"frontend, caddy: restore them (git diff {images.STACK_COMPOSE_FILE})\n"
    )


def test_a_deployment_named_in_its_env_gets_its_own_images_and_data(generate, tmp_path):
    """COMPOSE_PROJECT_NAME in the app's .env names the deployment for compose and the tool."""
    pair = generate()
    app = tmp_path / "second"
    run("git", "clone", "--quiet", pair.app, app)
    run(pair.stack / "stack", "link", app)
    run(pair.stack / "stack", "env", app)
    dotenv = app / ".env"
    dotenv.write_text(dotenv.read_text() + f"COMPOSE_PROJECT_NAME=second\nDATA_ROOT={tmp_path}\n")
    config = run("docker", "compose", "-f", "docker-compose.app.yml", "config", "--format",
                 "json", cwd=app)  # fmt: skip
    services = json.loads(config.stdout)["services"]
    assert services["backend"]["image"].startswith("second-backend:")
    media = [v["source"] for v in services["backend"]["volumes"] if v["target"] == "/srv/media"]
    result = run(pair.stack / "install.sh", "--app", app)
    assert f"Data folder: {tmp_path}/second/media" in result.stdout
    assert media == [f"{tmp_path}/second/media"]
