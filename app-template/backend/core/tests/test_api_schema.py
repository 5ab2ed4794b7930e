"""The API's OpenAPI schema (/api/schema/) and its docs page (/api/docs/): complete, and for
staff only."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_the_schema_describes_every_endpoint_without_a_warning(tmp_path: Path) -> None:
    schema = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(schema), "--validate", "--fail-on-warn")
    text = schema.read_text()
    for path in ("/api/notes/:", "/api/notes/{id}/:", "/api/session/:"):
        assert f"\n  {path}\n" in text, path
    # The sign-in API, described by django-allauth, with its components under names of
    # their own.
    for path in ("/api/auth/browser/v1/auth/login:", "/api/auth/browser/v1/auth/session:"):
        assert f"\n  {path}\n" in text, path
    assert "\n    AuthUser:\n" in text
    assert "#/components/schemas/User'" not in text


@pytest.mark.parametrize("extension", ["yaml", "json", "html"])
def test_allauth_does_not_serve_its_schema_of_its_own(
    extension: str, api_client: APIClient
) -> None:
    assert api_client.get(f"/api/auth/openapi.{extension}").status_code == 404


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_schema_and_its_docs_are_for_staff_only(
    path: str, api_client: APIClient, signed_in: Callable[..., APIClient]
) -> None:
    assert api_client.get(path).status_code == 403
    assert signed_in("someone@example.com").get(path).status_code == 403
    assert signed_in("staff@example.com", is_staff=True).get(path).status_code == 200


def test_the_docs_page_runs_no_inline_script(signed_in: Callable[..., APIClient]) -> None:
    """Its scripts are files of this site (the stack's static files and the page's own script
    at ?script), which the Content-Security-Policy allows."""
    staff = signed_in("staff@example.com", is_staff=True)
    page = staff.get("/api/docs/").content.decode()
    sources = re.findall(r"<script([^>]*)>", page)
    assert sources and all(re.search(r'src="/', attributes) for attributes in sources), page
    script = re.search(r'<script src="(/api/docs/\?script[^"]*)"', page)
    assert script, page
    answer = staff.get(script.group(1).replace("&amp;", "&"))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in answer.content.decode()
