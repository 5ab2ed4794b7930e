"""ASGI entry point, for an ASGI server if the app ever needs one."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{__package__}.settings")

application = get_asgi_application()
