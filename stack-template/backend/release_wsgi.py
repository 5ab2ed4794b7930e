"""gunicorn's application: the app's WSGI application from the release that serves.

Each worker imports it when it starts, so after a switch (a deploy, a rollback) and gunicorn's
SIGHUP the new workers serve the new release while the old ones finish their requests.
"""

import importlib
import os
import sys

from releases import CHECKOUT, current, serving_commit

release = current()
sys.path.insert(0, str(release / "app" if release else CHECKOUT))
os.environ["SENTRY_RELEASE"] = serving_commit()  # the settings name Sentry's release with it
package = os.environ["DJANGO_SETTINGS_MODULE"].split(".")[0]
application = importlib.import_module(f"{package}.wsgi").application
