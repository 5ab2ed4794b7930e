"""Fixtures: the working tree as a tagged template, generated repos, real PostgreSQL and Redis."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from releases import tag_releases

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_VERSION = "99.0.0"
COPIER = [sys.executable, "-m", "copier"]

sys.path.insert(0, str(ROOT / "hooks"))


def run(*args: str | Path, cwd: Path | None = None, env: dict | None = None, check=True):
    """Run a command; on failure show its output in the assertion message."""
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree, committed and tagged in a clone, as a user gets a release; the
    CHANGELOG's releases are tagged too (tag_releases), as older versions to update from."""
    src = tmp_path_factory.mktemp("template") / "template src"
    run("git", "clone", "--quiet", "--no-hardlinks", ROOT, src)
    git = ["git", f"--git-dir={src / '.git'}", f"--work-tree={ROOT}"]
    run(*git, "add", "--all")
    run(
        *git,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@localhost",
        "commit",
        "--quiet",
        "--allow-empty",
        "--no-verify",
        "--message",
        "working tree",
    )
    run("git", "checkout", "--quiet", "--force", "HEAD", cwd=src)
    run("git", "tag", TEMPLATE_VERSION, cwd=src)
    tag_releases(src)
    return src


@dataclass
class Generated:
    stack: Path
    app: Path


def copier_copy(template: Path, dst: Path, check=True, **answers) -> subprocess.CompletedProcess:
    data = [f"--data={key}={value}" for key, value in answers.items()]
    return run(*COPIER, "copy", "--trust", "--defaults", *data, template, dst, check=check)


@pytest.fixture(scope="session")
def generate(template: Path, tmp_path_factory: pytest.TempPathFactory):
    """generate(**answers) -> Generated: a stack and an app linked to it, made by the
    one-command bootstrap (the app's copy generates the stack), cached per answers."""
    cache: dict[tuple, Generated] = {}

    def _generate(**answers) -> Generated:
        key = tuple(sorted(answers.items()))
        if key not in cache:
            base = tmp_path_factory.mktemp("gen") / "work dir"
            app = base / "app"
            copier_copy(template, app, repo="app", **answers)
            cache[key] = Generated(stack=base / f"{answers.get('slug', 'igny8')}-stack", app=app)
        return cache[key]

    return _generate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not come up within {timeout}s")


def record_timing(name: str, seconds: float) -> None:
    """Note a measured phase: printed at the end of the run (and by .ci/run's summary)."""
    line = f"{name:<48} {seconds:7.1f}s"
    TIMINGS.append(line)
    if os.environ.get("TEMPLATE_TIMINGS_FILE"):
        with open(os.environ["TEMPLATE_TIMINGS_FILE"], "a") as file:
            file.write(line + "\n")


TIMINGS: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:
    if TIMINGS:
        terminalreporter.section("measured phases")
        for line in TIMINGS:
            terminalreporter.write_line(line)


def as_postgres(*cmd: str | Path) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres system user then."""
    return (
        ["runuser", "-u", "postgres", "--", *map(str, cmd)]
        if os.geteuid() == 0
        else [*map(str, cmd)]
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict[str, str]]:
    """A real PostgreSQL server on a free localhost port; yields the POSTGRES_* settings."""
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))[-1].parent
    data = Path(tempfile.mkdtemp(prefix="template-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    password = "test-password"
    pwfile = data / "pw"
    run(*as_postgres("sh", "-c", f"echo {password} > {pwfile}"))
    port = free_port()
    run(
        *as_postgres(
            bindir / "initdb",
            "-D",
            data / "db",
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
        )
    )
    run(
        *as_postgres(
            bindir / "pg_ctl",
            "-D",
            data / "db",
            "-l",
            data / "log",
            "-w",
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
            "start",
        )
    )
    settings = {
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": password,
        "POSTGRES_DB": "app",
    }
    env = {"PGPASSWORD": password}
    run(
        "psql",
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "-U",
        "postgres",
        "-c",
        "CREATE DATABASE app",
        env=env,
    )
    try:
        yield settings
    finally:
        run(*as_postgres(bindir / "pg_ctl", "-D", data / "db", "-m", "fast", "stop"), check=False)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis server on a free localhost port."""
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    ping = ["redis-cli", "-p", str(port), "ping"]
    wait_for(lambda: run(*ping, check=False).stdout.strip() == "PONG", "redis-server")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="session")
def copier_template(template: Path) -> Path:
    """pytest-copier's `copier` fixture renders the same tagged template."""
    return template
