from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from allauth.core.internal import ratelimit
from allauth.core.internal.ratelimit import Rate
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

if TYPE_CHECKING:  # for the type only: rest_framework.views imports this module
    from rest_framework.views import APIView

# The time a window is counted by (a test sets it).
clock = time.time


class RateLimit(BaseThrottle):
    """The API's rate limits: ACCOUNT_RATE_LIMITS "api" (per address) and "api_user" (per
    account), read and keyed as allauth's limiter does for sign-in and sign-up: the same
    setting, the same client address (the one Caddy forwards), the same shared cache.

    Counted differently, though: a counter per fixed window, added and incremented in one
    step each, with no lock. allauth's own consume() takes a lock per address for every
    request (one address's requests wait on each other; a worker killed while holding it
    refuses that address for ten seconds) and keeps a timestamp per request, fine for a few
    sign-ins a minute, not for every API call. A client may burst up to twice a rate across a
    window's edge, as with any fixed window."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.retry_after: float | None = None
        now = clock()
        for action in ("api", "api_user"):
            for rate in ratelimit.get_rates(app="allauth.account", action=action):
                source = self.source(request, rate)
                if source is None:
                    continue
                window = math.floor(now / rate.duration)
                end = (window + 1) * rate.duration
                key = f"api-rl:{action}:{rate}:{source}:{window}"
                if hit(key, end - now + 1) > rate.amount:
                    self.retry_after = end - now
                    return False
        return True

    def wait(self) -> float | None:
        return self.retry_after

    @staticmethod
    def source(request: Request, rate: Rate) -> str | None:
        """Whom a rate counts: the client's address, or the signed-in account (None when
        signed out)."""
        if rate.per == "ip":
            address: str = ratelimit.get_ip(request)
            return address
        if rate.per == "user":
            return str(request.user.pk) if request.user.is_authenticated else None
        raise ImproperlyConfigured(f"API rate {rate}: per ip or per user only")


def hit(key: str, seconds: float) -> int:
    """One more request in the counter `key` (made for `seconds` if new): the count so far.
    Redis increments in place; the database cache reads and writes (two workers' hits at the
    same moment may count once), and keeps the counter its TIMEOUT after the last hit."""
    if cache.add(key, 1, timeout=seconds):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two
        cache.add(key, 1, timeout=seconds)
        return 1
