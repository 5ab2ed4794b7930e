"""The stack's images: their names, the prerequisites, the build.

Each image is <deployment>-<service>:<template version>, <deployment> being the compose
project of the app it is built for (by default the slug). The app's own packages
(backend/requirements-app.lock, frontend/package-app.json and its package-app.lock.json)
are built in: only those files are sent to Docker, as the BuildKit named context "app",
never the app's code (that reaches the containers by bind mount) and nothing behind a link.

IMAGES describes each image once, for `./stack build` (one server, dev) and `./stack release`
(Swarm): where it is built from and which stage.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import docker, dotenv, lock, npmlock
from .errors import StackError


@dataclass(frozen=True)
class Image:
    folder: str  # the stack's folder it is built from (its Dockerfile)
    build: str | None = None  # the stage `./stack build` builds, None: not built there
    release: str | None = None  # the stage `./stack release` builds, None: not released
    per_release: bool = False  # a release tags it with the app's commit, not only the stack's
    # version (it holds the app's code or bundle)
    app_uid: bool = True  # built with APP_UID: it runs as the backend's user


IMAGES = {
    "backend": Image("backend", build="runtime", release="release", per_release=True),
    # Its `bundle` stage builds the frontend a release's `web` serves.
    "frontend": Image("frontend", build="runtime", app_uid=False),
    "web": Image("caddy", release="web", per_release=True),
    "caddy": Image("caddy", build="runtime", release="runtime"),
}
BUILT = tuple(name for name, image in IMAGES.items() if image.build)  # ./stack build's
RELEASED = tuple(name for name, image in IMAGES.items() if image.release)  # ./stack release's
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
    if not name or sorted(found) != sorted(BUILT) or len(set(found.values())) != 1:
        raise StackError(
            f"{path} lacks its `name:` line or one tag for the images of {', '.join(BUILT)}: "
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
    return {service: f"{name}-{service}:{recorded_version}" for service in BUILT}


def uid_arg(image: str) -> list[str]:
    """The build argument of the backend's user, for the images that run as it."""
    return ["--build-arg", f"APP_UID={BACKEND_UID}"] if IMAGES[image].app_uid else []


def app_contexts(stack: Path, app: Path | None, folder: Path, python: str) -> dict[str, Path]:
    """Write the build context "app" of each image into `folder`: the app's packages and their
    locks (each made now, for the stack's Python `python`, if the app has none that fits), or
    empty ones without an app."""
    contexts: dict[str, Path] = {}
    for service, (listing, empty) in APP_PACKAGES.items():
        contexts[service] = folder / service
        contexts[service].mkdir()
        source = app / listing if app else None
        target = contexts[service] / Path(listing).name
        if service == "backend":  # the lock, resolved now if the app has none that fits
            target.write_text(lock.app_lock_for_build(stack, app, python))
        elif source and source.is_file():
            shutil.copyfile(source, target)
        else:
            target.write_text(empty)
        if service == "frontend":  # with its lock, made now if the app has none that fits
            npm_lock = contexts[service] / Path(npmlock.APP_LOCK).name
            npm_lock.write_text(npmlock.app_lock_for_build(stack, app))
    return contexts


def build(stack: Path, app: Path | None, python: str) -> list[str]:
    """Build every image, with the packages of `app` (checked by cli) when given, for the
    stack's Python `python`; return the tags."""
    if app:
        print(f"With the packages of the app in {app}", flush=True)
    built = tags(stack, app)
    with tempfile.TemporaryDirectory(prefix="stack-build-") as tmp:
        contexts = app_contexts(stack, app, Path(tmp), python)
        for service, tag in built.items():
            print(f"Building {tag}", flush=True)
            image = IMAGES[service]
            command = ["build", "--target", str(image.build), "--tag", tag]
            if service in contexts:
                command += ["--build-context", f"app={contexts[service]}"]
            result = docker.call(*command, *uid_arg(service), str(stack / image.folder),
                                 capture=False, timeout=None)  # fmt: skip
            if result.returncode != 0:
                raise StackError(f"building {tag} failed (the output above says why)")
    return list(built.values())
