"""`./stack deploy` and `./stack rollback`: the app's code that `git pull` brought, served
without a failed request, and back.

What serves is a release (the backend's releases.py): a copy of the app's code, in
$DATA_ROOT/<deployment>/releases, made only of code that can serve, and the frontend bundle
built with it. A deploy, in order: the frontend bundle, built beside the one being served
(a one-off frontend container: the frontend's build.sh); the one-shot `migrate` service
(copies the checkout into a new release, checks that it loads, migrates, collects the static
files, then points `current` at it); a graceful reload of gunicorn (SIGHUP to its master: new
workers load the new release, the old ones finish their requests; the listening socket never
closes); a restart of the Celery worker and beat when they run; the new bundle served. A step
that fails stops the deploy with nothing that serves changed. Caddy and the database keep
running. A rollback points `current` at the release before and serves its bundle, the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

from . import services, targets
from .deployment import Deployment
from .docker import COMPOSE_FILE
from .errors import StackError

# Prints the pids of gunicorn's workers: the children of the container's pid 1, the master.
WORKERS = (
    "import os\n"
    "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "    try:\n"
    "        stat = open(f'/proc/{pid}/stat').read()\n"
    "    except OSError:\n"
    "        continue\n"
    "    if stat.rsplit(')', 1)[1].split()[1] == '1':\n"
    "        print(pid)\n"
)
RELOAD = "import os, signal; os.kill(1, signal.SIGHUP)"  # pid 1: gunicorn's master
BACKEND_RELOAD_TIMEOUT = 120
AS_BEFORE = "The site still serves the previous release; fix the cause and deploy again."


@contextmanager
def serving_as_before() -> Iterator[None]:
    """A step that fails says that nothing that serves changed."""
    try:
        yield
    except StackError as error:
        raise StackError(f"{error}\n{AS_BEFORE}") from None


def running_site(deployment: Deployment) -> tuple[targets.Compose, set[str]]:
    """The app's compose project, refused unless its site runs."""
    app = deployment.app
    if not (app / COMPOSE_FILE).exists():
        raise StackError(
            f"{app / COMPOSE_FILE} not found: link the app first (./install.sh --app {app})"
        )
    site = targets.Compose(deployment)
    running = site.running()
    serving = services.named("compose", role=("web", "proxy", "database"), profile=None)
    missing = set(serving) - running  # the frontend may be failing to build
    if missing:
        raise StackError(
            f"not running: {', '.join(sorted(missing))}. A deploy reloads a running site: "
            f"start it first (make up, or docker compose up -d in {app})"
        )
    return site, running


def deploy(deployment: Deployment) -> list[str]:
    site, running = running_site(deployment)
    start = time.monotonic()

    print("Building the frontend beside the bundle that serves", flush=True)
    # The app's commit, read where the release that follows reads it (the backend's releases.py,
    # from the app's .git): with Sentry on, the bundle reports as that release.
    commit = site.exec("backend", "python", "/opt/stack/releases.py", "head").strip()
    build = site.one_off("frontend", "build.sh", "build", env={"VITE_SENTRY_RELEASE": commit})
    if build.returncode != 0:
        raise StackError(
            "the frontend build failed; the site still serves the previous release. Its "
            f"output:\n{build.stderr.strip()[-3000:]}\nFix the code and deploy again."
        )
    bundle = build.stdout.split()[-1]

    print("Making a release of the checkout and migrating (once, before it serves)", flush=True)
    release = {"RELEASE_DEPLOY": "1", "RELEASE_BUNDLE": bundle}
    if site.one_off("migrate", env=release, show=True).returncode != 0:
        raise StackError(f"the release or its migration failed (the output above says why)\n"
                         f"{AS_BEFORE}")  # fmt: skip

    with serving_as_before():
        switch(site, running, bundle)
    return [
        f"Backend reloaded, frontend bundle {bundle} served",
        f"Deployed {site.app} in {time.monotonic() - start:.1f}s",
    ]


def rollback(deployment: Deployment) -> list[str]:
    site, running = running_site(deployment)
    start = time.monotonic()
    result = site.exec_result("backend", "python", "/opt/stack/releases.py", "rollback")
    if result.returncode != 0:
        raise StackError((result.stdout.strip() or result.stderr.strip()).removeprefix("error: "))
    moved = json.loads(result.stdout.strip().splitlines()[-1])
    with serving_as_before():
        switch(site, running, moved["bundle"])
    return [
        f"Rolled back from release {moved['from']} to {moved['to']} (code and frontend bundle "
        f"{moved['bundle'] or 'unchanged'}) in {time.monotonic() - start:.1f}s",
        "Migrations are not reversed: the database keeps those of the newer release.",
    ]


def switch(site: targets.Compose, running: set[str], bundle: str) -> None:
    """Serve the release `current` points at: gunicorn reloaded, Celery restarted, `bundle`
    served (when named)."""
    print("Reloading the backend (gunicorn, gracefully)", flush=True)
    old_workers = set(site.exec("backend", "python", "-c", WORKERS).split())
    # Sent from inside: `docker compose kill -s HUP` would make the engine count the
    # container as stopped by hand, and not restart it (unless-stopped) after a later crash.
    site.exec("backend", "python", "-c", RELOAD)
    celery = sorted(set(services.named("compose", role="worker")) & running)
    if celery:
        print(f"Restarting {' and '.join(celery)}", flush=True)
        site.restart(*celery)
    if bundle:
        served = site.one_off("frontend", "build.sh", "serve", bundle)
        if served.returncode != 0:
            raise StackError(f"serving bundle {bundle} failed: {served.stderr.strip()[-2000:]}")
    wait_for_backend(site, old_workers)


def wait_for_backend(site: targets.Compose, old_workers: set[str]) -> None:
    """Until every old worker has gone and the new ones answer."""
    check = site.health_check("backend")
    deadline = time.monotonic() + BACKEND_RELOAD_TIMEOUT
    while time.monotonic() < deadline:
        workers = set(site.exec("backend", "python", "-c", WORKERS).split())
        if workers and not workers & old_workers and _answers(site, check):
            return
        time.sleep(0.5)
    raise StackError(
        f"the backend's old workers still run after {BACKEND_RELOAD_TIMEOUT}s: see "
        "`docker compose logs backend` (a request that never ends, or new code that fails "
        "to load)"
    )


def _answers(site: targets.Compose, check: list[str]) -> bool:
    try:
        site.exec("backend", *check)
    except StackError:
        return False
    return True
