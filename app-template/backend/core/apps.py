from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self) -> None:
        from django.contrib import admin

        from .admin_login import RateLimitedAdminLoginForm

        admin.site.login_form = RateLimitedAdminLoginForm
