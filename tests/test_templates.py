"""The template sources themselves: values live as data, so a rendered file stays plain."""

from __future__ import annotations

import re

import pytest
from helpers import ROOT, manifest

MAX_TAGS = 6
TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
TEMPLATES = sorted(
    path
    for folder in ("stack-template", "app-template")
    for path in (ROOT / folder).rglob("*.jinja")
    if path.is_file()
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
