"""`./stack deploy` and `./stack rollback`: the app's code that `git pull` brought, served
without a failed request, and back.

What serves is a release (the backend's releases.py): a copy of the app's code, in
$DATA_ROOT/<deployment>/releases, made only of code that can serve, and the frontend bundle
built with it. A deploy does two things at once: the frontend bundle, built beside the one
being served (the frontend's build.sh, in its running container: `tsc -b` checks again only
what changed, and a bundle whose sources did not change is not built again); and the release,
in the running backend's container (copies the checkout into a new release, checks that it
loads, migrates when a migration is new, collects the static files, then points `current` at
it). Once the release serves: a graceful reload of gunicorn (SIGHUP to its master: new workers
load the new release, the old ones finish their requests; the listening socket never closes).
Once the bundle is built: the Celery worker and beat restart when they run, and the new
bundle is served. A release that fails changes nothing that serves; a bundle that fails to
build takes the new release back (the one before serves again, reloaded). Caddy and the
database keep running. Each step says how long it took. A rollback points `current` at the
release before and serves its bundle, the same way.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import ModuleType
from typing import TypeVar

from . import services, targets
from .deployment import Deployment
from .docker import COMPOSE_FILE
from .errors import StackError

# Prints the pids of gunicorn's workers, the children of the container's pid 1 (the master);
# then, with "reload" as its argument, sends the master SIGHUP.
WORKERS = (
    "import os, signal, sys\n"
    "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "    try:\n"
    "        stat = open(f'/proc/{pid}/stat').read()\n"
    "    except OSError:\n"
    "        continue\n"
    "    if stat.rsplit(')', 1)[1].split()[1] == '1':\n"
    "        print(pid)\n"
    "if sys.argv[1:] == ['reload']:\n"
    "    os.kill(1, signal.SIGHUP)\n"
)
RELEASES = "/opt/stack/releases.py"
BACKEND_RELOAD_TIMEOUT = 120
AS_BEFORE = "The site still serves the previous release; fix the cause and deploy again."
T = TypeVar("T")


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


def backend_releases(deployment: Deployment) -> ModuleType:
    """The backend's releases.py, from the stack's checkout (standard library only)."""
    path = deployment.stack / "backend/releases.py"
    spec = importlib.util.spec_from_file_location("backend_releases", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise StackError(f"{path} not found: is {deployment.stack} a whole stack checkout?")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(step: Callable[[], T]) -> tuple[T, float]:
    start = time.monotonic()
    return step(), time.monotonic() - start


def deploy(deployment: Deployment) -> list[str]:
    site, running = running_site(deployment)
    start = time.monotonic()
    # The app's commit, read as the release reads it (the backend's releases.py, from the
    # app's .git): with Sentry on, the bundle reports as that release.
    commit = backend_releases(deployment).head_commit(deployment.app / ".git")

    print("Building the frontend beside the bundle that serves, and meanwhile:", flush=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        building = pool.submit(timed, lambda: build_bundle(site, running, commit))
        print("Making a release of the checkout and migrating (once, before it serves)", flush=True)
        made, seconds = timed(
            lambda: site.exec_result(
                "backend", "python", RELEASES, "deploy", env={"RELEASE_DEPLOY": "1"}, show=True
            )
        )
        if made.returncode != 0:
            building.result()  # its bundle is kept for the next deploy
            raise StackError(f"the release or its migration failed (the output above says why)\n"
                             f"{AS_BEFORE}")  # fmt: skip
        print(f"Release made in {seconds:.1f}s. Reloading the backend (gunicorn, gracefully)")
        with serving_as_before():
            _, seconds = timed(lambda: wait_for_backend(site, reload(site)))
        print(f"Backend reloaded in {seconds:.1f}s: its new workers answer", flush=True)
        build, seconds = building.result()

    if build.returncode != 0:
        take_back(site)
        raise StackError(
            "the frontend build failed; the site still serves the previous release (the new "
            f"one was taken back). Its output:\n{build.stderr.strip()[-3000:]}\n"
            "Fix the code and deploy again."
        )
    bundle = build.stdout.split()[-1]
    built = "unchanged, not built again" if "nothing to build" in build.stderr else "built"
    print(f"Frontend bundle {bundle} {built} in {seconds:.1f}s", flush=True)
    restart_celery(site, running)
    serve(site, running, bundle)
    return [
        f"Frontend bundle {bundle} served",
        f"Deployed {site.app} in {time.monotonic() - start:.1f}s",
    ]


def build_bundle(
    site: targets.Compose, running: set[str], commit: str
) -> subprocess.CompletedProcess:
    """The frontend's build.sh build (its running container keeps tsc's build information from
    one build to the next)."""
    return frontend(site, running, "build", env={"VITE_SENTRY_RELEASE": commit})


def frontend(
    site: targets.Compose, running: set[str], *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """The frontend's build.sh with `args`: in its running container, else in a new one."""
    if "frontend" in running:
        return site.exec_result("frontend", "build.sh", *args, env=env)
    return site.one_off("frontend", "build.sh", *args, env=env)


def take_back(site: targets.Compose) -> None:
    """The release before the newest serves again (its bundle never stopped serving)."""
    print("Taking the new release back", flush=True)
    result = site.exec_result("backend", "python", RELEASES, "withdraw")
    if result.returncode != 0:
        raise StackError(
            f"taking the new release back failed: {(result.stdout + result.stderr).strip()}. "
            "Run make rollback (./stack rollback) to serve the release before"
        )
    print(result.stdout.strip(), flush=True)
    wait_for_backend(site, reload(site))


def rollback(deployment: Deployment) -> list[str]:
    site, running = running_site(deployment)
    start = time.monotonic()
    result = site.exec_result("backend", "python", RELEASES, "rollback")
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
    old_workers = reload(site)
    restart_celery(site, running)
    if bundle:
        serve(site, running, bundle)
    wait_for_backend(site, old_workers)


def reload(site: targets.Compose) -> set[str]:
    """SIGHUP to gunicorn's master; the workers that ran before it.

    Sent from inside: `docker compose kill -s HUP` would make the engine count the container
    as stopped by hand, and not restart it (unless-stopped) after a later crash."""
    return set(site.exec("backend", "python", "-c", WORKERS, "reload").split())


def restart_celery(site: targets.Compose, running: set[str]) -> None:
    celery = sorted(set(services.named("compose", role="worker")) & running)
    if celery:
        print(f"Restarting {' and '.join(celery)}", flush=True)
        site.restart(*celery)


def serve(site: targets.Compose, running: set[str], bundle: str) -> None:
    """The frontend's build.sh serve."""
    served = frontend(site, running, "serve", bundle)
    if served.returncode != 0:
        raise StackError(f"serving bundle {bundle} failed: {served.stderr.strip()[-2000:]}")


def wait_for_backend(site: targets.Compose, old_workers: set[str]) -> None:
    """Until every old worker has gone and the new ones answer."""
    check = site.health_check("backend")
    deadline = time.monotonic() + BACKEND_RELOAD_TIMEOUT
    while time.monotonic() < deadline:
        workers = set(site.exec("backend", "python", "-c", WORKERS).split())
        if workers and not workers & old_workers and _answers(site, check):
            return
        time.sleep(0.2)
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
