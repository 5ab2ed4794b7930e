"""The generated stack, run for real under a Docker engine, as a user deploys it.

In a folder whose path has a space: bootstrap the app (which generates the stack), link it
with the stack's install.sh, build the images with install.sh, `docker compose up -d --wait`,
then check it through Caddy over HTTPS, verified against Caddy's own CA (trusted explicitly),
with a headless Chromium for the page. Base images are the local stand-ins (ensure_standins);
the generated repos only see them as base-image answers.
"""

from __future__ import annotations

import contextlib
import json
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import pytest
from helpers import (
    MIDDLE,
    SLUG,
    TEMPLATE_VERSION,
    Shell,
    bootstrap,
    copier_copy,
    deploy,
    edit,
    ensure_standins,
    free_port,
    read_env,
    readme_blocks,
    record_timing,
    release_working_tree,
    run,
    wait_for,
    write_packages,
)
from playwright.sync_api import Error as BrowserError
from playwright.sync_api import Page, sync_playwright

pytestmark = [pytest.mark.docker, pytest.mark.slow]

VARIANTS = {
    "default": {},
    "celery": {"project_name": "Celery Shop", "use_celery": True},
}
# The app's own packages (its requirements-app.txt and package-app.json): the images must
# pick them up.
APP_REQUIREMENT = ("humanize", "4.17.0")
APP_NPM_PACKAGE = ("is-number", "7.0.0")
CHROMIUM = "/usr/bin/chromium"
CADDY_ROOT_CA = "/data/caddy/pki/authorities/local/root.crt"
STACK_IMAGES = ("backend", "frontend", "caddy")  # the images the stack builds


@dataclass
class Deployment:
    name: str
    app: Path
    stack: Path
    url: str
    ca: Path
    tls: ssl.SSLContext | None = field(default=None, repr=False)

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(
            "docker", "compose", "-f", "docker-compose.app.yml", *args, cwd=self.app, check=check
        )

    def images(self) -> dict[str, str]:
        """Image id of each of the stack's images."""
        slug = self.stack.name.removesuffix("-stack")
        version = run(self.stack / "install.sh", "--version").stdout.strip()
        return {
            service: run(
                "docker", "image", "inspect", "-f", "{{.Id}}", f"{slug}-{service}:{version}"
            ).stdout.strip()
            for service in STACK_IMAGES
        }

    def up(self) -> None:
        """`up -d --wait`, then trust Caddy's local CA, copied out of its container."""
        self.compose("up", "-d", "--wait")
        self.compose("cp", f"caddy:{CADDY_ROOT_CA}", str(self.ca))
        self.tls = ssl.create_default_context(cafile=self.ca)

    def containers(self) -> list[dict]:
        """`docker compose ps` of the running services."""
        return [
            json.loads(line) for line in self.compose("ps", "--format", "json").stdout.splitlines()
        ]

    def fetch(self, path: str, body: dict | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={} if body is None else {"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, path: str, body: dict | None = None, status: int = 200) -> dict | list:
        code, _, content = self.fetch(path, body)
        assert code == status, f"{path}: {code} {content[:500]!r}"
        return json.loads(content)


def set_env(dotenv: Path, **values: str) -> None:
    lines = dotenv.read_text().splitlines()
    for key, value in values.items():
        lines = [f"{key}={value}" if line.startswith(f"{key}=") else line for line in lines]
    dotenv.write_text("\n".join(lines) + "\n")


def add_app_packages(app: Path) -> None:
    with (app / "backend/requirements-app.txt").open("a") as file:
        file.write("{}=={}\n".format(*APP_REQUIREMENT))
    write_packages(app, dict([APP_NPM_PACKAGE]))
    run("git", "commit", "--quiet", "--all", "--message", "Add the app's own packages", cwd=app)


def plain(text: str) -> str:
    """Terminal output without its colour and line-control escapes."""
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def timed(name: str, *args, **kwargs) -> subprocess.CompletedProcess:
    start = time.monotonic()
    result = run(*args, **kwargs)
    record_timing(name, time.monotonic() - start)
    return result


@pytest.fixture(scope="module", params=list(VARIANTS), ids=list(VARIANTS))
def deployment(request, template, tmp_path_factory):
    name = request.param
    start = time.monotonic()
    standins = ensure_standins()
    record_timing("stand-in images (ensure)", time.monotonic() - start)

    base = tmp_path_factory.mktemp("docker") / "docker e2e"
    slug = "igny8" if name == "default" else "celery-shop"
    app, stack = base / slug, base / f"{slug}-stack"
    copier_copy(
        template, app, repo="app", data_root=base / "data root", **standins, **VARIANTS[name]
    )
    add_app_packages(app)

    # As the stack's README says: link the app (and write its .env), then build the images.
    run(stack / "install.sh", "--app", app, cwd=base)
    https_port = free_port()
    set_env(
        app / ".env",
        HTTP_PORT=str(free_port()),
        HTTPS_PORT=str(https_port),
        DJANGO_CSRF_TRUSTED_ORIGINS=f"https://localhost:{https_port}",
    )
    timed(f"[{name}] image builds (install.sh)", stack / "install.sh", cwd=base)

    deployment = Deployment(
        name, app, stack, f"https://localhost:{https_port}", base / "caddy root.crt"
    )
    try:
        start = time.monotonic()
        deployment.up()
        record_timing(f"[{name}] up -d --wait to healthy", time.monotonic() - start)
        yield deployment
    finally:
        logs = deployment.compose("logs", "--no-color", "--tail", "60", check=False).stdout
        deployment.compose("down", "--volumes", "--timeout", "20", check=False)
        if request.node.session.testsfailed:
            print(logs)


@pytest.fixture(scope="module")
def browser_home(deployment, tmp_path_factory) -> Path:
    """A HOME whose NSS database trusts Caddy's local CA, so Chromium verifies the site."""
    home = tmp_path_factory.mktemp("browser home")
    nssdb = home / ".pki/nssdb"
    nssdb.mkdir(parents=True)
    run("certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password")
    run(
        "certutil",
        "-d",
        f"sql:{nssdb}",
        "-A",
        "-n",
        "caddy local CA",
        "-t",
        "C,,",
        "-i",
        deployment.ca,
    )
    return home


@contextlib.contextmanager
def browser_page(home: Path) -> Iterator[Page]:
    """A page of headless Chromium (Debian's) whose HOME decides which CAs it trusts."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu"],
            env={"HOME": str(home)},
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def page_text(url: str, home: Path, wait_for_text: str, screenshot: Path | None = None) -> str:
    with browser_page(home) as page:
        page.goto(url)
        page.get_by_text(wait_for_text).first.wait_for(timeout=30_000)
        if screenshot:
            page.screenshot(path=screenshot)
        return page.inner_text("body")


def test_browser_shows_data_from_the_api(deployment, browser_home, tmp_path):
    title = f"Written through the API ({deployment.name})"
    deployment.json(
        "/api/notes/", {"title": title, "body": "browser → Caddy → gunicorn → PostgreSQL"}, 201
    )
    text = page_text(deployment.url + "/", browser_home, title, tmp_path / "home.png")
    assert "Notes" in text
    assert title in text


def test_https_is_verified_against_caddys_ca_only(deployment, tmp_path):
    """Neither client trusts the site without Caddy's CA: verification is on."""
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(
            deployment.url + "/", context=ssl.create_default_context(), timeout=30
        )
    with pytest.raises(BrowserError, match="ERR_CERT_AUTHORITY_INVALID"):
        page_text(deployment.url + "/", tmp_path, "Notes")


def test_health_reports_every_service(deployment):
    expected = {"status": "ok", "database": "ok"}
    if deployment.name == "celery":
        expected["redis"] = "ok"
    assert deployment.json("/api/health/") == expected


def test_admin_login_renders_with_its_css(deployment):
    status, _, page = deployment.fetch("/admin/login/")
    assert status == 200
    stylesheets = re.findall(r'<link rel="stylesheet" href="(/static/[^"]+\.css)"', page.decode())
    assert stylesheets, page[:800]
    for href in stylesheets:
        status, headers, css = deployment.fetch(href)
        assert status == 200, href
        assert headers["Content-Type"].startswith("text/css")
        assert css


def test_client_side_route_gets_the_spa_and_a_missing_asset_is_a_404(deployment):
    status, headers, page = deployment.fetch("/some/client/route")
    assert status == 200
    assert '<div id="root">' in page.decode()
    assert headers["Cache-Control"] == "no-cache"

    status, _, body = deployment.fetch("/assets/index-DoesNotExist.js")
    assert status == 404
    assert b'<div id="root">' not in body


def test_hashed_assets_are_immutable_and_security_headers_are_set(deployment):
    status, headers, page = deployment.fetch("/")
    assert status == 200
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Server" not in headers
    assets = re.findall(r'(/assets/[^"]+\.(?:js|css))"', page.decode())
    assert assets
    for asset in assets:
        status, headers, _ = deployment.fetch(asset)
        assert status == 200
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_containers_run_as_non_root_and_only_caddy_publishes_ports(deployment):
    services = ["backend", "frontend"] + (["worker", "beat"] if deployment.name == "celery" else [])
    for service in services:
        uid = deployment.compose("exec", "-T", service, "id", "-u").stdout.strip()
        assert uid != "0", service
    published = {
        container["Service"]: [p for p in container["Publishers"] or [] if p["PublishedPort"]]
        for container in deployment.containers()
    }
    assert {service for service, ports in published.items() if ports} == {"caddy"}


def test_images_carry_the_app_packages(deployment):
    name, version = APP_REQUIREMENT
    found = deployment.compose(
        "exec", "-T", "backend", "python", "-c", f"import {name}; print({name}.__version__)"
    )
    assert found.stdout.strip() == version
    name, version = APP_NPM_PACKAGE
    found = deployment.compose(
        "exec", "-T", "frontend", "node", "-p", f"require('{name}/package.json').version"
    )
    assert found.stdout.strip() == version


def test_app_make_test_runs_the_backend_tests_in_the_container(deployment):
    """The app README's `make migrate` and `make test` (npm ci in frontend/ first)."""
    migrate = run("make", "migrate", cwd=deployment.app)
    assert "No migrations to apply." in migrate.stdout
    run("npm", "ci", "--no-audit", "--no-fund", cwd=deployment.app / "frontend")
    result = run("make", "test", cwd=deployment.app)
    output = plain(result.stdout)
    backend, frontend = output.split("vitest run", 1)
    assert re.search(r"\d+ passed", backend), output
    assert re.search(r"Tests +\d+ passed", frontend), output


def test_make_createsuperuser_gives_an_admin_login_that_works_in_the_browser(
    deployment, browser_home
):
    """The app README's `make createsuperuser`, answered at a terminal as a person would."""
    password = "correct-horse-battery-staple-42"
    terminal = pexpect.spawn(
        "make", ["createsuperuser"], cwd=deployment.app, timeout=60, encoding="utf-8"
    )
    for prompt, answer in (
        ("Username", "admin"),
        ("Email address", "admin@example.com"),
        ("Password:", password),
        ("Password \\(again\\):", password),
    ):
        terminal.expect(prompt)
        terminal.sendline(answer)
    terminal.expect("Superuser created successfully.")
    terminal.expect(pexpect.EOF)

    with browser_page(browser_home) as page:
        page.goto(deployment.url + "/admin/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.get_by_text("Site administration").wait_for(timeout=30_000)
        # The admin's own stylesheet applied: its header has the admin's colours, not none.
        header = page.eval_on_selector("#header", "e => getComputedStyle(e).backgroundColor")
        assert header not in ("rgba(0, 0, 0, 0)", "transparent")


def test_make_logs_follows_the_services(deployment):
    """The app README's `make logs` (it follows until stopped: here after 5 s)."""
    result = subprocess.run(
        ["timeout", "5", "make", "logs"], cwd=deployment.app, capture_output=True, text=True
    )
    assert result.returncode == 124  # still following when stopped
    logs = plain(result.stdout)
    assert re.search(r"^backend-1 +\| .*Listening at: http://0.0.0.0:8000", logs, re.M), logs


def test_celery_task_round_trip(deployment):
    services = deployment.compose("config", "--services").stdout.split()
    if deployment.name != "celery":
        assert not {"redis", "worker", "beat"} & set(services)
        return
    task = deployment.json("/api/tasks/add/", {"x": 20, "y": 22}, 202)
    state = {}

    def done():
        state.update(deployment.json(f"/api/tasks/{task['id']}/"))
        return state["state"] == "SUCCESS"

    wait_for(done, "the worker to run the task", timeout=60)
    assert state["result"] == 42


def test_install_and_build_twice_change_nothing(deployment):
    images = deployment.images()
    for command in (["install.sh"], ["stack", "build"]):
        name = " ".join(command)
        timed(
            f"[{deployment.name}] second {name} (cached)",
            deployment.stack / command[0],
            *command[1:],
        )
        assert deployment.images() == images, f"{name} rebuilt an image"


def health(deployment: Deployment) -> dict | None:
    """The answer of /api/health/, or None while the site does not answer 200."""
    try:
        code, _, body = deployment.fetch("/api/health/")
    except OSError:  # Caddy or the backend restarting
        return None
    return json.loads(body) if code == 200 else None


def bundle(deployment: Deployment) -> bytes:
    """The JavaScript the page loads now."""
    try:
        _, _, page = deployment.fetch("/")
        return b"".join(
            deployment.fetch(src)[2] for src in re.findall(r'src="(/assets/[^"]+)"', page.decode())
        )
    except OSError:
        return b""


def test_deploy_without_rebuild(deployment, browser_home):
    images = deployment.images()
    edit(
        deployment.app / "backend/core/views.py",
        'body = {"status": "ok"}',
        'body = {"status": "ok", "release": "2"}',
    )
    edit(
        deployment.app / "frontend/src/pages/Home.tsx",
        "<h1>Notes</h1>",
        "<h1>Notes, deployed again</h1>",
    )
    run("git", "commit", "--quiet", "--all", "--message", "Second release", cwd=deployment.app)

    start = time.monotonic()
    deployment.compose("restart")
    wait_for(lambda: (health(deployment) or {}).get("release") == "2", "the new API answer", 180)
    wait_for(lambda: b"Notes, deployed again" in bundle(deployment), "the new frontend build", 180)
    text = page_text(deployment.url + "/", browser_home, "Notes, deployed again")
    record_timing(f"[{deployment.name}] deploy: restart to new content", time.monotonic() - start)
    assert "Notes, deployed again" in text
    assert deployment.images() == images, "an image was rebuilt"


def test_data_survives_down_and_up(deployment):
    title = f"Kept across down/up ({deployment.name})"
    deployment.json("/api/notes/", {"title": title, "body": ""}, 201)
    run("make", "down", cwd=deployment.app)  # the app README's commands; no --volumes
    assert not deployment.compose("ps", "--quiet").stdout.strip()
    run("make", "up", cwd=deployment.app)
    deployment.compose("up", "-d", "--wait")  # only waits: everything is up already
    assert title in [note["title"] for note in deployment.json("/api/notes/")]


def test_env_file_is_private(deployment):
    assert (deployment.app / ".env").stat().st_mode & 0o777 == 0o600
    assert read_env(deployment.app / ".env")["DATA_ROOT"].endswith("data root")


def test_a_server_follows_the_readmes_to_a_new_template_version(source, tmp_path):
    """Deployed at an older release, updated as the stack's and app's READMEs say: the
    server runs images of the new version, built with the app's packages; data is kept."""
    team = bootstrap(
        source,
        tmp_path / "update e2e",
        MIDDLE,
        data_root=tmp_path / "data root",
        **ensure_standins(),
    )
    (team.dev() / "backend/requirements-app.txt").write_text("{}=={}\n".format(*APP_REQUIREMENT))
    team.commit(team.dev(), "Our own package")
    deploy(team)  # server clones of both repos, ./install.sh --app
    server_stack, server_app = team.server(f"{SLUG}-stack"), team.server()
    https_port = free_port()
    set_env(server_app / ".env", HTTP_PORT=str(free_port()), HTTPS_PORT=str(https_port))
    server = Deployment(
        "update", server_app, server_stack, f"https://localhost:{https_port}", tmp_path / "ca.crt"
    )
    try:
        run("./install.sh", cwd=server_stack)
        server.up()
        server.json("/api/notes/", {"title": "Written before the update", "body": ""}, 201)
        assert all(tag.endswith(f":{MIDDLE}") for tag in running_images(server).values())

        release_working_tree(source)
        section = "Updating to a newer template version"
        for repo in (f"{SLUG}-stack", SLUG):
            developer, on_server = readme_blocks(team.dev(repo) / "README.md", section)
            Shell(team.dev(repo)).follow(developer)
            start = time.monotonic()
            Shell(team.server(repo), docker=True).follow(on_server)
            record_timing(f"[update] server: {repo} update commands", time.monotonic() - start)

        assert set(running_images(server).values()) == {
            f"{SLUG}-{service}:{TEMPLATE_VERSION}" for service in STACK_IMAGES
        }
        wait_for(lambda: health(server) is not None, "the updated site", 180)
        pins = (server_stack / "backend/requirements.txt").read_text()
        gunicorn = server.compose("exec", "-T", "backend", "gunicorn", "--version").stdout
        assert f"gunicorn=={gunicorn.split()[-1].strip(')')}" in pins
        server.compose("exec", "-T", "backend", "python", "-c", f"import {APP_REQUIREMENT[0]}")
        titles = [note["title"] for note in server.json("/api/notes/")]
        assert titles == ["Written before the update"]

        # Then app code, deployed the way both READMEs say: pull and restart, no rebuild.
        edit(team.dev() / "frontend/src/pages/Home.tsx", "<h1>Notes</h1>", "<h1>Shop notes</h1>")
        team.commit(team.dev(), "New heading")
        images = server.images()
        deploy_line = readme_blocks(team.dev() / "README.md", "Deploying")[-1]
        assert deploy_line == ["git pull && docker compose -f docker-compose.app.yml restart"]
        Shell(server_app, docker=True).follow(deploy_line)
        wait_for(lambda: b"Shop notes" in bundle(server), "the pulled frontend code", 180)
        assert server.images() == images
    finally:
        server.compose("down", "--volumes", "--timeout", "20", check=False)


def running_images(deployment: Deployment) -> dict[str, str]:
    """The image each running service was started from, for the stack's own images."""
    return {
        c["Service"]: c["Image"] for c in deployment.containers() if c["Service"] in STACK_IMAGES
    }
