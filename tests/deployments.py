"""Deployments under a real Docker engine, for the tests that need one: generate a pair,
link and build as the stack's README says, `up -d --wait`, then talk to it through Caddy
over HTTPS (verified against Caddy's own CA), with steady load and a headless Chromium.

Every deployment gets its own compose project (COMPOSE_PROJECT_NAME in the app's .env), so
its images, volumes and data folders are its own, and test runs in other checkouts on the
same engine never meet it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import shlex
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from helpers import (
    ENV,
    copier_copy,
    edit,
    ensure_standins,
    free_port,
    read_env,
    readme_blocks,
    record_timing,
    run,
    write_packages,
)
from playwright.sync_api import Error as BrowserError
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CADDY_ROOT_CA = "/data/caddy/pki/authorities/local/root.crt"
STACK_IMAGES = ("backend", "frontend", "caddy")  # the images the stack builds
# The capabilities a container keeps (compose drops all others): the entrypoints of
# PostgreSQL and Redis start as root to hand their data to their user, then become it;
# caddy-files hands Caddy's files to the backend's user.
CAPABILITIES = {
    "db": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
    "redis": ["CHOWN", "SETGID", "SETUID"],
    "caddy-files": ["CHOWN", "DAC_READ_SEARCH"],
}
# The app's own packages (its requirements-app.txt and package-app.json): the images must
# pick them up.
APP_REQUIREMENT = ("humanize", "4.17.0")
APP_NPM_PACKAGE = ("is-number", "7.0.0")
APP_NPM_NESTING = ("is-odd", "3.0.1")  # needs is-number ^6: npm nests that one under it
# The API needs a signed-in user: the tests sign in as this one (made in the backend container,
# its e-mail verified), with the session cookie and CSRF token, as the React app does.
USER = ("tester@example.com", "a tester's long passphrase")
ADD_USER = """
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
User = get_user_model()
email, password = {email!r}, {password!r}
user = User.objects.filter(email=email).first() or User.objects.create_user(
    **{{User.USERNAME_FIELD: email, "email": email}}, password=password
)
EmailAddress.objects.get_or_create(
    user=user, email=email, defaults={{"primary": True, "verified": True}}
)
"""
LOGIN = "/api/auth/browser/v1/auth/login"
# Many requests from one address and one account (the load tests): the API's rate limits of
# the deployments (in .env), far above what the load sends; sign-in's own stay as they are.
API_RATES = {"DJANGO_API_RATE_LIMIT": "100000/m/ip", "DJANGO_API_USER_RATE_LIMIT": "100000/m/user"}


@dataclass
class Deployment:
    name: str
    app: Path
    stack: Path
    url: str
    ca: Path
    tls: ssl.SSLContext | None = field(default=None, repr=False)
    # The session's cookies once signed in (sign_in), sent with every request.
    cookies: dict[str, str] | None = field(default=None, repr=False)

    @property
    def project(self) -> str:
        """The compose project: its images, volumes and data folders carry this name."""
        env = read_env(self.app / ".env")
        return env.get("COMPOSE_PROJECT_NAME") or self.stack.name.removesuffix("-stack")

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(
            "docker", "compose", "-f", "docker-compose.app.yml", *args, cwd=self.app, check=check
        )

    def images(self) -> dict[str, str]:
        """Image id of each of the stack's images."""
        version = run(self.stack / "install.sh", "--version").stdout.strip()
        return {
            service: run(
                "docker", "image", "inspect", "-f", "{{.Id}}", f"{self.project}-{service}:{version}"
            ).stdout.strip()
            for service in STACK_IMAGES
        }

    def up(self) -> None:
        """`up -d --wait`, then trust Caddy's local CA, copied out of its container."""
        self.compose("up", "-d", "--wait")
        self.trust_caddy()

    def trust_caddy(self) -> None:
        self.compose("cp", f"caddy:{CADDY_ROOT_CA}", str(self.ca))
        self.tls = ssl.create_default_context(cafile=self.ca)

    def containers(self) -> list[dict]:
        """`docker compose ps` of the running services."""
        return [
            json.loads(line) for line in self.compose("ps", "--format", "json").stdout.splitlines()
        ]

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        """A manage.py command in the backend's container."""
        return self.compose("exec", "-T", "backend", "python", "/opt/stack/manage.py", *args)

    def session_headers(self) -> dict[str, str]:
        """The headers of a signed-in browser: its cookies and, for writes, the CSRF token."""
        return browser_headers(self.cookies or {}, self.url)

    def fetch(
        self, path: str, body: dict | None = None, method: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = self.session_headers()
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
            method=method,
        )
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=30) as response:
                self._keep_cookies(response.headers)
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            self._keep_cookies(error.headers)
            return error.code, dict(error.headers), error.read()

    def _keep_cookies(self, headers) -> None:
        if self.cookies is not None:
            keep_cookies(self.cookies, headers)

    def sign_in(self, email: str = USER[0], password: str = USER[1]) -> None:
        """Sign in as the user (made first if need be), as the React app does: the session's
        CSRF cookie from /api/session/, then allauth's login."""
        self.manage("shell", "-c", ADD_USER.format(email=email, password=password))
        self.cookies = {}
        code, _, content = self.fetch("/api/session/")
        assert code == 200, f"/api/session/: {code} {content[:500]!r}"
        code, _, content = self.fetch(LOGIN, {"email": email, "password": password})
        assert code == 200, f"sign-in: {code} {content[:500]!r}"

    def json(self, path: str, body: dict | None = None, status: int = 200) -> dict | list:
        """The API's answer as JSON; the notes' and the tasks' API signed in (as USER unless
        signed in)."""
        if path.startswith(("/api/notes/", "/api/tasks/")) and self.cookies is None:
            self.sign_in()
        code, _, content = self.fetch(path, body)
        assert code == status, f"{path}: {code} {content[:500]!r}"
        return json.loads(content)

    def notes(self) -> list[dict]:
        """Every note of the signed-in user, all pages."""
        found, page = [], "/api/notes/"
        while page:
            answer = self.json(page)
            found += answer["results"]
            page = answer["next"] and answer["next"].removeprefix(self.url)
        return found

    def down(self) -> str:
        """`down --volumes`; returns the last log lines, to print when a test failed."""
        logs = self.compose("logs", "--no-color", "--tail", "60", check=False).stdout
        # --remove-orphans: development mode's own services (the mail catcher) too.
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", check=False)
        return logs


def browser_headers(cookies: dict[str, str], origin: str) -> dict[str, str]:
    """A browser's headers with these cookies: them and, for writes, the CSRF token."""
    if not cookies:
        return {}
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if "csrftoken" in cookies:
        headers |= {"X-CSRFToken": cookies["csrftoken"], "Origin": origin}
    return headers


def keep_cookies(cookies: dict[str, str], headers) -> None:
    """What a browser does with a response's Set-Cookie headers (a new session key, say)."""
    for cookie in headers.get_all("Set-Cookie") or []:
        name, _, value = cookie.split(";", 1)[0].partition("=")
        cookies[name.strip()] = value.strip()


def set_env(dotenv: Path, **values: str) -> None:
    """Set keys of a .env file: replaced where present, appended where not."""
    lines = dotenv.read_text().splitlines()
    for key, value in values.items():
        if any(line.startswith(f"{key}=") for line in lines):
            lines = [f"{key}={value}" if line.startswith(f"{key}=") else line for line in lines]
        else:
            lines.append(f"{key}={value}")
    dotenv.write_text("\n".join(lines) + "\n")


def add_app_packages(app: Path) -> None:
    with (app / "backend/requirements-app.txt").open("a") as file:
        file.write("{}=={}\n".format(*APP_REQUIREMENT))
    write_packages(app, dict([APP_NPM_PACKAGE, APP_NPM_NESTING]))
    stack = (app / "backend/manage.py").resolve().parent.parent  # manage.py links into it
    run(stack / "stack", "lock", "--app", app)  # pinned and hashed, as the app's README says
    run("git", "commit", "--quiet", "--all", "--message", "Add the app's own packages", cwd=app)


def commit_release(app: Path, heading: str) -> None:
    """A new release of the app's code, committed as `git pull` would bring it: the health
    answer says release 2, the home page's heading is `heading`."""
    edit(
        app / "backend/core/views.py",
        'body = {"status": "ok"}',
        'body = {"status": "ok", "release": "2"}',
    )
    edit(app / "frontend/src/pages/Home.tsx", "<h1>Notes</h1>", f"<h1>{heading}</h1>")
    run("git", "commit", "--quiet", "--all", "--message", "Second release", cwd=app)


def timed(name: str, *args, **kwargs) -> subprocess.CompletedProcess:
    start = time.monotonic()
    result = run(*args, **kwargs)
    record_timing(name, time.monotonic() - start)
    return result


def unique_project(slug: str) -> str:
    return f"{slug}-{uuid.uuid4().hex[:8]}"


def listen_on_free_ports(app: Path, project: str | None = None) -> str:
    """Give a linked app's .env free host ports (and a compose project of its own); returns
    the site's URL."""
    https_port = free_port()
    values = {
        "HTTP_PORT": str(free_port()),
        "HTTPS_PORT": str(https_port),
        "DJANGO_CSRF_TRUSTED_ORIGINS": f"https://localhost:{https_port}",
        **API_RATES,
    }
    if project:
        values["COMPOSE_PROJECT_NAME"] = project
    set_env(app / ".env", **values)
    return f"https://localhost:{https_port}"


def follow_on_the_server(stack: Path, app: Path, app_repo: Path, edit_env) -> None:
    """The stack README's "On the server", line by line as written, in one shell from the
    stack's checkout: `app` set to the app's checkout, `<app repo>` cloned from `app_repo`;
    edit_env(path) does what the person does at `$EDITOR "$app/.env"`."""
    (block,) = readme_blocks(stack / "README.md", "On the server")[:1]
    assert block[:2] == [f"app=/data/app/{app.name}", 'git clone <app repo> "$app"'], block
    edit = block.index('$EDITOR "$app/.env"')
    setting = f"app={shlex.quote(str(app))}"
    before = [
        setting,
        *(line.replace("<app repo>", shlex.quote(str(app_repo))) for line in block[1:edit]),
    ]
    run("bash", "-ec", "\n".join(before), cwd=stack, env=ENV)
    edit_env(app / ".env")
    run("bash", "-ec", "\n".join([setting, *block[edit + 1 :]]), cwd=stack, env=ENV)


@contextlib.contextmanager
def deployment_of(
    template: Path,
    base: Path,
    name: str,
    slug: str = "igny8",
    app_packages=True,
    env: dict[str, str] | None = None,
    **answers,
) -> Iterator[Deployment]:
    """A pair generated on a developer's machine (`base`/dev, answers `answers`), then on the
    server: the stack cloned and the app deployed as the stack's README says, in the seed's
    layout (`root`/stack/<stack>, `root`/app/<app>, DATA_ROOT `root`; `root` is `base`/data root,
    /data on a real server), `env` set in .env where the README edits it; up and healthy;
    taken down, volumes included, afterwards."""
    start = time.monotonic()
    standins = ensure_standins()
    record_timing("stand-in images (ensure)", time.monotonic() - start)
    root = Path(answers.setdefault("data_root", base / "data root"))
    dev_app, dev_stack = base / "dev/app" / slug, base / "dev/stack" / f"{slug}-stack"
    copier_copy(
        template, dev_app, repo="app", stack_path=f"../../stack/{slug}-stack", **standins, **answers
    )
    if app_packages:
        add_app_packages(dev_app)

    app, stack = root / "app" / slug, root / "stack" / f"{slug}-stack"
    run("git", "clone", "--quiet", dev_stack, stack)
    url = ""

    def edit_env(dotenv: Path) -> None:
        nonlocal url
        url = listen_on_free_ports(dotenv.parent, unique_project(slug))
        set_env(dotenv, **(env or {}))

    start = time.monotonic()
    follow_on_the_server(stack, app, dev_app, edit_env)
    record_timing(
        f"[{name}] the stack README's server steps (image builds, up -d)", time.monotonic() - start
    )

    deployment = Deployment(name, app, stack, url, base / "caddy root.crt")
    try:
        start = time.monotonic()
        deployment.up()
        record_timing(f"[{name}] up -d --wait to healthy", time.monotonic() - start)
        yield deployment
    finally:
        logs = deployment.down()
        print(f"--- last logs of {name}\n{logs}")


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


# ---- Steady load ---------------------------------------------------------------------------


@dataclass
class Outcome:
    at: float  # monotonic seconds when sent
    method: str
    path: str
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    seconds: float
    error: str = ""


def is_failure(outcome: Outcome) -> bool:
    """No answer, a 5xx, or the signed-in load refused (401, 403: the session was lost; 429:
    over a rate limit)."""
    return outcome.status in (0, 401, 403, 429) or outcome.status >= 500


class Load:
    """Clients requesting `paths` in turn every `interval` seconds, each on a new HTTPS
    connection (as a new visitor would), plus a POST to `post_path` every `post_every`
    requests; records every outcome. Use as a context manager around what is measured."""

    def __init__(
        self,
        deployment: Deployment,
        paths=("/", "/api/health/", "/api/notes/"),
        post_path: str | None = "/api/notes/",
        post_every: int = 25,
        interval: float = 0.02,
        clients: int = 1,
    ) -> None:
        self.deployment, self.paths, self.interval = deployment, paths, interval
        self.post_path, self.post_every, self.clients = post_path, post_every, clients
        host, _, port = deployment.url.removeprefix("https://").partition(":")
        self.host, self.port = host, int(port or 443)
        self.outcomes: list[Outcome] = []
        # The API answers a signed-in user only: each client a browser with a session of its
        # own, which keeps the cookies it is sent (Django gives a session a new key when a
        # fallback secret key verified it).
        self.cookies, own = [], deployment.cookies
        try:
            for _ in range(clients):
                deployment.sign_in()
                self.cookies.append(dict(deployment.cookies))
        finally:  # the deployment's own session, whatever happened
            deployment.cookies = own
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _request(self, client: int, method: str, path: str, body: bytes | None) -> Outcome:
        start = time.monotonic()
        connection = http.client.HTTPSConnection(
            self.host, self.port, context=self.deployment.tls, timeout=30
        )
        try:
            headers = browser_headers(self.cookies[client], self.deployment.url)
            if body:
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            keep_cookies(self.cookies[client], response.headers)
            return Outcome(start, method, path, response.status, time.monotonic() - start)
        except (OSError, http.client.HTTPException) as error:
            seconds = time.monotonic() - start
            return Outcome(start, method, path, 0, seconds, f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    def _client(self, number: int) -> None:
        count = 0
        while not self._stop.is_set():
            count += 1
            if self.post_path and count % self.post_every == 0:
                body = json.dumps({"title": f"load {number}.{count}", "body": ""}).encode()
                outcome = self._request(number, "POST", self.post_path, body)
            else:
                outcome = self._request(number, "GET", self.paths[count % len(self.paths)], None)
            with self._lock:
                self.outcomes.append(outcome)
            self._stop.wait(self.interval)

    def __enter__(self) -> Load:
        for number in range(self.clients):
            thread = threading.Thread(target=self._client, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def since(self, start: float) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if o.at >= start]

    @property
    def failures(self) -> list[Outcome]:
        """Requests that failed (see is_failure())."""
        with self._lock:
            return [o for o in self.outcomes if is_failure(o)]

    def percentile(self, share: float, outcomes: list[Outcome] | None = None) -> float:
        times = sorted(o.seconds for o in (self.outcomes if outcomes is None else outcomes))
        return times[min(len(times) - 1, int(share * len(times)))] if times else 0.0

    def summary(self) -> str:
        failed = self.failures
        lines = [
            f"{len(self.outcomes)} requests, {len(failed)} failed, "
            f"p50 {self.percentile(0.5) * 1000:.0f} ms, p99 {self.percentile(0.99) * 1000:.0f} ms"
        ]
        lines += [f"  {o.method} {o.path}: {o.status} {o.error}" for o in failed[:20]]
        return "\n".join(lines)


# ---- Headless Chromium ---------------------------------------------------------------------


def privileges(container: str) -> dict:
    """What a container may do: its security settings as docker inspect shows them
    (capabilities without the CAP_ prefix) and, while it runs, its main process's user,
    capabilities and no_new_privs flag, read from /proc on this host."""
    details = json.loads(run("docker", "inspect", container).stdout)[0]
    host = details["HostConfig"]
    found = {
        "CapDrop": host["CapDrop"],
        "CapAdd": sorted(name.removeprefix("CAP_") for name in host["CapAdd"] or []),
        "SecurityOpt": host["SecurityOpt"],
        "ReadonlyRootfs": host["ReadonlyRootfs"],
        "PidsLimit": host["PidsLimit"],
        "Sysctls": host.get("Sysctls"),
        "User": details["Config"]["User"],
    }
    if details["State"]["Running"]:
        status = Path(f"/proc/{details['State']['Pid']}/status").read_text().splitlines()
        fields = dict(line.split(":", 1) for line in status)
        found |= {
            "uid": int(fields["Uid"].split()[0]),
            "CapEff": fields["CapEff"].strip(),
            "CapPrm": fields["CapPrm"].strip(),
            "NoNewPrivs": int(fields["NoNewPrivs"]),
        }
    return found


def trusting_home(ca: Path, home: Path) -> Path:
    """A HOME whose NSS database trusts Caddy's local CA, so Chromium verifies the site."""
    nssdb = home / ".pki/nssdb"
    nssdb.mkdir(parents=True)
    run("certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password")
    run("certutil", "-d", f"sql:{nssdb}", "-A", "-n", "caddy local CA", "-t", "C,,", "-i", ca)
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


def page_text(
    url: str,
    home: Path,
    wait_for_text: str,
    screenshot: Path | None = None,
    cookies: dict[str, str] | None = None,
) -> str:
    """The page's text once `wait_for_text` shows. Loaded again (three tries) only when a
    request of the page failed with ERR_NETWORK_CHANGED (Chromium's answer when other
    containers add or remove interfaces), or when the navigation itself ended on Chromium's
    error page with no request failed (seen once, while other containers started beside the
    site; the load tests count the site's failed requests, not this); any other failure is
    raised with a note of what the page logged and which requests failed. `cookies`: a
    session's, to see the page signed in."""
    with browser_page(home) as page:
        if cookies:  # a signed-in session's (Deployment.cookies)
            page.context.add_cookies(
                [{"name": k, "value": v, "url": url} for k, v in cookies.items()]
            )
        failed: list[str] = []
        logged: list[str] = []
        page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
        page.on("console", lambda m: logged.append(f"{m.type}: {m.text}"))
        for attempt in range(3):
            failed.clear()
            try:
                page.goto(url)
                page.get_by_text(wait_for_text).first.wait_for(timeout=30_000)
                break
            except BrowserError as error:
                network_changed = any("ERR_NETWORK_CHANGED" in f for f in failed) or (
                    not failed and "chrome-error://" in str(error)
                )
                if not network_changed or attempt == 2:
                    error.add_note(f"failed requests: {failed}\nconsole: {logged}")
                    raise
                print(f"{url}: loading again after failed requests: {failed}")
        if screenshot:
            page.screenshot(path=screenshot)
        return page.inner_text("body")
