import socket

import pytest
from django.test import Client
from pytest_django import Settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_health_reports_database_ok(api_client: APIClient) -> None:
    response = api_client.get("/api/health/")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"


def test_health_answers_plain_http_without_login(client: Client) -> None:
    # The container healthcheck calls gunicorn directly, without Caddy's HTTPS.
    response = client.get("/api/health/", HTTP_HOST="127.0.0.1:8000")

    assert response.status_code == 200


def test_health_names_the_replica_to_the_operators_only(
    api_client: APIClient, settings: Settings
) -> None:
    # Several backends (Docker Swarm): the host name of the container that answered, for a
    # request from inside the Docker network; Caddy adds X-Forwarded-For to every request.
    replica = socket.gethostname()
    direct = APIClient().get("/api/health/", HTTP_HOST="127.0.0.1:8000")
    public = api_client.get("/api/health/", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert direct["X-Replica"] == replica
    assert "X-Replica" not in public

    settings.HEALTH_SHOWS_REPLICA = True
    shown = api_client.get("/api/health/", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert shown["X-Replica"] == replica
