from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/", include("core.urls")),
    path("api/", include("notes.urls")),
    path("api/auth/", include("allauth.headless.urls")),
]
