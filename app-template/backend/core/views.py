import logging
import socket
from collections.abc import Callable
from functools import partial
from typing import Any, NoReturn

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_redis(url: str) -> None:
    from redis import Redis  # installed only where there is a REDIS_URL: with Celery

    with Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as redis:
        redis.ping()


def checks() -> dict[str, Callable[[], None]]:
    """The services this backend uses: the database, and Redis when the settings name one."""
    found = {"database": check_database}
    if redis_url := getattr(settings, "REDIS_URL", None):
        found["redis"] = partial(check_redis, redis_url)
    return found


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Report whether the backend can reach its services; no login needed. The header
    X-Replica names the replica that answers (its container's host name) to the operators:
    requests that did not come through Caddy, which adds X-Forwarded-For to every request."""
    body = {"status": "ok"}
    for name, check in checks().items():
        try:
            check()
        except Exception:
            logger.exception("health check %s failed", name)
            body[name] = body["status"] = "error"
        else:
            body[name] = "ok"
    response = JsonResponse(body, status=200 if body["status"] == "ok" else 503)
    if settings.HEALTH_SHOWS_REPLICA or "HTTP_X_FORWARDED_FOR" not in request.META:
        response["X-Replica"] = socket.gethostname()
    return response


class SessionUser(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class Session(serializers.Serializer[dict[str, Any]]):
    """Who is signed in: the user, or null."""

    user = SessionUser(allow_null=True)


@ensure_csrf_cookie
@extend_schema(responses=Session)
@api_view(["GET"])
@permission_classes([AllowAny])
def session(request: Request) -> Response:
    """Who is signed in: {"user": null} or {"user": {"id": ..., "email": ...}}, always 200 (a
    browser logs a 401 as an error), and the csrftoken cookie the React app sends back in
    X-CSRFToken."""
    user = request.user
    found = {"id": user.pk, "email": user.email} if user.is_authenticated else None
    return Response({"user": found})


def not_found(request: HttpRequest) -> NoReturn:
    raise Http404
