import pytest

pytestmark = pytest.mark.django_db


def test_health_reports_database_ok(api_client):
    response = api_client.get("/api/health/")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"


def test_health_answers_plain_http_without_login(client):
    # The container healthcheck calls gunicorn directly, without Caddy's HTTPS.
    response = client.get("/api/health/", HTTP_HOST="127.0.0.1:8000")

    assert response.status_code == 200


def test_health_names_the_replica_that_answers(client):
    # Several backends (Docker Swarm): the host name of the container that answered.
    import socket

    response = client.get("/api/health/", HTTP_HOST="127.0.0.1:8000")

    assert response["X-Replica"] == socket.gethostname()
