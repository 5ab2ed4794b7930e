import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

PASSWORD = "a long enough passphrase"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Passwords hashed in a blink: tests sign in often, the real hasher takes ~0.3 s."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_rate_limits(request):
    """Each test counts from zero: the cache holding the counters (Redis with Celery) outlives
    a test's database transaction."""
    if request.node.get_closest_marker("django_db"):
        cache.clear()


@pytest.fixture
def api_client():
    """A client whose requests arrive as they do through Caddy: over HTTPS."""
    return APIClient(headers={"X-Forwarded-Proto": "https"})


@pytest.fixture
def make_user(db):
    """make_user(email, **fields): a user who can sign in (e-mail verified), with PASSWORD."""
    from allauth.account.models import EmailAddress

    def make(email, **fields):
        model = get_user_model()
        user = model.objects.create_user(
            **{model.USERNAME_FIELD: email, "email": email}, password=PASSWORD, **fields
        )
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        return user

    return make


@pytest.fixture
def signed_in(make_user):
    """signed_in(email): an API client with that user's session."""

    def client(email, **fields):
        found = APIClient(headers={"X-Forwarded-Proto": "https"})
        found.force_login(make_user(email, **fields))
        return found

    return client
