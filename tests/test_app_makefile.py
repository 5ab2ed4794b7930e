"""The app's Makefile: `make help` (and a bare `make`) lists its targets, and a value from
.env that goes into a command line is checked first."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from helpers import posix_path, run


@pytest.fixture
def path(tmp_path) -> str:
    """python3, git, make and POSIX basics; no docker, so nothing can start a container."""
    folder = Path(posix_path(tmp_path / "bin"))
    for name in ("make", "awk", "readlink"):
        (folder / name).symlink_to(shutil.which(name))
    return str(folder)


def test_make_help_lists_every_target_and_a_bare_make_prints_it(pair_copy, path):
    app, _ = pair_copy
    helped = run("make", "help", cwd=app, env={"PATH": path})
    bare = run("make", cwd=app, env={"PATH": path})
    assert bare.stdout == helped.stdout and bare.stderr == ""
    targets = re.findall(r"^([a-z0-9-]+):", (app / "Makefile").read_text(), re.M)
    listed = re.findall(r"^  make (\S+) +\S", helped.stdout, re.M)
    internal = {"local-db-port"}  # a step of dev-local
    assert listed == [t for t in targets if t not in internal], helped.stdout
    for target in ("up", "deploy", "backup", "restore", "dev", "dev-local", "e2e"):
        assert target in listed


@pytest.mark.parametrize(
    "value", ["5432;touch pwned", "$(touch pwned)", "`touch pwned`", "0", "70000", "54 32", "x"]
)
def test_dev_local_refuses_a_db_dev_port_that_is_no_port_before_anything_runs(
    pair_copy, path, value
):
    app, _ = pair_copy
    dotenv = app / ".env"
    lines = [line for line in dotenv.read_text().splitlines() if not line.startswith("DB_DEV_")]
    dotenv.write_text("\n".join([*lines, f"DB_DEV_PORT='{value}'"]) + "\n")
    refused = run("make", "dev-local", cwd=app, env={"PATH": path}, check=False)
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[0] == (
        "error: DB_DEV_PORT in .env (or LOCAL_DB_PORT) is not a port number: set one from 1 to "
        "65535"
    ), refused.stderr
    assert not (app / "pwned").exists() and not (app / "backend/pwned").exists()
    assert not (app / ".venv").exists()  # dev-local's first step did not run


@pytest.mark.parametrize("value", ['"5433"', "6000", "65535"])
def test_a_port_passes_the_check(pair_copy, path, value):
    app, _ = pair_copy
    dotenv = app / ".env"
    lines = [line for line in dotenv.read_text().splitlines() if not line.startswith("DB_DEV_")]
    dotenv.write_text("\n".join([*lines, f"DB_DEV_PORT={value}"]) + "\n")
    run("make", "local-db-port", cwd=app, env={"PATH": path})
