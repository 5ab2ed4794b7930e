"""Read copier's answers file, `.copier-answers.yml`: JSON (which is YAML, so copier reads it
too), so the standard library reads it. The app has this same file as scripts/answers.py.

Releases before the JSON form wrote YAML; where copier runs, its PyYAML reads those, and
their next `copier update` rewrites the file as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

try:
    from .errors import StackError
except ImportError:  # loaded on its own: the app's scripts/answers.py

    class StackError(Exception):
        """Something the user can fix; the message says how."""


ANSWERS_FILE = ".copier-answers.yml"


def read_answers(folder: Path) -> dict[str, Any]:
    """The answers recorded in `folder`/.copier-answers.yml."""
    path = Path(folder) / ANSWERS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackError(
            f"{path} not found: {folder} is not a generated repo (copier copy makes one)"
        ) from None
    return parse(text, path)


def parse(text: str, path: Path | str = ANSWERS_FILE) -> dict[str, Any]:
    """The answers of an answers file's text (`path` names it in errors)."""
    try:
        answers = json.loads(text)
    except ValueError:
        answers = _old_form(text, path)
    if not isinstance(answers, dict):
        raise StackError(f"{path}: not a mapping of answers")
    return answers


def _old_form(text: str, path: Path | str) -> Any:
    """An answers file in YAML, from a release before the JSON form."""
    try:
        import yaml  # comes with copier
    except ImportError:
        raise StackError(
            f"{path} is in the YAML form of an older template release: update this repo "
            "(copier update --trust --defaults, as its README says)"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise StackError(f"{path}: {error}") from None
