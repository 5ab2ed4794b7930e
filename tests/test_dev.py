"""The app's development mode under a real Docker engine (`make dev`): the same images as
production, Django's runserver and Vite's dev server behind the same Caddy; edits show
without a restart by hand, React's without a page reload. Then `make up` goes back."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pexpect
import pytest
from deployments import (
    LOGIN,
    STACK_IMAGES,
    USER,
    browser_page,
    deployment_of,
    health,
    set_env,
    trusting_home,
)
from helpers import edit, ensure_standins, free_port, record_timing, run, wait_for
from playwright.sync_api import Error as BrowserError

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def first_page(deployment) -> bool:
    """Whether the site answers / with the page Vite serves in development mode."""
    try:
        status, _, page = deployment.fetch("/")
    except OSError:
        return False
    return status == 200 and b"/@vite/client" in page


@pytest.fixture(scope="module")
def dev(template, tmp_path_factory):
    """A deployment (images built, up in production mode), taken down with its volumes,
    then started from nothing with `make dev`."""
    base = tmp_path_factory.mktemp("dev") / "dev mode"
    with deployment_of(template, base, "dev", app_packages=False) as deployment:
        # Quoted, as .env allows: compose and the Makefile (make dev-local) both unquote it.
        set_env(deployment.app / ".env", DB_DEV_PORT=f'"{free_port()}"')
        deployment.compose("down", "--volumes")
        start = time.monotonic()
        run("make", "dev", cwd=deployment.app)
        deployment.trust_caddy()  # a new volume: a new local CA
        wait_for(lambda: first_page(deployment), "the first page from Vite", 120)
        record_timing("[dev] make dev from nothing to the first page", time.monotonic() - start)
        yield deployment


@pytest.fixture(scope="module")
def home(dev, tmp_path_factory) -> Path:
    return trusting_home(dev.ca, tmp_path_factory.mktemp("browser home"))


def service_commands(deployment) -> dict[str, str]:
    listing = deployment.compose("ps", "--format", "json", "--no-trunc").stdout.splitlines()
    return {c["Service"]: c["Command"] for c in map(json.loads, listing)}


def test_dev_mode_runs_the_production_images_with_runserver_and_vite(dev):
    version = run(dev.stack / "install.sh", "--version").stdout.strip()
    images = {c["Service"]: c["Image"] for c in dev.containers() if c["Service"] in STACK_IMAGES}
    assert images == {s: f"{dev.project}-{s}:{version}" for s in STACK_IMAGES}
    commands = service_commands(dev)
    assert "dev" in commands["backend"]
    assert "vite" in commands["frontend"]
    assert "Caddyfile.dev" in commands["caddy"]
    (mailcatcher,) = [c for c in dev.containers() if c["Service"] == "mailcatcher"]
    assert mailcatcher["Image"] == ensure_standins()["mailcatcher_image"]
    assert dev.json("/api/health/") == {"status": "ok", "database": "ok"}
    # runserver with DEBUG: Django's static files (the admin's CSS) come from it.
    status, headers, _ = dev.fetch("/static/admin/css/base.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")


def test_the_frontend_image_holds_node_tsc_and_vite_not_npm_or_the_tools_of_the_host(dev):
    """The image built the bundle (production mode, before make dev) and runs Vite's dev
    server (make dev); it holds nothing else: no npm, no C headers, no devDependencies
    (Vitest, jsdom, Testing Library, ESLint, the API client's generator), no package
    cache, no source maps."""
    version = run(dev.stack / "install.sh", "--version").stdout.strip()
    script = """
        for tool in node tsc vite npm npx; do command -v "$tool" >/dev/null && echo "$tool"; done
        for path in /usr/local/include /usr/local/lib/node_modules "$HOME/.npm" \\
            node_modules/eslint node_modules/jsdom node_modules/vitest node_modules/@vitest \\
            node_modules/@testing-library node_modules/@hey-api; do
            [ -e "$path" ] && echo "$path"
        done
        find node_modules -name '*.map' | head -n 1
        id -u
    """
    image = f"{dev.project}-frontend:{version}"
    found = run("docker", "run", "--rm", "--entrypoint", "sh", image, "-c", script).stdout
    assert found.split() == ["node", "tsc", "vite", "1000"]


def open_page(page, url: str) -> None:
    """page.goto, again when Chromium gave up because a network interface changed: other
    containers starting or stopping on this engine add and remove interfaces."""
    for attempt in range(3):
        try:
            page.goto(url)
            return
        except BrowserError as error:
            if "ERR_NETWORK_CHANGED" not in str(error) or attempt == 2:
                raise


def test_react_edit_shows_without_a_reload_and_keeps_the_state(dev, home):
    with browser_page(home) as page:
        open_page(page, dev.url + "/account/signin")
        page.get_by_role("heading", name="Sign in").wait_for(timeout=60_000)
        page.get_by_label("Email").fill("typed@before.the.edit")
        page.evaluate("window.loadedOnce = true")  # a reload would forget it

        sign_in = dev.app / "frontend/src/pages/account/SignIn.tsx"
        edit(sign_in, "<h1>Sign in</h1>", "<h1>Hot sign in</h1>")
        start = time.monotonic()
        page.get_by_role("heading", name="Hot sign in").wait_for(timeout=30_000)
        record_timing("[dev] React edit to the open page (HMR)", time.monotonic() - start)

        assert page.evaluate("window.loadedOnce") is True, "the page reloaded"
        assert page.get_by_label("Email").input_value() == "typed@before.the.edit"


def test_django_view_edit_answers_the_next_request(dev):
    edit(
        dev.app / "backend/core/views.py",
        'body = {"status": "ok"}',
        'body = {"status": "ok", "reloaded": "yes"}',
    )
    start = time.monotonic()
    wait_for(lambda: (health(dev) or {}).get("reloaded") == "yes", "the edited view", 60)
    record_timing("[dev] Django view edit to the new answer", time.monotonic() - start)


def test_make_api_client_writes_the_client_the_app_commits_and_follows_a_serializer(dev):
    """The app's schema and client as committed are what make api-client writes (the
    template's own are current); a changed serializer changes the schema it writes."""
    generated = ["frontend/openapi.json", "frontend/src/api/generated"]
    start = time.monotonic()
    run("make", "api-client", cwd=dev.app)
    record_timing("[dev] make api-client", time.monotonic() - start)
    assert run("git", "status", "--porcelain", "--", *generated, cwd=dev.app).stdout == ""

    serializers = dev.app / "backend/notes/serializers.py"
    edit(serializers, '{"max_length": 10_000}', '{"max_length": 5_000}')
    try:
        run("make", "api-client", cwd=dev.app)
        changed = run("git", "diff", "--", *generated, cwd=dev.app).stdout
        assert '+                        "maxLength": 5000' in changed, changed
    finally:
        edit(serializers, '{"max_length": 5_000}', '{"max_length": 10_000}')
        run("git", "checkout", "--", *generated, cwd=dev.app)


def test_new_model_field_after_makemigrations_and_migrate(dev):
    body = "    body = models.TextField(blank=True)\n"
    pinned = "    pinned = models.BooleanField(default=False)\n"
    edit(dev.app / "backend/notes/models.py", body, body + pinned)
    edit(
        dev.app / "backend/notes/serializers.py",
        '"body", "created_at"]',
        '"body", "pinned", "created_at"]',
    )
    made = run("make", "makemigrations", cwd=dev.app)
    assert "Add field pinned to note" in made.stdout
    (migration,) = (dev.app / "backend/notes/migrations").glob("0003_*.py")
    assert migration.stat().st_uid == os.getuid(), "the migration is not the developer's file"
    migrated = run("make", "migrate", cwd=dev.app)
    assert "Applying notes.0003" in migrated.stdout

    def served() -> bool:
        try:
            return dev.json("/api/notes/", {"title": "pinned?", "pinned": True}, 201)["pinned"]
        except (AssertionError, OSError):  # runserver still reloading
            return False

    wait_for(served, "the API with the new field", 60)
    assert [n["pinned"] for n in dev.notes()] == [True]


def test_make_manage_runs_a_command_and_mail_goes_to_the_mail_catcher(dev):
    """Sent by SMTP to MailDev, whose REST API and page are the site's /mail/ (Caddy)."""
    run("make", "manage", "ARGS=sendtestemail you@example.com", cwd=dev.app)
    caught: list[dict] = []

    def arrived() -> bool:
        caught[:] = [m for m in dev.json("/mail/email") if m["subject"].startswith("Test email")]
        return bool(caught)

    wait_for(arrived, "the mail in the mail catcher", 30)
    (mail,) = caught
    assert [to["address"] for to in mail["to"]] == ["you@example.com"]
    assert mail["subject"].startswith("Test email from")
    status, _, page = dev.fetch("/mail/")
    assert status == 200 and b"MailDev" in page


def test_make_shell_and_dbshell_answer_at_a_terminal(dev):
    shell = pexpect.spawn("make", ["shell"], cwd=dev.app, timeout=60, encoding="utf-8")
    shell.expect(">>> ")
    shell.sendline("from notes.models import Note; print('notes:', Note.objects.count())")
    shell.expect(r"notes: \d+")
    shell.sendline("exit()")
    shell.expect(pexpect.EOF)

    dbshell = pexpect.spawn("make", ["dbshell"], cwd=dev.app, timeout=60, encoding="utf-8")
    dbshell.expect("=# ")
    dbshell.sendline("SELECT count(*) AS found FROM django_migrations WHERE app = 'notes';")
    dbshell.expect(r"found\s+-+\s+3")
    dbshell.sendline("\\q")
    dbshell.expect(pexpect.EOF)


def test_database_is_published_on_localhost_in_dev_mode_only(dev):
    port = int(dev.compose("port", "db", "5432").stdout.strip().rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


def test_make_dev_local_uses_the_database_make_dev_publishes(dev):
    """Without LOCAL_DB_*, the backend on this machine reaches the db of DB_DEV_PORT."""
    backend, vite = free_port(), free_port()
    server = subprocess.Popen(
        ["make", "dev-local", f"BACKEND_PORT={backend}", f"VITE_PORT={vite}"],
        cwd=dev.app,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        local = f"http://127.0.0.1:{backend}"

        def titles() -> list[str]:
            """The notes of the user the tests sign in as, signed in on this backend."""
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            email, password = USER
            try:
                opener.open(f"{local}/api/session/", timeout=5).read()
                token = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
                headers = {"Content-Type": "application/json", "X-CSRFToken": token}
                body = json.dumps({"email": email, "password": password}).encode()
                sign_in = urllib.request.Request(
                    local + LOGIN, body, headers={**headers, "Origin": local}
                )
                opener.open(sign_in, timeout=5).read()
                with opener.open(f"{local}/api/notes/", timeout=5) as response:
                    return [note["title"] for note in json.loads(response.read())["results"]]
            except (OSError, StopIteration):
                return []

        wait_for(lambda: titles() == ["pinned?"], "runserver on this machine", 600)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def test_make_up_returns_to_production_without_a_rebuild(dev):
    images = dev.images()
    start = time.monotonic()
    run("make", "up", cwd=dev.app)
    dev.compose("up", "-d", "--wait")  # only waits
    record_timing("[dev] make up back to production, healthy", time.monotonic() - start)
    commands = service_commands(dev)
    assert "web" in commands["backend"] and "build.sh" in commands["frontend"]
    assert "mailcatcher" not in commands  # development mode's alone
    (db,) = [c for c in dev.containers() if c["Service"] == "db"]
    assert not [p for p in db["Publishers"] or [] if p["PublishedPort"]]
    status, _, page = dev.fetch("/")
    assert status == 200 and b"/@vite/client" not in page
    assert re.search(rb'src="/assets/index-[^"]+\.js"', page)
    assert dev.json("/api/health/")["reloaded"] == "yes"  # the code edited in dev mode
    assert dev.images() == images
