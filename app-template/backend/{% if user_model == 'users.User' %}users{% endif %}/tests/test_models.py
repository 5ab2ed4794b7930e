"""users.User: the e-mail address is the login, stored in lowercase and matched in any case."""

import pytest

from users.models import User

pytestmark = pytest.mark.django_db


def test_the_address_is_stored_in_lowercase_and_found_in_any_case() -> None:
    user = User.objects.create_user("Ann@Example.com", password="a long enough passphrase")

    assert user.email == "ann@example.com" and not user.is_staff
    assert User.objects.get_by_natural_key("ANN@example.COM") == user


def test_a_user_needs_an_email_address() -> None:
    with pytest.raises(ValueError, match="needs an e-mail address"):
        User.objects.create_user("")


def test_a_superuser_is_staff_and_superuser() -> None:
    admin = User.objects.create_superuser("ops@example.com", password="a long enough passphrase")

    assert admin.is_staff and admin.is_superuser
    with pytest.raises(ValueError, match="is_staff and is_superuser"):
        User.objects.create_superuser("ops2@example.com", is_staff=False)
