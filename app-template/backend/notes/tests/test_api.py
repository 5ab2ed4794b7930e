import importlib
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from rest_framework.test import APIClient

from notes.models import Note

pytestmark = pytest.mark.django_db


def titles(response: HttpResponse) -> list[str]:
    assert response.status_code == 200, response.content
    return [note["title"] for note in json.loads(response.content)["results"]]


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_requests_are_refused(api_client: APIClient, method: str) -> None:
    Note.objects.create(title="someone's")

    response = getattr(api_client, method)("/api/notes/", {"title": "x"}, format="json")

    assert response.status_code == 403
    assert Note.objects.count() == 1


def test_list_shows_the_users_own_notes_newest_first(signed_in: Callable[..., APIClient]) -> None:
    client = signed_in("ann@example.com")
    client.post("/api/notes/", {"title": "first"}, format="json")
    client.post("/api/notes/", {"title": "second", "body": "more"}, format="json")

    response = client.get("/api/notes/")

    assert titles(response) == ["second", "first"]
    assert response.json()["results"][0]["body"] == "more"


def test_two_users_each_see_and_edit_only_their_own_notes(
    signed_in: Callable[..., APIClient],
) -> None:
    ann, bob = signed_in("ann@example.com"), signed_in("bob@example.com")
    anns = ann.post("/api/notes/", {"title": "Ann's"}, format="json").json()
    bob.post("/api/notes/", {"title": "Bob's"}, format="json")

    assert titles(ann.get("/api/notes/")) == ["Ann's"]
    assert titles(bob.get("/api/notes/")) == ["Bob's"]
    url = f"/api/notes/{anns['id']}/"
    assert bob.get(url).status_code == 404
    assert bob.patch(url, {"title": "Bob was here"}, format="json").status_code == 404
    assert bob.delete(url).status_code == 404
    assert ann.patch(url, {"title": "Ann's, edited"}, format="json").status_code == 200
    note = Note.objects.select_related("author").get(pk=anns["id"])
    assert note.title == "Ann's, edited"
    assert note.author is not None and note.author.email == "ann@example.com"


def test_notes_from_before_authors_are_seen_by_staff_only(
    signed_in: Callable[..., APIClient],
) -> None:
    Note.objects.create(title="from before sign-in")
    user, staff = signed_in("ann@example.com"), signed_in("ops@example.com", is_staff=True)

    assert titles(user.get("/api/notes/")) == []
    assert titles(staff.get("/api/notes/")) == ["from before sign-in"]


def test_lists_come_a_page_at_a_time(signed_in: Callable[..., APIClient]) -> None:
    client = signed_in("ann@example.com")
    user = get_user_model().objects.get()
    Note.objects.bulk_create(Note(title=f"note {n}", author=user) for n in range(25))

    first = client.get("/api/notes/").json()
    second = client.get(first["next"]).json()

    assert first["count"] == 25 and len(first["results"]) == 20 and first["previous"] is None
    assert len(second["results"]) == 5 and second["next"] is None
    assert client.get("/api/notes/?page=3").status_code == 404


def test_create_returns_the_new_note(signed_in: Callable[..., APIClient]) -> None:
    response = signed_in("ann@example.com").post(
        "/api/notes/", {"title": "Hello", "body": "World"}, format="json"
    )

    assert response.status_code == 201
    note = response.json()
    assert (note["title"], note["body"]) == ("Hello", "World")
    assert note["created_at"]
    assert Note.objects.get(pk=note["id"]).title == "Hello"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"body": "no title"}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "long", "body": "x" * 10_001}, "body"),
    ],
    ids=["missing-title", "empty-title", "long-title", "long-body"],
)
def test_create_rejects_invalid_notes(
    signed_in: Callable[..., APIClient], data: dict[str, str], field: str
) -> None:
    response = signed_in("ann@example.com").post("/api/notes/", data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Note.objects.exists()


def test_a_body_over_djangos_limit_is_refused_before_it_is_parsed(
    signed_in: Callable[..., APIClient],
) -> None:
    # A field the serializer ignores: only the size of the whole body refuses it.
    too_big = json.dumps({"title": "big", "padding": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    response = signed_in("ann@example.com").post(
        "/api/notes/", too_big, content_type="application/json"
    )

    assert response.status_code in (400, 413)
    assert not Note.objects.exists()


def test_a_write_needs_the_csrf_token_of_the_session(make_user: Callable[..., Any]) -> None:
    client = APIClient(enforce_csrf_checks=True, headers={"X-Forwarded-Proto": "https"})
    client.force_login(make_user("ann@example.com"))
    origin: dict[str, Any] = {"HTTP_ORIGIN": "https://testserver", "SERVER_PORT": "443"}

    refused = client.post("/api/notes/", {"title": "Hello"}, format="json", **origin)
    token = client.get("/api/session/").cookies["csrftoken"].value
    accepted = client.post(
        "/api/notes/", {"title": "Hello"}, format="json", HTTP_X_CSRFTOKEN=token, **origin
    )

    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert accepted.status_code == 201, accepted.content


def test_the_browsable_api_is_off_unless_the_env_turns_it_on(
    signed_in: Callable[..., APIClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in("ann@example.com")
    browsable = "rest_framework.renderers.BrowsableAPIRenderer"
    browser = "text/html,application/xhtml+xml,*/*;q=0.8"
    assert client.get("/api/notes/", HTTP_ACCEPT=browser)["Content-Type"] == "application/json"
    assert browsable not in settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]

    monkeypatch.setenv("DJANGO_BROWSABLE_API", "true")
    module = importlib.reload(importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"]))
    assert browsable in module.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]
