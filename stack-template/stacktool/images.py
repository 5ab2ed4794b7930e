"""The stack's images: their names, the prerequisites, the build.

Each image is <deployment>-<service>:<template version>, <deployment> being the compose
project of the app it is built for (by default the slug). The app's own packages
(backend/requirements-app.lock, frontend/package-app.json and its package-app.lock.json)
are built in: only those files are sent to Docker, as the BuildKit named context "app",
never the app's code (that reaches the containers by bind mount) and nothing behind a link.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from . import docker, dotenv, lock, npmlock
from .errors import StackError

SERVICES = ("backend", "frontend", "caddy")
STACK_COMPOSE_FILE = "compose/docker-compose.app.yml"
# The backend's user, Caddy's too: it owns the uploads on the host, so the data folders are
# chowned to it.
BACKEND_UID = 10001
# A compose project's name, as compose accepts it.
PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
APP_PACKAGES = {
    "backend": ("backend/requirements-app.lock", ""),
    "frontend": ("frontend/package-app.json", "{}\n"),
}


def rendered(stack: Path) -> tuple[str, str]:
    """The slug and the template version as copier rendered them into the compose file, the
    one place the tool and compose both read them: its `name:` and the one tag of the stack's
    images (${COMPOSE_PROJECT_NAME}-<service>:<version>)."""
    path = stack / STACK_COMPOSE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StackError(f"cannot read {path}: {error.strerror}") from None
    name = re.search(r"^name: (\S+)$", text, re.M)
    found = dict(re.findall(r"^ +image: \$\{COMPOSE_PROJECT_NAME\}-(\w+):(\S+)$", text, re.M))
    if not name or sorted(found) != sorted(SERVICES) or len(set(found.values())) != 1:
        raise StackError(
            f"{path} lacks its `name:` line or one tag for the images of {', '.join(SERVICES)}: "
            f"restore them (git diff {STACK_COMPOSE_FILE})"
        )
    return name[1], found["backend"]


def slug(stack: Path) -> str:
    return rendered(stack)[0]


def version(stack: Path) -> str:
    """The template version the stack was generated from ("dev" when copier recorded none)."""
    return rendered(stack)[1]


def project_name(slug: str, env: dict[str, str], where: str = "the app's .env") -> str:
    """COMPOSE_PROJECT_NAME of the .env values (`where`), else `slug`. The deployment's images,
    volumes and data folders carry it, so it is checked before any path is built from it."""
    name = env.get("COMPOSE_PROJECT_NAME") or slug
    if not PROJECT_NAME.fullmatch(name):
        raise StackError(
            f"COMPOSE_PROJECT_NAME={name!r} in {where}: give a name compose accepts, lowercase "
            "letters, digits, - and _ (a letter or digit first), "
            f"e.g. COMPOSE_PROJECT_NAME={slug}"
        )
    return name


def tags(stack: Path, app: Path | None = None) -> dict[str, str]:
    """The tag of each of the stack's images for the app's deployment; compose runs the same
    names (${COMPOSE_PROJECT_NAME}-<service>:<version>)."""
    recorded_slug, recorded_version = rendered(stack)  # the compose file, read once
    name = project_name(recorded_slug, dotenv.read_env(app, required=False) if app else {})
    return {service: f"{name}-{service}:{recorded_version}" for service in SERVICES}


def app_contexts(stack: Path, app: Path | None, folder: Path) -> dict[str, Path]:
    """Write the build context "app" of each image into `folder`: the app's packages and their
    locks (each made now if the app has none that fits), or empty ones without an app."""
    contexts: dict[str, Path] = {}
    for service, (listing, empty) in APP_PACKAGES.items():
        contexts[service] = folder / service
        contexts[service].mkdir()
        source = app / listing if app else None
        target = contexts[service] / Path(listing).name
        if service == "backend":  # the lock, resolved now if the app has none that fits
            target.write_text(lock.app_lock_for_build(stack, app))
        elif source and source.is_file():
            shutil.copyfile(source, target)
        else:
            target.write_text(empty)
        if service == "frontend":  # with its lock, made now if the app has none that fits
            npm_lock = contexts[service] / Path(npmlock.APP_LOCK).name
            npm_lock.write_text(npmlock.app_lock_for_build(stack, app))
    return contexts


def build(stack: Path, app: Path | None) -> list[str]:
    """Build every image, with the packages of `app` (checked by cli) when given; return the
    tags."""
    if app:
        print(f"With the packages of the app in {app}", flush=True)
    built = tags(stack, app)
    with tempfile.TemporaryDirectory(prefix="stack-build-") as tmp:
        contexts = app_contexts(stack, app, Path(tmp))
        for service, tag in built.items():
            print(f"Building {tag}", flush=True)
            command = ["build", "--target", "runtime", "--tag", tag]
            if service in contexts:
                command += ["--build-context", f"app={contexts[service]}"]
            if service in ("backend", "caddy"):
                command += ["--build-arg", f"APP_UID={BACKEND_UID}"]
            result = docker.call(*command, str(stack / service), capture=False, timeout=None)
            if result.returncode != 0:
                raise StackError(f"building {tag} failed (the output above says why)")
    return list(built.values())
