"""Rate limits: allauth's limiter for all of them, counting in the shared cache, per client
address (the last one of X-Forwarded-For, which Caddy sets) and per account."""

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from pytest_django import Settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/browser/v1/auth/login"
PASSWORD = "a long enough passphrase"


def client_at(address: str) -> APIClient:
    """A client whose requests Caddy forwarded from `address`."""
    return APIClient(headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": address})


def sign_in(client: APIClient, email: str, password: str) -> int | str:
    """The answer's status, or "locked": allauth refuses a sign-in over the limit as a
    failed one (400), with the error code too_many_login_attempts."""
    response = client.post(LOGIN, {"email": email, "password": password}, format="json")
    codes = [error["code"] for error in response.json().get("errors", [])]
    return "locked" if "too_many_login_attempts" in codes else response.status_code


def admin_sign_in(client: APIClient, username: str, password: str) -> tuple[int, bool]:
    """Status of the admin's login form, and whether it signed in."""
    response = client.post(
        f"/{settings.ADMIN_URL}login/", {"username": username, "password": password}
    )
    return response.status_code, "_auth_user_id" in client.session


def test_an_account_is_locked_after_five_failures_from_any_address(
    make_user: Callable[..., Any],
) -> None:
    make_user("ann@example.com")
    for n in range(5):
        assert sign_in(client_at(f"198.51.100.{n}"), "ann@example.com", "wrong") == 400

    assert sign_in(client_at("198.51.100.9"), "ann@example.com", PASSWORD) == "locked"
    assert sign_in(client_at("198.51.100.9"), "bob@example.com", "wrong") == 400


def test_an_address_is_locked_after_ten_failures_on_any_account(
    make_user: Callable[..., Any],
) -> None:
    make_user("ann@example.com")
    attacker, other = client_at("203.0.113.7"), client_at("198.51.100.1")
    for n in range(10):
        assert sign_in(attacker, f"user{n}@example.com", "wrong") == 400

    assert sign_in(attacker, "ann@example.com", PASSWORD) == "locked"
    assert sign_in(other, "ann@example.com", PASSWORD) == 200


def test_the_address_is_the_one_caddy_adds_not_one_the_client_sent(
    make_user: Callable[..., Any],
) -> None:
    make_user("ann@example.com")
    for n in range(10):
        # Caddy replaces a client's X-Forwarded-For; with a proxy that appended, the last
        # address is still the one the proxy saw.
        spoofing = client_at(f"10.0.0.{n}, 203.0.113.7")
        assert sign_in(spoofing, f"user{n}@example.com", "wrong") == 400

    assert sign_in(client_at("203.0.113.7"), "ann@example.com", PASSWORD) == "locked"


def test_the_admin_login_shares_the_counters(make_user: Callable[..., Any]) -> None:
    make_user("ops@example.com", is_staff=True, is_superuser=True)
    for n in range(5):
        assert sign_in(client_at(f"198.51.100.{n}"), "ops@example.com", "wrong") == 400

    assert admin_sign_in(client_at("198.51.100.9"), "ops@example.com", PASSWORD) == (200, False)

    for n in range(10):
        assert admin_sign_in(client_at("203.0.113.7"), f"user{n}@example.com", "x") == (200, False)
    assert admin_sign_in(client_at("203.0.113.7"), "ops2@example.com", "x")[1] is False
    assert sign_in(client_at("203.0.113.7"), "someone@example.com", "wrong") == "locked"


def test_the_admin_login_works_and_says_when_it_is_locked(make_user: Callable[..., Any]) -> None:
    make_user("ops@example.com", is_staff=True, is_superuser=True)
    assert admin_sign_in(client_at("198.51.100.1"), "ops@example.com", PASSWORD) == (302, True)

    client = client_at("198.51.100.2")
    for _ in range(5):
        admin_sign_in(client, "ops@example.com", "wrong")
    response = client.post(
        f"/{settings.ADMIN_URL}login/", {"username": "ops@example.com", "password": PASSWORD}
    )
    assert "Too many failed login attempts" in response.content.decode()


def test_sign_ups_are_limited_per_address() -> None:
    client, other = client_at("203.0.113.7"), client_at("198.51.100.1")
    signup = "/api/auth/browser/v1/auth/signup"
    for n in range(20):
        data = {"email": f"user{n}@example.com", "password": PASSWORD}
        assert client.post(signup, data, format="json").status_code == 401  # verify_email
        client.logout()

    data = {"email": "late@example.com", "password": PASSWORD}
    assert client.post(signup, data, format="json").status_code == 429
    assert other.post(signup, data, format="json").status_code == 401


def test_password_reset_requests_are_limited_per_account() -> None:
    request = "/api/auth/browser/v1/auth/password/request"
    for n in range(5):
        client = client_at(f"198.51.100.{n}")
        assert client.post(request, {"email": "ann@example.com"}, format="json").status_code == 200

    late = client_at("198.51.100.9").post(request, {"email": "ann@example.com"}, format="json")
    assert late.status_code == 429


def test_the_api_is_limited_per_address_and_per_account_but_not_the_health_check(
    make_user: Callable[..., Any], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ten seconds into a minute: all of it in one window.
    monkeypatch.setattr("core.throttling.clock", lambda: 1_800_000_010.0)
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "api": "3/m/ip",
        "api_user": "5/m/user",
    }
    ann = make_user("ann@example.com")
    here, there = client_at("203.0.113.7"), client_at("198.51.100.1")
    here.force_login(ann)
    there.force_login(ann)

    assert [here.get("/api/notes/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert here.get("/api/health/").status_code == 200
    assert [there.get("/api/notes/").status_code for _ in range(3)] == [200, 200, 429]
    anonymous = client_at("192.0.2.1")
    assert [anonymous.get("/api/session/").status_code for _ in range(4)] == [200] * 3 + [429]
    over = anonymous.get("/api/session/")
    assert over.status_code == 429
    assert over.headers["Retry-After"] == "50"  # the window's end


def test_api_counts_start_again_in_the_next_window(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_800_000_059.0]
    monkeypatch.setattr("core.throttling.clock", lambda: now[0])
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "api": "2/m/ip"}
    client = client_at("203.0.113.7")

    assert [client.get("/api/session/").status_code for _ in range(3)] == [200, 200, 429]
    now[0] += 1
    assert [client.get("/api/session/").status_code for _ in range(3)] == [200, 200, 429]
