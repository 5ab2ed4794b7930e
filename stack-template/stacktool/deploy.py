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

from . import docker, services
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


class Compose(docker.Compose):
    """The app's compose project, for a deploy: a failed step says the old release serves."""

    def run(self, *args: str, quiet: bool = True) -> str:
        """The command's output; its output shown unless `quiet` (a long step: no time bound)."""
        options = {} if quiet else {"timeout": None}
        result = self.call(*args, capture=quiet, **options)
        if result.returncode != 0:
            detail = (result.stderr or "").strip()[-2000:] if quiet else ""
            raise StackError(
                f"`docker compose {' '.join(args)}` failed in {self.app}"
                + (f":\n{detail}" if detail else "")
                + "\nThe site still serves the previous release; fix the cause and deploy again."
            )
        return result.stdout or ""

    def running(self) -> set[str]:
        return set(self.run("ps", "--status", "running", "--services").split())


def running_site(deployment: Deployment) -> tuple[Compose, set[str]]:
    """The app's compose project, refused unless its site runs."""
    app = deployment.app
    if not (app / COMPOSE_FILE).exists():
        raise StackError(
            f"{app / COMPOSE_FILE} not found: link the app first (./install.sh --app {app})"
        )
    compose = Compose(app)
    running = compose.running()
    serving = services.named("compose", role=("web", "proxy", "database"), profile=None)
    missing = set(serving) - running  # the frontend may be failing to build
    if missing:
        raise StackError(
            f"not running: {', '.join(sorted(missing))}. A deploy reloads a running site: "
            f"start it first (make up, or docker compose up -d in {app})"
        )
    return compose, running


def deploy(deployment: Deployment) -> list[str]:
    compose, running = running_site(deployment)
    start = time.monotonic()

    print("Building the frontend beside the bundle that serves", flush=True)
    build = compose.call(
        "run", "--rm", "--no-deps", "-T", "frontend", "build.sh", "build", timeout=None
    )
    if build.returncode != 0:
        raise StackError(
            "the frontend build failed; the site still serves the previous release. Its "
            f"output:\n{build.stderr.strip()[-3000:]}\nFix the code and deploy again."
        )
    bundle = build.stdout.split()[-1]

    print("Making a release of the checkout and migrating (once, before it serves)", flush=True)
    release = ["-e", "RELEASE_DEPLOY=1", "-e", f"RELEASE_BUNDLE={bundle}"]
    compose.run("run", "--rm", "--no-deps", "-T", *release, "migrate", quiet=False)

    switch(compose, running, bundle)
    return [
        f"Backend reloaded, frontend bundle {bundle} served",
        f"Deployed {compose.app} in {time.monotonic() - start:.1f}s",
    ]


def rollback(deployment: Deployment) -> list[str]:
    compose, running = running_site(deployment)
    start = time.monotonic()
    command = ("exec", "-T", "backend", "python", "/opt/stack/releases.py", "rollback")
    result = compose.call(*command)
    if result.returncode != 0:
        raise StackError((result.stdout.strip() or result.stderr.strip()).removeprefix("error: "))
    moved = json.loads(result.stdout.strip().splitlines()[-1])
    switch(compose, running, moved["bundle"])
    return [
        f"Rolled back from release {moved['from']} to {moved['to']} (code and frontend bundle "
        f"{moved['bundle'] or 'unchanged'}) in {time.monotonic() - start:.1f}s",
        "Migrations are not reversed: the database keeps those of the newer release.",
    ]


def switch(compose: Compose, running: set[str], bundle: str) -> None:
    """Serve the release `current` points at: gunicorn reloaded, Celery restarted, `bundle`
    served (when named)."""
    print("Reloading the backend (gunicorn, gracefully)", flush=True)
    old_workers = set(compose.run("exec", "-T", "backend", "python", "-c", WORKERS).split())
    # Sent from inside: `docker compose kill -s HUP` would make the engine count the
    # container as stopped by hand, and not restart it (unless-stopped) after a later crash.
    compose.run("exec", "-T", "backend", "python", "-c", RELOAD)
    celery = sorted(set(services.named("compose", role="worker")) & running)
    if celery:
        print(f"Restarting {' and '.join(celery)}", flush=True)
        compose.run("restart", "--no-deps", *celery)
    if bundle:
        compose.run("run", "--rm", "--no-deps", "-T", "frontend", "build.sh", "serve", bundle)
    wait_for_backend(compose, old_workers)


def wait_for_backend(compose: Compose, old_workers: set[str]) -> None:
    """Until every old worker has gone and the new ones answer."""
    check = health_check(compose)
    deadline = time.monotonic() + BACKEND_RELOAD_TIMEOUT
    while time.monotonic() < deadline:
        workers = set(compose.run("exec", "-T", "backend", "python", "-c", WORKERS).split())
        if workers and not workers & old_workers and _answers(compose, check):
            return
        time.sleep(0.5)
    raise StackError(
        f"the backend's old workers still run after {BACKEND_RELOAD_TIMEOUT}s: see "
        "`docker compose logs backend` (a request that never ends, or new code that fails "
        "to load)"
    )


def health_check(compose: Compose) -> list[str]:
    """The backend's health check as Docker runs it: its image's (backend/Dockerfile)."""
    containers = compose.run("ps", "--quiet", "backend").split()
    found = docker.inspect(*containers[:1])
    try:
        test = found[0]["Config"]["Healthcheck"]["Test"]
    except (ValueError, LookupError, TypeError):
        test = []
    if test[:1] not in (["CMD"], ["CMD-SHELL"]):
        raise StackError(
            "the backend container runs no health check: build its image again (./install.sh) "
            "and start it (docker compose -f docker-compose.app.yml up -d)"
        )
    return test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]


def _answers(compose: Compose, check: list[str]) -> bool:
    try:
        compose.run("exec", "-T", "backend", *check)
    except StackError:
        return False
    return True
