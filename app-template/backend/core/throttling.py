from allauth.core.internal import ratelimit
from rest_framework.throttling import BaseThrottle


class RateLimit(BaseThrottle):
    """The API's rate limits: allauth's limiter (ACCOUNT_RATE_LIMITS "api" per address and
    "api_user" per account), so the API counts in the same store, by the same client address,
    as sign-in and sign-up. (allauth's public ratelimit.consume() lets every GET through.)"""

    def allow_request(self, request, view):
        actions = [("api", None)]
        if request.user.is_authenticated:
            actions.append(("api_user", request.user))
        return all(
            ratelimit.consume(
                request, app="allauth.account", action=action, user=user, limit_get=True
            )
            for action, user in actions
        )
