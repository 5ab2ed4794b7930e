"""Sign-up, e-mail verification, sign-in, sign-out and password reset through allauth's headless
API (the browser client: session cookie, CSRF), as the React app uses them."""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

AUTH = "/api/auth/browser/v1"
PASSWORD = "a long enough passphrase"
ORIGIN: dict[str, Any] = {"HTTP_ORIGIN": "https://testserver", "SERVER_PORT": "443"}


class Browser(APIClient):
    """A client that sends the CSRF token of its session, as the React app does."""

    def call(self, method: str, path: str, data: dict[str, str] | None = None) -> Any:
        """The answer to a JSON request: browser.call("post", path, data)."""
        token = self.cookies["csrftoken"].value if "csrftoken" in self.cookies else ""
        send = getattr(self, method)
        return send(path, data, format="json", HTTP_X_CSRFTOKEN=token, **ORIGIN)


@pytest.fixture
def browser() -> Browser:
    client = Browser(enforce_csrf_checks=True, headers={"X-Forwarded-Proto": "https"})
    assert client.get("/api/session/", **ORIGIN).json() == {"user": None}
    return client


def link_in(message: EmailMessage, path: str) -> str:
    """The link to `path` in the mail's text, and the same in its HTML part."""
    assert isinstance(message, EmailMultiAlternatives)
    (html, kind) = message.alternatives[0]
    assert kind == "text/html" and isinstance(html, str)
    links: list[str] = re.findall(rf"https://testserver{path}\S*", str(message.body))
    (link,) = links
    assert f'href="{link}"' in html
    return link


def test_the_session_says_who_is_signed_in_and_sets_the_csrf_cookie(
    api_client: APIClient, make_user: Callable[..., Any]
) -> None:
    anonymous = api_client.get("/api/session/")
    assert anonymous.status_code == 200 and anonymous.json() == {"user": None}
    assert anonymous.cookies["csrftoken"].value

    user = make_user("ann@example.com")
    api_client.force_login(user)
    assert api_client.get("/api/session/").json() == {
        "user": {"id": user.pk, "email": "ann@example.com"}
    }


def test_sign_up_verify_sign_out_and_sign_in(browser: Browser) -> None:
    signup = browser.call(
        "post", f"{AUTH}/auth/signup", {"email": "Ann@Example.com", "password": PASSWORD}
    )
    assert signup.status_code == 401
    assert {"id": "verify_email", "is_pending": True} in signup.json()["data"]["flows"]
    assert browser.get("/api/session/").json() == {"user": None}

    (message,) = mail.outbox
    assert message.to == ["ann@example.com"]
    assert "Confirm your e-mail address" in message.subject
    # The key is quoted in the link (":" is %3A); the React page reads it decoded.
    key = unquote(link_in(message, "/account/verify-email/").rsplit("/", 1)[1])

    verified = browser.call("post", f"{AUTH}/auth/email/verify", {"key": key})
    assert verified.status_code == 200, verified.content
    assert browser.get("/api/session/").json()["user"]["email"] == "ann@example.com"

    assert browser.call("delete", f"{AUTH}/auth/session").status_code == 401
    assert browser.get("/api/session/").json() == {"user": None}

    wrong = browser.call(
        "post", f"{AUTH}/auth/login", {"email": "ann@example.com", "password": "nope"}
    )
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["param"] == "password"
    signed = browser.call(
        "post", f"{AUTH}/auth/login", {"email": "ann@example.com", "password": PASSWORD}
    )
    assert signed.status_code == 200
    assert browser.call("post", "/api/notes/", {"title": "mine"}).status_code == 201


def test_sign_in_before_verifying_sends_the_mail_again(browser: Browser) -> None:
    browser.call("post", f"{AUTH}/auth/signup", {"email": "ann@example.com", "password": PASSWORD})
    browser.call("delete", f"{AUTH}/auth/session")
    mail.outbox.clear()

    pending = browser.call(
        "post", f"{AUTH}/auth/login", {"email": "ann@example.com", "password": PASSWORD}
    )

    assert pending.status_code == 401
    assert {"id": "verify_email", "is_pending": True} in pending.json()["data"]["flows"]
    assert browser.get("/api/session/").json() == {"user": None}


def test_password_reset_and_change(browser: Browser, make_user: Callable[..., Any]) -> None:
    make_user("ann@example.com")

    requested = browser.call("post", f"{AUTH}/auth/password/request", {"email": "ann@example.com"})
    assert requested.status_code == 200
    (message,) = mail.outbox
    key = unquote(link_in(message, "/account/password/reset/key/").rsplit("/", 1)[1])
    new = "another long passphrase"
    reset = browser.call("post", f"{AUTH}/auth/password/reset", {"key": key, "password": new})
    assert reset.status_code in (200, 401), reset.content
    browser.call("delete", f"{AUTH}/auth/session")

    signed = browser.call(
        "post", f"{AUTH}/auth/login", {"email": "ann@example.com", "password": new}
    )
    assert signed.status_code == 200
    changed = browser.call(
        "post",
        f"{AUTH}/account/password/change",
        {"current_password": new, "new_password": PASSWORD},
    )
    assert changed.status_code == 200, changed.content


def test_a_password_reset_for_an_unknown_address_says_so_by_mail_only(browser: Browser) -> None:
    requested = browser.call("post", f"{AUTH}/auth/password/request", {"email": "who@example.com"})

    assert requested.status_code == 200
    (message,) = mail.outbox
    link_in(message, "/account/signup")


def test_unsafe_requests_without_the_csrf_token_are_refused(
    make_user: Callable[..., Any],
) -> None:
    client = APIClient(enforce_csrf_checks=True, headers={"X-Forwarded-Proto": "https"})
    make_user("ann@example.com")

    response = client.post(
        f"{AUTH}/auth/login",
        {"email": "ann@example.com", "password": PASSWORD},
        format="json",
        **ORIGIN,
    )

    assert response.status_code == 403
