import logging
import socket

from django.conf import settings
from django.db import connection
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

logger = logging.getLogger(__name__)


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_redis():
    from redis import Redis  # installed only where there is a REDIS_URL: with Celery

    with Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2) as redis:
        redis.ping()


def checks():
    """The services this backend uses: the database, and Redis when the settings name one."""
    found = {"database": check_database}
    if hasattr(settings, "REDIS_URL"):
        found["redis"] = check_redis
    return found


@require_GET
def health(request):
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


class SessionUser(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class Session(serializers.Serializer):
    """Who is signed in: the user, or null."""

    user = SessionUser(allow_null=True)


@ensure_csrf_cookie
@extend_schema(responses=Session)
@api_view(["GET"])
@permission_classes([AllowAny])
def session(request):
    """Who is signed in: {"user": null} or {"user": {"id": ..., "email": ...}}, always 200 (a
    browser logs a 401 as an error), and the csrftoken cookie the React app sends back in
    X-CSRFToken."""
    user = request.user
    found = {"id": user.pk, "email": user.email} if user.is_authenticated else None
    return Response({"user": found})


def not_found(request):
    raise Http404
