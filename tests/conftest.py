"""Fixtures: the working tree as a tagged template (and one with older releases), generated
repos, real PostgreSQL and Redis. Plain helpers are in helpers.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import (
    BIN,
    DEFAULTS,
    ENV,
    MIDDLE,
    OLD,
    ROOT,
    TEMPLATE_VERSION,
    TIMINGS,
    Generated,
    as_postgres,
    copier_copy,
    follow_recipe,
    free_port,
    make_middle,
    make_old,
    node_path,
    read_env,
    run,
    tag_release,
    tag_releases,
    wait_for,
)


def pytest_configure(config: pytest.Config) -> None:
    """Every test runs node, npm and npx of the default Node.js major, as the images do."""
    try:
        os.environ["PATH"] = node_path(DEFAULTS["node_version"])
    except RuntimeError as error:
        raise pytest.UsageError(str(error)) from None
    ENV["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"  # the same, for commands run with ENV
    # A run started in the background inherits SIGINT ignored; .ci/run interrupts the tests
    # with it before CI's limit, so that they tear down and report.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


PROGRESS = {"running": "no test", "interrupted": ""}  # for the summary of an interrupted run


def pytest_runtest_logstart(nodeid: str) -> None:
    PROGRESS["running"] = nodeid


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo) -> None:
    """Which test was interrupted, and where in the tests' code."""
    frames = [f"{e.path.name}:{e.lineno + 1}" for e in excinfo.traceback if "tests" in e.path.parts]
    PROGRESS["interrupted"] = f"interrupted in {PROGRESS['running']}: {' > '.join(frames[-4:])}"


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
            # project_name defaults to the folder's name: keep the slug igny8 unless given.
            # Data folders under the test's own folder, not the default /data of the host.
            defaults = {"project_name": "igny8", "data_root": str(base / "data")}
            copier_copy(template, app, repo="app", **{**defaults, **answers})
            cache[key] = Generated(stack=base / f"{answers.get('slug', 'igny8')}-stack", app=app)
        return cache[key]

    return _generate


@pytest.fixture
def pair_copy(generate, tmp_path) -> tuple[Path, Path]:
    """(app, stack): a private copy of the default pair (links stay relative, so they still
    resolve), with its own DATA_ROOT."""
    source = generate()
    base = tmp_path / "a copy"
    shutil.copytree(source.app.parent, base, symlinks=True)
    app, stack = base / source.app.name, base / source.stack.name
    dotenv = app / ".env"
    data_root = read_env(dotenv)["DATA_ROOT"]
    dotenv.write_text(dotenv.read_text().replace(data_root, str(tmp_path / "data")))
    return app, stack


def pytest_terminal_summary(terminalreporter) -> None:
    if TIMINGS:
        terminalreporter.section("measured phases")
        for line in TIMINGS:
            terminalreporter.write_line(line)
    if PROGRESS["interrupted"]:
        terminalreporter.section("interrupted")
        terminalreporter.write_line(PROGRESS["interrupted"])


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


@pytest.fixture
def source(template: Path, tmp_path: Path) -> Path:
    """The template with the releases OLD and MIDDLE; the working tree, untagged until
    release_working_tree() releases it."""
    src = tmp_path / "template"
    run("git", "clone", "--quiet", template, src)
    run("git", "tag", "--delete", TEMPLATE_VERSION, cwd=src)
    run("git", "branch", "working-tree", cwd=src)
    make_middle(src)
    tag_release(src, MIDDLE)
    make_old(src)
    tag_release(src, OLD)
    return src


@pytest.fixture(scope="session")
def with_sessions(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template, released with docs/adding-a-service.md followed (its last commit)."""
    src = tmp_path_factory.mktemp("recipe") / "template"
    run("git", "clone", "--quiet", template, src)
    follow_recipe(src)
    run("git", "add", "--all", cwd=src)
    message = "Add the sessions service (docs/adding-a-service.md)"
    run("git", "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "--quiet",
        "--no-verify", "-m", message, cwd=src)  # fmt: skip
    run("git", "tag", "--force", TEMPLATE_VERSION, cwd=src)
    return src
