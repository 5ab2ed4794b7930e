import importlib

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from notes.models import Note

pytestmark = pytest.mark.django_db


def test_list_shows_newest_first(api_client):
    Note.objects.create(title="first")
    Note.objects.create(title="second", body="more")

    response = api_client.get("/api/notes/")

    assert response.status_code == 200
    assert [(n["title"], n["body"]) for n in response.json()] == [("second", "more"), ("first", "")]


def test_create_returns_the_new_note(api_client):
    response = api_client.post("/api/notes/", {"title": "Hello", "body": "World"}, format="json")

    assert response.status_code == 201
    note = response.json()
    assert (note["title"], note["body"]) == ("Hello", "World")
    assert note["created_at"]
    assert Note.objects.get(pk=note["id"]).title == "Hello"


@pytest.mark.parametrize(
    ("data", "field"),
    [({"body": "no title"}, "title"), ({"title": ""}, "title"), ({"title": "x" * 201}, "title")],
    ids=["missing-title", "empty-title", "long-title"],
)
def test_create_rejects_invalid_notes(api_client, data, field):
    response = api_client.post("/api/notes/", data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Note.objects.exists()


def test_create_works_for_a_logged_in_admin_without_csrf_token():
    client = APIClient(enforce_csrf_checks=True, headers={"X-Forwarded-Proto": "https"})
    client.force_login(get_user_model().objects.create_superuser("admin", password="x"))

    response = client.post("/api/notes/", {"title": "Hello"}, format="json")

    assert response.status_code == 201


def test_the_browsable_api_is_off_unless_the_env_turns_it_on(api_client, monkeypatch):
    browsable = "rest_framework.renderers.BrowsableAPIRenderer"
    browser = "text/html,application/xhtml+xml,*/*;q=0.8"
    assert api_client.get("/api/notes/", HTTP_ACCEPT=browser)["Content-Type"] == "application/json"
    assert browsable not in settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]

    monkeypatch.setenv("DJANGO_BROWSABLE_API", "true")
    module = importlib.reload(importlib.import_module(settings.SETTINGS_MODULE))
    assert browsable in module.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]
