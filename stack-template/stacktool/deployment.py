"""The facts of one deployment, each read once: the stack and the app it serves, the app's
.env, the stack's answers, the deployment's name and its data folders (Stack: the stack's
alone).

Every command that works on a deployment gets one Deployment; its facts are read the first
time they are asked for, then kept (a command that changes .env makes a new one)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

from . import dotenv, images
from .answers import read_answers
from .errors import StackError

DATA_FOLDERS = ("media", "logs", "releases")  # in $DATA_ROOT/<name>/
BACKUPS = "backups"  # in $DATA_ROOT/<name>/ too


class Stack:
    """The facts of the stack at `stack` alone, each read once: its answers, its slug and the
    template version (a command without an app: build, lock)."""

    def __init__(self, stack: Path) -> None:
        self.stack = Path(stack)

    @cached_property
    def answers(self) -> dict[str, Any]:
        """The stack's copier answers."""
        return read_answers(self.stack)

    @cached_property
    def _rendered(self) -> tuple[str, str]:
        return images.rendered(self.stack)

    @property
    def slug(self) -> str:
        return self._rendered[0]

    @property
    def version(self) -> str:
        """The template version the stack was generated from."""
        return self._rendered[1]

    @property
    def python_version(self) -> str:
        """The backend's Python version (every release records it)."""
        return str(self.answers["python_version"])


class Deployment(Stack):
    """The deployment of the app at `app` with the stack at `stack` (both absolute)."""

    def __init__(self, stack: Path, app: Path) -> None:
        super().__init__(stack)
        self.app = Path(app)

    # ---- Files read once ----

    @property
    def env_path(self) -> Path:
        return self.app / dotenv.ENV

    @cached_property
    def env_text(self) -> str | None:
        """The text of the app's .env, None when there is none."""
        return dotenv.read_text(self.env_path) if self.env_path.is_file() else None

    @cached_property
    def _env_values(self) -> dict[str, str]:
        text = self.env_text
        values = {} if text is None else dotenv.parse_file(text, self.env_path)
        dotenv.derived(values)  # an error naming the fix for a malformed DSN
        return values

    @property
    def env(self) -> dict[str, str]:
        """The app's .env values; without one, an error naming how to make one."""
        if self.env_text is None:
            raise StackError(
                f"{self.env_path} not found: create it with ./install.sh --app "
                f"{dotenv._quoted(self.app)}"
            )
        return self._env_values

    @property
    def env_if_any(self) -> dict[str, str]:
        """The app's .env values, {} when there is none (an error if it cannot be read)."""
        return self._env_values

    def check_env(self, required: bool = True) -> None:
        """Read the app's .env now: an error naming the fix if compose could not read it, or
        (`required`) if there is none."""
        if required:
            self.env  # noqa: B018 (a property that reads)
        else:
            self.env_if_any  # noqa: B018

    # ---- What follows from them ----

    @cached_property
    def name(self) -> str:
        """The deployment's name: COMPOSE_PROJECT_NAME of .env, else the slug (checked)."""
        return images.project_name(self.slug, self.env_if_any, str(self.env_path))

    @cached_property
    def data_folders(self) -> list[Path]:
        """The host folders the deployment keeps its data in: DATA_ROOT/<name>/..., with
        DATA_ROOT from the app's .env (the one place it is set; compose reads it there too)
        and <name> the compose project (COMPOSE_PROJECT_NAME there, else the slug, as in
        compose)."""
        root = self.env.get("DATA_ROOT", "")
        if not os.path.isabs(root) or ".." in Path(root).parts:
            raise StackError(
                f"DATA_ROOT={root!r} in {self.env_path}: give an absolute path without '..', "
                "e.g. DATA_ROOT=/data"
            )
        return [Path(root) / self.name / folder for folder in DATA_FOLDERS]

    @property
    def media(self) -> Path:
        return self.data_folders[0]

    @property
    def logs(self) -> Path:
        return self.data_folders[1]

    @property
    def backups(self) -> Path:
        return self.media.parent / BACKUPS

    def create_data_folders(self) -> list[str]:
        """Make the data folders, owned by the backend's user; return what to say."""
        said = []
        for folder in self.data_folders:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                if folder.stat().st_uid != images.BACKEND_UID:
                    os.chown(folder, images.BACKEND_UID, images.BACKEND_UID)
            except PermissionError:
                uid = images.BACKEND_UID
                raise StackError(
                    f"cannot give {folder} to the backend's user (uid {uid}): run ./install.sh "
                    f"as root, or create it yourself (sudo install -d -o {uid} -g {uid} "
                    f"{folder}); DATA_ROOT is set in {self.env_path}"
                ) from None
            said.append(f"Data folder: {folder}")
        return said
