"""`./stack deploy`: the app code that `git pull` brought, served without a failed request.

In order: the one-shot `migrate` service (migrations and collectstatic, once); a graceful
reload of gunicorn (SIGHUP to its master: new workers load the new code, the old ones
finish their requests; the listening socket never closes); a restart of the Celery worker
and beat when they run; a new frontend release built beside the one being served, then
switched to atomically (the frontend container's build.sh). Caddy and the database keep
running.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from . import links
from .errors import StackError

COMPOSE_FILE = "docker-compose.app.yml"
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
HEALTH = (
    "import urllib.request; "
    "urllib.request.urlopen('http://127.0.0.1:8000/api/health/', timeout=4).read()"
)
FRONTEND_BUILD_TIMEOUT = 600  # seconds
BACKEND_RELOAD_TIMEOUT = 120


class Compose:
    """`docker compose -f docker-compose.app.yml` in the app's folder (which reads its .env)."""

    def __init__(self, app: Path) -> None:
        self.app = app

    def run(self, *args: str, check: bool = True, quiet: bool = True) -> str:
        command = ["docker", "compose", "-f", COMPOSE_FILE, *args]
        result = subprocess.run(
            command,
            cwd=self.app,
            stdout=subprocess.PIPE if quiet else None,
            stderr=subprocess.PIPE if quiet else None,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            detail = (result.stderr or "").strip()[-2000:] if quiet else ""
            raise StackError(
                f"`docker compose {' '.join(args)}` failed in {self.app}"
                + (f":\n{detail}" if detail else "")
                + "\nThe site still serves the previous release; fix the cause and deploy again."
            )
        return result.stdout or ""

    def running(self) -> set[str]:
        return set(self.run("ps", "--status", "running", "--services").split())

    def inspect(self, service: str) -> dict:
        """`docker inspect` of the service's container ({} when it has none)."""
        container = self.run("ps", "--all", "--quiet", service).strip()
        if not container:
            return {}
        command = ["docker", "inspect", container]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        return json.loads(result.stdout)[0] if result.returncode == 0 else {}

    def state(self, service: str) -> str:
        """running, restarting, exited, ..."""
        return self.inspect(service).get("State", {}).get("Status", "")

    def restarts(self, service: str) -> int:
        """How often the engine restarted the service's container (after it failed)."""
        return self.inspect(service).get("RestartCount", 0)


def deploy(stack: Path, app: Path | None) -> list[str]:
    app = app or links.linked_app(stack)
    if app is None:
        raise StackError("no app linked to this stack: deploy one with ./stack deploy --app PATH")
    app = Path(app).resolve()
    if not (app / COMPOSE_FILE).exists():
        raise StackError(
            f"{app / COMPOSE_FILE} not found: link the app first (./install.sh --app {app})"
        )
    compose = Compose(app)
    running = compose.running()
    missing = {"backend", "caddy", "db"} - running  # the frontend may be failing to build
    if missing:
        raise StackError(
            f"not running: {', '.join(sorted(missing))}. A deploy reloads a running site: "
            f"start it first (make up, or docker compose up -d in {app})"
        )
    start = time.monotonic()
    said = []

    print("Migrating (once, before the new code serves)", flush=True)
    compose.run("run", "--rm", "--no-deps", "-T", "migrate", quiet=False)

    print("Reloading the backend (gunicorn, gracefully)", flush=True)
    old_workers = set(compose.run("exec", "-T", "backend", "python", "-c", WORKERS).split())
    old_release = compose.run(
        "exec", "-T", "frontend", "readlink", "/srv/www/current", check=False
    ).strip()
    # Sent from inside: `docker compose kill -s HUP` would make the engine count the
    # container as stopped by hand, and not restart it (unless-stopped) after a later crash.
    compose.run("exec", "-T", "backend", "python", "-c", RELOAD)
    celery = sorted({"worker", "beat"} & running)
    if celery:
        print(f"Restarting {' and '.join(celery)}", flush=True)
        compose.run("restart", "--no-deps", *celery)
    print("Building the new frontend release beside the served one", flush=True)
    compose.run("restart", "--no-deps", "frontend")
    frontend_restarts = compose.restarts("frontend")

    wait_for_backend(compose, old_workers)
    said.append(f"Backend reloaded: new code served after {time.monotonic() - start:.1f}s")
    release = wait_for_frontend(compose, old_release, frontend_restarts)
    said.append(f"Frontend {release} served after {time.monotonic() - start:.1f}s")
    said.append(f"Deployed {app} in {time.monotonic() - start:.1f}s")
    return said


def wait_for_backend(compose: Compose, old_workers: set[str]) -> None:
    """Until every old worker has gone and the new ones answer."""
    deadline = time.monotonic() + BACKEND_RELOAD_TIMEOUT
    while time.monotonic() < deadline:
        workers = set(compose.run("exec", "-T", "backend", "python", "-c", WORKERS).split())
        if workers and not workers & old_workers and _answers(compose):
            return
        time.sleep(0.5)
    raise StackError(
        f"the backend's old workers still run after {BACKEND_RELOAD_TIMEOUT}s: see "
        "`docker compose logs backend` (a request that never ends, or new code that fails "
        "to load)"
    )


def _answers(compose: Compose) -> bool:
    try:
        compose.run("exec", "-T", "backend", "python", "-c", HEALTH)
    except StackError:
        return False
    return True


def wait_for_frontend(compose: Compose, old_release: str, restarts: int) -> str:
    """Until /srv/www/current points at a new release; returns its name. A build that fails
    exits the container, which the engine then restarts: that is reported."""
    deadline = time.monotonic() + FRONTEND_BUILD_TIMEOUT
    while time.monotonic() < deadline:
        if compose.state("frontend") == "running":
            current = compose.run(
                "exec", "-T", "frontend", "readlink", "/srv/www/current", check=False
            ).strip()
            if current and current != old_release:
                return current.rsplit("/", 1)[-1]
        time.sleep(1)
        failed = compose.restarts("frontend") > restarts
        if failed or compose.state("frontend") in ("restarting", "exited"):
            logs = compose.run("logs", "--tail", "30", "frontend", check=False)
            raise StackError(
                "the frontend build failed; the site still serves the previous release "
                f"({old_release}). Its output:\n{logs}\nFix the code and deploy again."
            )
    raise StackError(
        f"no new frontend release after {FRONTEND_BUILD_TIMEOUT}s: see "
        "`docker compose logs frontend`; the site still serves the previous release"
    )
