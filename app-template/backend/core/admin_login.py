from typing import Any

from allauth.account.adapter import get_adapter
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError


class RateLimitedAdminLoginForm(AdminAuthenticationForm):
    """The admin's login, its failures counted with the React app's sign-ins: allauth's
    "login_failed" limit, per client address and per login tried."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            adapter = get_adapter(self.request)
            try:
                self.user_cache = adapter.authenticate(
                    self.request, username=username, password=password
                )
            except ValidationError as error:  # too many failed attempts
                raise ValidationError(error.messages, code="too_many_login_attempts") from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
