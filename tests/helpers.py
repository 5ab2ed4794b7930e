"""Checks shared by the test files."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

import yaml

SKIP_DIRS = {".git", "node_modules", ".venv", "__pycache__", "dist"}


def project_files(root: Path) -> list[Path]:
    """Every regular file of a generated repo, links and their targets excluded."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not (Path(folder) / d).is_symlink()]
        found += [Path(folder) / f for f in files if not (Path(folder) / f).is_symlink()]
    return found


def strip_jsonc(text: str) -> str:
    """TypeScript's config files are JSON with comments and trailing commas."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    return re.sub(r",(\s*[}\]])", r"\1", text)


class _Loader(yaml.SafeLoader):
    """GitLab CI's `!reference` tags are valid YAML for our purpose."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def assert_generated(root: Path) -> None:
    """No template syntax left; every YAML/JSON/TOML file parses; every Python file compiles."""
    files = project_files(root)
    assert files, f"nothing generated in {root}"
    for path in files:
        text = path.read_text(errors="replace")
        if path.suffix in {".yml", ".yaml"}:
            text = re.sub(r"\$\{\{.*?\}\}", "", text)  # GitHub Actions expressions
        assert "{{" not in text and "{%" not in text, f"template syntax left in {path}"
        if path.suffix in {".yml", ".yaml"}:
            list(yaml.load_all(text, Loader=_Loader))
        elif path.suffix == ".json":
            json.loads(strip_jsonc(text) if path.name.startswith("tsconfig") else text)
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix == ".py":
            compile(text, str(path), "exec")
        assert not path.name.endswith(".jinja"), f"unrendered template file {path}"


def answers_of(repo: Path) -> dict:
    """The answers copier recorded in a generated repo."""
    return yaml.safe_load((repo / ".copier-answers.yml").read_text())


def manifest(stack: Path) -> list[tuple[str, str]]:
    """The stack's link manifest as (path in app, path in stack) pairs."""
    pairs = []
    for line in (stack / "links.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            app_path, stack_path = line.split()
            pairs.append((app_path, stack_path))
    return pairs


def assert_links(app: Path, stack: Path) -> None:
    """Every manifest link exists, is relative and resolves to the stack's file."""
    pairs = manifest(stack)
    assert pairs, "the manifest lists no links"
    for app_path, stack_path in pairs:
        link = app / app_path
        assert link.is_symlink(), f"{app_path} is not a link"
        target = os.readlink(link)
        assert not os.path.isabs(target), f"{app_path} -> {target} is absolute"
        assert link.resolve() == (stack / stack_path).resolve(), f"{app_path} -> {target}"
        assert link.exists(), f"{app_path} dangles"


def read_env(path: Path) -> dict[str, str]:
    """KEY=value lines of a .env file (comments and blank lines skipped)."""
    return parse_env(path.read_text())


def parse_env(text: str) -> dict[str, str]:
    """KEY=value lines of .env text (comments and blank lines skipped)."""
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values
