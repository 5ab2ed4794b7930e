"""Every invalid answer is rejected before anything is written, with a message naming the fix."""

from __future__ import annotations

import pytest
from helpers import copier_copy

INVALID = {
    "name-with-newline": ({"project_name": "Two\nlines"}, "Use one line of printable characters"),
    "name-with-tab": ({"project_name": "Tab\there"}, "without tabs or line breaks"),
    "name-with-escape": ({"project_name": "Red \x1b[31m"}, "Use one line of printable characters"),
    "slug-uppercase": ({"slug": "My_Shop"}, "lowercase letters, digits and '-'"),
    "slug-too-short": ({"slug": "ab"}, "Use 3-40 characters"),
    "package-not-identifier": ({"package": "my-core"}, "Use a Python identifier"),
    "package-shadows-stdlib": ({"package": "json"}, "'json' shadows a module"),
    "package-shadows-django": ({"package": "django"}, "'django' shadows a module"),
    "domain-with-scheme": ({"domain": "https://example.com"}, "without scheme, port or path"),
    "domain-with-port": ({"domain": "example.com:8443"}, "without scheme, port or path"),
    "email-invalid": ({"acme_email": "ops-at-example.com"}, "Use an e-mail address"),
    "public-domain-without-email": ({"domain": "example.com"}, "needs an e-mail for Let's Encrypt"),
    "data-root-relative": ({"data_root": "data"}, "Use an absolute path"),
    "image-with-space": ({"python_image": "python 3.12"}, "Use an image reference"),
    "python-version-unsupported": ({"python_version": "3.9"}, "3.9"),
    "postgres-image-of-another-major": (
        {"postgres_version": "18", "postgres_image": "mirror.example.com:5000/postgres:17.6"},
        "mirror.example.com:5000/postgres:17.6 is not PostgreSQL 18",
    ),
    "stack-path-is-the-app": ({"stack_path": "."}, "is the app's folder or inside it"),
    "stack-path-inside-the-app": ({"stack_path": "stack"}, "is the app's folder or inside it"),
}


@pytest.mark.parametrize(("answers", "message"), list(INVALID.values()), ids=list(INVALID))
def test_invalid_answer_is_rejected_and_nothing_written(template, tmp_path, answers, message):
    dst = tmp_path / "out dir" / "app"
    result = copier_copy(template, dst, check=False, repo="app", **answers)
    assert result.returncode != 0
    assert message in result.stderr
    assert not dst.exists()
    assert not (tmp_path / "out dir").exists(), "the stack was generated"


def test_stack_path_that_holds_something_else_is_rejected(template, tmp_path):
    other = tmp_path / "not-a-stack"
    other.mkdir()
    (other / "notes.txt").write_text("mine\n")
    dst = tmp_path / "app"
    result = copier_copy(template, dst, check=False, repo="app", stack_path="../not-a-stack")
    assert result.returncode != 0
    assert "holds no stack" in result.stderr and "point stack_path at" in result.stderr
    assert not dst.exists()
    assert [p.name for p in other.iterdir()] == ["notes.txt"]


def test_stack_path_in_the_existing_app_folder_is_rejected_and_nothing_written(template, tmp_path):
    app = tmp_path / "shop"
    app.mkdir()
    (app / "notes.txt").write_text("mine\n")
    for stack_path in (".", "./stack", str(app / "stack")):
        result = copier_copy(template, app, check=False, repo="app", stack_path=stack_path)
        assert result.returncode != 0
        assert "is the app's folder or inside it" in result.stderr
        assert "e.g. ../shop-stack" in result.stderr
        assert [p.name for p in app.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["shop"]
