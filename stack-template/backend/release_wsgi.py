"""gunicorn's application: the app's WSGI application from the release that serves.

Each worker imports it when it starts, so after a switch (a deploy, a rollback) and gunicorn's
SIGHUP the new workers serve the new release while the old ones finish their requests.
"""

import importlib
import os
import sys

from releases import CHECKOUT, current

release = current()
sys.path.insert(0, str(release / "app" if release else CHECKOUT))
package = os.environ["DJANGO_SETTINGS_MODULE"].split(".")[0]
application = importlib.import_module(f"{package}.wsgi").application
