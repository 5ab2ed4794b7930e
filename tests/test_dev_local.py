"""The app without Docker, as its README says: `make dev-local` (a venv with the stack's
and the app's requirements, npm ci, runserver and Vite's dev server on this machine) against
a real PostgreSQL, and `make typecheck` (mypy in that venv, and tsc)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from helpers import edit, free_port, record_timing, run, wait_for

pytestmark = pytest.mark.slow


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:  # an answer, with its status
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def test_make_dev_local_serves_the_backend_and_vite_on_this_machine(pair_copy, postgres):
    app, _ = pair_copy
    backend, vite = free_port(), free_port()
    variables = [
        f"LOCAL_DB_HOST={postgres['POSTGRES_HOST']}",
        f"LOCAL_DB_PORT={postgres['POSTGRES_PORT']}",
        f"BACKEND_PORT={backend}",
        f"VITE_PORT={vite}",
    ]
    env = {**os.environ, **{k: v for k, v in postgres.items() if k not in ("POSTGRES_HOST",)}}
    start = time.monotonic()
    server = subprocess.Popen(
        ["make", "dev-local", *variables],
        cwd=app,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        health = f"http://127.0.0.1:{backend}/api/health/"
        wait_for(lambda: get(health)[0] == 200, "runserver on this machine", 600)
        page = f"http://localhost:{vite}/"
        wait_for(lambda: "/@vite/client" in get(page)[1], "Vite's dev server", 120)
        record_timing("[dev-local] make dev-local to serving", time.monotonic() - start)
        # Vite passes /api to runserver, as Caddy does in the containers.
        status, body = get(f"http://localhost:{vite}/api/health/")
        assert status == 200 and json.loads(body) == {"status": "ok", "database": "ok"}
        # The notes need a user; the session answers everyone.
        assert get(f"http://localhost:{vite}/api/notes/")[0] == 403
        assert json.loads(get(f"http://localhost:{vite}/api/session/")[1]) == {"user": None}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
        print(output[-5000:])
    assert (app / ".venv/installed").is_file()
    assert run("git", "status", "--porcelain", cwd=app).stdout == ""


def test_make_typecheck_runs_mypy_and_tsc_and_fails_on_a_type_error_of_either(pair_copy):
    app, _ = pair_copy
    run("npm", "ci", "--no-audit", "--no-fund", cwd=app / "frontend")
    start = time.monotonic()
    passed = run("make", "typecheck", cwd=app)
    record_timing("[dev-local] make typecheck, .venv made", time.monotonic() - start)
    assert "Success: no issues found" in passed.stdout
    assert (app / ".venv/installed").is_file()

    home = app / "frontend/src/pages/Home.tsx"
    edit(home, "state.user)", "state.user.email)")  # the user may be null
    failed = run("make", "typecheck", cwd=app, check=False)
    assert failed.returncode != 0
    assert "Home.tsx" in failed.stdout and "error TS" in failed.stdout

    models = app / "backend/notes/models.py"
    edit(models, "return self.title", "return self.created_at")
    failed = run("make", "typecheck", cwd=app, check=False)
    assert failed.returncode != 0
    assert "notes/models.py:18: error: Incompatible return value type" in failed.stdout
    assert "error TS" not in failed.stdout  # mypy stops it before tsc
