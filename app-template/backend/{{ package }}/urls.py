from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.views import not_found

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/", include("core.urls")),
    path("api/", include("notes.urls")),
    # allauth's own copies of its schema, and its page that loads scripts from a CDN, are not
    # served: the sign-in API is in /api/schema/ (core.schema), for staff.
    re_path(r"^api/auth/openapi\.(?:yaml|json|html)$", not_found),
    path("api/auth/", include("allauth.headless.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]
