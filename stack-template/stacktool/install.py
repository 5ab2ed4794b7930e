"""`./stack install` and `./stack build`: the stack's images, an app linked, its .env and data
folders."""

from __future__ import annotations

from pathlib import Path

from . import docker, dotenv, images, links
from .deployment import Deployment, Stack
from .errors import StackError


def build(stack: Path, app: Path | None) -> tuple[Path | None, list[str]]:
    """Check Docker, then build the images with the packages of `app`, by default the app
    linked last; return that app and what to tell the user."""
    docker.check()
    app = app or links.linked_app(stack)
    return app, [f"Built {' '.join(images.build(stack, app, Stack(stack).python_version))}"]


def install(stack: Path, app: Path | None) -> list[str]:
    """With an app: link it and sync its .env. Without: check Docker, build the images
    with the packages of the app linked last, and create that app's data folders."""
    if app is not None:
        said = links.link(stack, app) + dotenv.sync(app)
        try:
            return said + Deployment(stack, app).create_data_folders()
        except StackError as error:  # linking works anywhere; the folders matter on a server
            return [*said, f"note: {error}"]
    linked, said = build(stack, None)
    if linked:
        return said + Deployment(stack, linked).create_data_folders()
    return [*said, "No app linked yet: link one with ./install.sh --app PATH"]
