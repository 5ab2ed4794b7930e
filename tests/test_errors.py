"""Errors you can see: with SENTRY_DSN and VITE_SENTRY_DSN set, the real Sentry SDKs report a
server error and an exception thrown in the page, each named with the release that serves (the
app's commit), to a small HTTP sink of our own that records what they send (no Sentry is
reachable here). A deploy of a new commit, and the seed's `docker compose restart` after
one, change the release; without a DSN nothing is set up and the bundle holds no Sentry code.

One deployment for the module; the tests run in file order.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from deployments import browser_page, deployment_of, health, set_env, trusting_home
from helpers import edit, read_env, record_timing, run, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]

FRONTEND_PROJECT, BACKEND_PROJECT = "1", "2"
# The app's view that fails, added to this test's own copy only: the app ships none.
BOOM_VIEW = """

def boom(request):
    raise RuntimeError("server boom {}")
"""


class Sink:
    """Records the events of the Sentry envelopes POSTed to it, on 127.0.0.1 (the browser's
    side) and on the host's address on Docker's default bridge (the containers' side)."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.servers: list[ThreadingHTTPServer] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's name)
                self.answer()

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                project = self.path.split("/")[2]  # /api/<project>/envelope/
                with sink.lock:
                    sink.events += [{**e, "project": project} for e in events_of(body)]
                self.answer()

            def answer(self) -> None:
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "*")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        return Handler

    def listen(self, address: str) -> int:
        server = ThreadingHTTPServer((address, 0), self.handler())
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers.append(server)
        return server.server_address[1]

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def event(self, project: str, message: str) -> dict | None:
        """The event of `project` whose exception says `message`, once it has arrived."""
        with self.lock:
            for event in self.events:
                values = (event.get("exception") or {}).get("values") or [{}]
                if event["project"] == project and message in values[-1].get("value", ""):
                    return event
        return None

    def wait_for_event(self, project: str, message: str) -> dict:
        wait_for(lambda: self.event(project, message), f"the event {message!r}", 60)
        return self.event(project, message)


def events_of(envelope: bytes) -> list[dict]:
    """The events of a Sentry envelope: a header line, then items, each a header line and a
    payload (of the header's length, or up to the line's end)."""
    found, position = [], envelope.find(b"\n") + 1
    while 0 < position < len(envelope):
        end = envelope.find(b"\n", position)
        header = json.loads(envelope[position : end if end >= 0 else None])
        start = end + 1
        length = header.get("length")
        stop = start + length if length is not None else envelope.find(b"\n", start)
        stop = len(envelope) if stop < 0 else stop
        if header.get("type") == "event":
            found.append(json.loads(envelope[start:stop]))
        position = stop + 1
    return found


@pytest.fixture(scope="module")
def sink() -> Iterator[tuple[Sink, str, str]]:
    """The sink, and the DSNs that send to it: the frontend's (as the browser on this host
    reaches it) and the backend's (as the containers reach the host)."""
    gateway = run(
        "docker", "network", "inspect", "bridge", "-f", "{{(index .IPAM.Config 0).Gateway}}"
    ).stdout.strip()
    sink = Sink()
    try:
        frontend = f"http://frontendkey@127.0.0.1:{sink.listen('127.0.0.1')}/{FRONTEND_PROJECT}"
        backend = f"http://backendkey@{gateway}:{sink.listen(gateway)}/{BACKEND_PROJECT}"
        yield sink, frontend, backend
    finally:
        sink.close()


@pytest.fixture(scope="module")
def deployment(template, tmp_path_factory, sink):
    _, frontend, backend = sink
    base = tmp_path_factory.mktemp("errors") / "errors e2e"
    env = {"SENTRY_DSN": backend, "VITE_SENTRY_DSN": frontend}
    with deployment_of(template, base, "errors", app_packages=False, env=env) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def browser_home(deployment, tmp_path_factory) -> Path:
    return trusting_home(deployment.ca, tmp_path_factory.mktemp("browser home"))


def commit(deployment) -> str:
    return run("git", "rev-parse", "HEAD", cwd=deployment.app).stdout.strip()


def sentry_chunk(deployment) -> str:
    """The bundle's Sentry code (the chunk the page loads when a DSN is built in), '' if none."""
    try:
        _, _, page = deployment.fetch("/")
        scripts = re.findall(r'src="(/assets/[^"]+\.js)"', page.decode())
        entry = b"".join(deployment.fetch(src)[2] for src in scripts).decode()
        chunks = re.findall(r"\b(sentry-[\w-]+\.js)", entry)  # import(`./sentry-<hash>.js`)
        return "".join(deployment.fetch(f"/assets/{c}")[2].decode() for c in set(chunks))
    except OSError:  # Caddy restarting
        return ""


def throw_in_the_page(deployment, home: Path, sinks: Sink, message: str) -> tuple[dict, list]:
    """Open the home page in Chromium, wait for Sentry to start, throw `message` from a timer
    (an uncaught error); returns the event the sink got, and what the console said."""
    logged: list[str] = []
    with browser_page(home) as page:
        page.on("console", lambda m: logged.append(f"{m.type}: {m.text}"))
        page.on("requestfailed", lambda r: logged.append(f"failed: {r.url}: {r.failure}"))
        page.goto(deployment.url + "/")
        # The SDK's global carrier: its chunk has loaded, and init() ran in the same task.
        page.wait_for_function("() => globalThis.__SENTRY__ !== undefined", timeout=30_000)
        page.evaluate(f"setTimeout(() => {{ throw new Error({json.dumps(message)}) }})")
        try:
            return sinks.wait_for_event(FRONTEND_PROJECT, message), logged
        except AssertionError as error:
            error.add_note(f"the page's console and failed requests: {logged}")
            raise


def test_an_error_thrown_in_the_page_arrives_with_the_apps_commit(deployment, sink, browser_home):
    sinks, frontend, _ = sink
    head = commit(deployment)
    # The frontend builds the bundle with the release when the backend's start names it.
    start = time.monotonic()
    wait_for(lambda: head in sentry_chunk(deployment), "the bundle of the first release", 300)
    record_timing("[errors] the bundle with Sentry and its release", time.monotonic() - start)
    status, headers, _ = deployment.fetch("/")
    origin = frontend.split("@")[1].rsplit("/", 1)[0]
    assert f"connect-src 'self' http://{origin};" in headers["Content-Security-Policy"]

    event, logged = throw_in_the_page(deployment, browser_home, sinks, "page boom 1")
    assert event["release"] == head
    assert event["platform"] == "javascript"
    assert not [line for line in logged if "Content Security Policy" in line], logged


def test_a_server_error_arrives_with_the_commit_of_each_deploy(deployment, sink, browser_home):
    """`git pull` brought a commit (here: a view that fails), then `make deploy`."""
    sinks, _, _ = sink
    app = deployment.app
    before = commit(deployment)
    with (app / "backend/core/views.py").open("a") as views:
        views.write(BOOM_VIEW.format(1))
    edit(
        app / "backend/core/urls.py",
        '    path("health/", views.health, name="health"),',
        '    path("health/", views.health, name="health"),\n    path("boom/", views.boom),',
    )
    run("git", "commit", "--quiet", "--all", "--message", "A view that fails", cwd=app)
    head = commit(deployment)
    assert head != before
    run("make", "deploy", cwd=app)

    assert deployment.fetch("/api/boom/")[0] == 500
    event = sinks.wait_for_event(BACKEND_PROJECT, "server boom 1")
    assert event["release"] == head
    assert event["platform"] == "python"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"

    assert head in sentry_chunk(deployment)  # the deploy built the bundle for the new commit
    event, _ = throw_in_the_page(deployment, browser_home, sinks, "page boom 2")
    assert event["release"] == head


def test_the_seeds_restart_hands_in_the_pulled_commit(deployment, sink):
    """`git pull && docker compose restart`: the containers read the new commit themselves."""
    sinks, _, _ = sink
    app = deployment.app
    edit(app / "backend/core/views.py", "server boom 1", "server boom 2")
    run("git", "commit", "--quiet", "--all", "--message", "Another failure", cwd=app)
    head = commit(deployment)
    run("docker", "compose", "restart", cwd=app)
    wait_for(lambda: health(deployment) is not None, "the site after the restart", 120)

    assert deployment.fetch("/api/boom/")[0] == 500
    assert sinks.wait_for_event(BACKEND_PROJECT, "server boom 2")["release"] == head
    wait_for(lambda: head in sentry_chunk(deployment), "the bundle of the pulled commit", 300)


def test_without_a_dsn_sentry_is_off_and_the_bundle_holds_none_of_it(deployment, sink):
    """Both DSNs emptied, then as .env.example says: make deploy, docker compose up -d."""
    sinks, _, _ = sink
    app = deployment.app
    set_env(app / ".env", SENTRY_DSN="", VITE_SENTRY_DSN="")
    run("make", "deploy", cwd=app)
    assert read_env(app / ".env")["CSP_CONNECT_SRC"] == ""
    deployment.compose("up", "-d", "--wait")
    wait_for(lambda: not sentry_chunk(deployment), "the bundle without Sentry", 300)

    _, headers, page = deployment.fetch("/")
    assert "connect-src 'self';" in headers["Content-Security-Policy"]
    entry = re.findall(r'src="(/assets/[^"]+\.js)"', page.decode())
    assert entry
    assert not [s for s in entry if b"sentry" in deployment.fetch(s)[2].lower()]
    check = "import sentry_sdk; print(sentry_sdk.is_initialized())"
    assert deployment.manage("shell", "-c", check).stdout.split()[-1] == "False"
    received = len(sinks.events)
    assert deployment.fetch("/api/boom/")[0] == 500
    assert len(sinks.events) == received
