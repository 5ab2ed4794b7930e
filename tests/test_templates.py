"""The template sources themselves: values live as data, so a rendered file stays plain."""

from __future__ import annotations

import re
import subprocess

import pytest
from helpers import CHOICES, COPIER_PIN, DEFAULTS, ROOT, manifest

MAX_TAGS = 6
TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
TEMPLATES = sorted(
    path
    for folder in ("stack-template", "app-template")
    for path in (ROOT / folder).rglob("*.jinja")
    # The services' description is not rendered: the compose files import its macros.
    if path.is_file() and path != ROOT / "stack-template/compose/services.jinja"
)


def template_id(path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", TEMPLATES, ids=template_id)
def test_rendered_file_has_a_handful_of_tags_and_no_raw_block(path):
    text = path.read_text()
    assert not re.search(r"\{%-?\s*raw\b", text), "a .jinja file needs no {% raw %}"
    tags = len(set(TAG.findall(text)))  # a value written in several places counts once
    assert tags <= MAX_TAGS, f"{tags} distinct Jinja tags: make values data (.env, files CI reads)"


def test_app_gitignore_lists_exactly_the_stack_links_first():
    lines = (ROOT / "app-template/.gitignore").read_text().splitlines()
    assert lines[0].startswith("# Links into the stack")
    block = lines[1 : lines.index("")]
    assert block == [f"/{app_path}" for app_path, _ in manifest(ROOT / "stack-template")]


# ---- Each version list and default in one place ---------------------------------------------
# copier.yml's questions hold the versions offered and their defaults, .env.example the
# settings' defaults, pyproject.toml the copier pin. What reads them needs no test; where a
# file cannot read them (a Caddyfile, a CI file, a README), a test checks its copy here.


def test_the_node_majors_provisioned_are_those_copier_offers():
    script = (ROOT / ".ci/provision-node.sh").read_text()
    table = script.split('\nVERSIONS="\n', 1)[1].split('\n"\n', 1)[0]
    assert [line.split()[0] for line in table.splitlines()] == CHOICES["node_version"]


def test_a_postgres_stand_in_is_built_for_each_major_copier_offers():
    script = (ROOT / "tests/standins/build.sh").read_text()
    built = re.findall(r"^ *\{? *build template-standin/postgres:(\d+) ", script, re.M)
    assert built == CHOICES["postgres_version"]


def test_the_docs_table_of_answers_gives_copier_ymls_choices_and_defaults():
    text = (ROOT / "docs/architecture.md").read_text()
    rows = dict(
        (name, (kinds, default))
        for name, kinds, default in re.findall(r"^\| `(\w+)` \| (.*?) \| (.*?) \|", text, re.M)
    )
    for name, options in CHOICES.items():
        kinds, default = rows[name]
        if isinstance(DEFAULTS[name], bool):
            assert (kinds, default) == ("bool", f"`{str(DEFAULTS[name]).lower()}`"), name
        else:
            assert re.findall(r'`"?([^`"]+)"?`', kinds) == options, name
            assert re.findall(r'`"?([^`"]+)"?`', default) == [DEFAULTS[name]], name


def test_the_admin_paths_default_is_the_one_of_env_example_wherever_it_is_written():
    """Settings (for CI, which has no .env), compose (for an .env from before the key), Caddy
    (its placeholder's default) and the docs write it; .env.example, which every .env gets, is
    its home."""
    (default,) = re.findall(
        r"^DJANGO_ADMIN_URL=(.*)$", (ROOT / "app-template/.env.example.jinja").read_text(), re.M
    )
    compose, caddy = r"\$\{DJANGO_ADMIN_URL:-(.*?)\}", r"\{\$DJANGO_ADMIN_URL:(.*?)\}"
    written = {
        "app-template/backend/{{ package }}/settings.py.jinja": r'ADMIN_URL", default="(.*?)"',
        "stack-template/compose/services.jinja": compose,  # for compose and Swarm
        "stack-template/caddy/Caddyfile": caddy,
        "stack-template/caddy/Caddyfile.dev": caddy,
        "docs/architecture.md": r"`DJANGO_ADMIN_URL`, default `(.*?)`",
    }
    found = {
        path: set(re.findall(pattern, (ROOT / path).read_text()))
        for path, pattern in written.items()
    }
    assert found == dict.fromkeys(written, {default})


def test_the_backends_health_check_is_written_in_its_dockerfile_alone():
    """Compose and Swarm run the image's check on their own schedule; deploy reads it."""
    writing = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "stack-template").rglob("*")
        if path.is_file() and "127.0.0.1:8000/api/health/" in path.read_text(errors="replace")
    )
    assert writing == ["stack-template/backend/Dockerfile.jinja"]


def test_every_copier_version_named_is_the_pin_of_pyproject():
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    named: dict[str, list[str]] = {}
    for name in files:
        path = ROOT / name
        if name and name != "CHANGELOG.md" and path.is_file() and not path.is_symlink():
            text = path.read_text(errors="replace")
            for version in re.findall(r"(?<![\w-])copier(?:==| )(\d+\.\d+\.\d+)", text):
                named.setdefault(version, []).append(name)
    assert named.keys() == {COPIER_PIN}, named
    assert len(named[COPIER_PIN]) > 10  # the READMEs, CI files and scripts that name it
