"""The one module that runs `docker`: every command bounded in time, every failure one
StackError that names the command and what to do.

Short commands (a query, an exec, a scale) get DOCKER_TIMEOUT seconds by default; a hung
engine or command becomes an error, never a hung tool. Long jobs (a build, a dump, a rollout)
name their own bound, or none (`timeout=None`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from .errors import StackError

DOCKER_TIMEOUT = 300  # seconds, for one docker command
COMPOSE_FILE = "docker-compose.app.yml"  # in the app's folder: a link to the stack's
_DEFAULT = object()


def call(
    *args: str,
    cwd: Path | None = None,
    timeout: float | None | object = _DEFAULT,
    capture: bool = True,
    text: bool = True,
    **options,
) -> subprocess.CompletedProcess:
    """`docker args`, whatever its exit code; its output captured unless `capture` is False
    (or stdout/stderr are given). An error when it does not finish within `timeout` s."""
    timeout = DOCKER_TIMEOUT if timeout is _DEFAULT else timeout
    if capture:
        options.setdefault("stdout", subprocess.PIPE)
        options.setdefault("stderr", subprocess.PIPE)
    command = ["docker", *args]
    try:
        return subprocess.run(command, cwd=cwd, text=text, check=False, timeout=timeout, **options)
    except subprocess.TimeoutExpired:
        raise StackError(
            f"`docker {' '.join(args)}` did not finish within {timeout:.0f} s: is the engine "
            "answering (docker info)? Run the command again to see where it stops"
        ) from None


def failure(result: subprocess.CompletedProcess, doing: str, tail: int = 800) -> StackError:
    """The error of a docker command that failed: what it was doing, and the end of its
    error output."""
    return StackError(f"{doing} failed: {(result.stderr or '').strip()[-tail:]}")


def output(
    *args: str,
    check: bool = True,
    doing: str | None = None,
    stdin: str | None = None,
    timeout: float | None | object = _DEFAULT,
    **options,
) -> str:
    """`docker args`; its output. An error when it fails (with check) or hangs."""
    result = call(*args, input=stdin, timeout=timeout, **options)
    if check and result.returncode != 0:
        raise failure(result, doing or f"`docker {' '.join(args)}`")
    return result.stdout or ""


def json_lines(*args: str, check: bool = True) -> list[dict]:
    """`docker ... --format json`: one object a line."""
    out = output(*args, "--format", "json", check=check)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def shown(doing: str, *args: str, timeout: float | None = None) -> None:
    """`docker args` with its output on the terminal (a build, a push): an error naming
    `doing` when it fails."""
    print(f"{doing}: docker {' '.join(args[:2])} ...", flush=True)
    if call(*args, capture=False, timeout=timeout).returncode != 0:
        raise StackError(f"{doing} failed (the output above says why)")


def succeeds(*args: str) -> bool:
    return call(*args, text=False).returncode == 0


def on_path() -> None:
    """The docker command is there, or an error naming the fix."""
    if not shutil.which("docker"):
        raise StackError(
            "docker not found: install Docker Engine (https://docs.docker.com/engine/install/)"
        )


def check() -> None:
    """Docker engine, compose v2 and buildx are there, or an error naming the fix."""
    on_path()
    if not succeeds("info"):
        raise StackError(
            "the Docker engine does not answer: start it (systemctl start docker) and check "
            "that this user may use it (the docker group)"
        )
    if not succeeds("compose", "version"):
        raise StackError(
            "docker compose v2 not found: install the compose plugin "
            "(package docker-compose-plugin or docker-compose)"
        )
    if not succeeds("buildx", "version"):
        raise StackError(
            "docker buildx not found: install the buildx plugin "
            "(package docker-buildx-plugin or docker-buildx)"
        )


def inspect(*names: str) -> list[dict]:
    """`docker inspect` of containers or images; [] when there is none."""
    found = call("inspect", *names)
    try:
        return json.loads(found.stdout) if found.returncode == 0 else []
    except ValueError:
        return []


class Compose:
    """`docker compose -f docker-compose.app.yml` in the app's folder (which reads its .env)."""

    def __init__(self, app: Path) -> None:
        self.app = app

    def call(self, *args: str, **options) -> subprocess.CompletedProcess:
        """The command's result, whatever its exit code (options: as docker.call's)."""
        return call("compose", "-f", COMPOSE_FILE, *args, cwd=self.app, **options)

    def output(self, doing: str, *args: str, tail: int = 800, **options) -> str:
        """The command's output; an error naming `doing` (and the last `tail` characters of
        its error output) when it fails."""
        result = self.call(*args, **options)
        if result.returncode != 0:
            raise failure(result, doing, tail)
        return result.stdout or ""

    def running(self) -> set[str]:
        """The services that run ([] when compose cannot tell)."""
        found = self.call("ps", "--status", "running", "--services")
        return set(found.stdout.split()) if found.returncode == 0 else set()
