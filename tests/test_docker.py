"""The generated stack, run for real under a Docker engine, as a user deploys it.

In a folder whose path has a space: bootstrap the app (which generates the stack), link it
with the stack's install.sh, build the images with install.sh, `docker compose up -d --wait`,
then check it through Caddy over HTTPS, verified against Caddy's own CA (trusted explicitly),
with a headless Chromium for the page. Base images are the local stand-ins (ensure_standins);
the generated repos only see them as base-image answers.
"""

from __future__ import annotations

import json
import re
import shlex
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pexpect
import pytest
from deployments import (
    APP_NPM_NESTING,
    APP_NPM_PACKAGE,
    APP_REQUIREMENT,
    CAPABILITIES,
    STACK_IMAGES,
    Deployment,
    browser_page,
    bundle,
    commit_release,
    deployment_of,
    health,
    listen_on_free_ports,
    page_text,
    privileges,
    timed,
    trusting_home,
    unique_project,
)
from helpers import (
    ENV,
    MIDDLE,
    SLUG,
    TEMPLATE_VERSION,
    Shell,
    bootstrap,
    deploy,
    edit,
    ensure_standins,
    read_env,
    readme_blocks,
    record_timing,
    release_working_tree,
    run,
    wait_for,
)
from playwright.sync_api import Error as BrowserError

pytestmark = [pytest.mark.docker, pytest.mark.slow]

VARIANTS = {
    "default": {},
    "celery": {"project_name": "Celery Shop", "use_celery": True},
}


def plain(text: str) -> str:
    """Terminal output without its colour and line-control escapes."""
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


@pytest.fixture(scope="module", params=list(VARIANTS), ids=list(VARIANTS))
def deployment(request, template, tmp_path_factory):
    name = request.param
    slug = "igny8" if name == "default" else "celery-shop"
    base = tmp_path_factory.mktemp("docker") / "docker e2e"
    with deployment_of(template, base, name, slug, **VARIANTS[name]) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def browser_home(deployment, tmp_path_factory) -> Path:
    return trusting_home(deployment.ca, tmp_path_factory.mktemp("browser home"))


def test_browser_shows_data_from_the_api(deployment, browser_home, tmp_path):
    title = f"Written through the API ({deployment.name})"
    deployment.json(
        "/api/notes/", {"title": title, "body": "browser → Caddy → gunicorn → PostgreSQL"}, 201
    )
    # Signed in as the user who wrote it (the session of deployment.json), on the notes page.
    notes = deployment.url + "/notes"
    text = page_text(notes, browser_home, title, tmp_path / "notes.png", deployment.cookies)
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


def test_health_names_its_replica_inside_docker_only(deployment):
    status, headers, _ = deployment.fetch("/api/health/")
    assert status == 200 and "X-Replica" not in headers
    inside = (
        "import urllib.request as u;"
        "print(u.urlopen('http://127.0.0.1:8000/api/health/').headers['X-Replica'])"
    )
    replica = deployment.compose("exec", "-T", "backend", "python", "-c", inside).stdout.strip()
    assert replica == deployment.compose("exec", "-T", "backend", "hostname").stdout.strip()


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
    assert headers["Content-Security-Policy"].startswith("default-src 'self';")
    assert "Strict-Transport-Security" not in headers  # localhost: Caddy withholds it
    assets = re.findall(r'(/assets/[^"]+\.(?:js|css))"', page.decode())
    assert assets
    for asset in assets:
        status, headers, _ = deployment.fetch(asset)
        assert status == 200
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_containers_run_as_non_root_and_only_caddy_publishes_ports(deployment):
    services = ["caddy", "backend", "frontend"]
    services += ["worker", "beat"] if deployment.name == "celery" else []
    for service in services:
        uid = deployment.compose("exec", "-T", service, "id", "-u").stdout.strip()
        assert uid != "0", service
    published = {
        container["Service"]: [p for p in container["Publishers"] or [] if p["PublishedPort"]]
        for container in deployment.containers()
    }
    assert {service for service, ports in published.items() if ports} == {"caddy"}


def test_every_container_runs_with_least_privilege(deployment):
    """docker inspect of every container: capabilities dropped but the few its entrypoint
    needs, no-new-privileges, a read-only root file system (but the frontend's, where tsc and
    Vite write), a cap on processes; each running
    service's main process as a user other than root, without any capability."""
    seen = set()
    for container in deployment.compose("ps", "--all", "--quiet").stdout.split():
        service = run(
            "docker", "inspect", "-f", '{{index .Config.Labels "com.docker.compose.service"}}',
            container,
        ).stdout.strip()  # fmt: skip
        seen.add(service)
        found = privileges(container)
        print(service, json.dumps(found))
        assert found["CapDrop"] == ["ALL"], service
        assert found["CapAdd"] == CAPABILITIES.get(service, []), service
        assert found["SecurityOpt"] == ["no-new-privileges:true"], service
        assert found["ReadonlyRootfs"] is (service != "frontend"), service
        assert 0 < found["PidsLimit"] <= 512, service
        if service not in ("migrate", "caddy-files"):  # the one-shots, done by now
            assert found["uid"] != 0, service
            assert int(found["CapEff"], 16) == int(found["CapPrm"], 16) == 0, service
            assert found["NoNewPrivs"] == 1, service
    assert {"caddy", "caddy-files", "backend", "frontend", "db", "migrate"} <= seen
    caddy = privileges(deployment.compose("ps", "--quiet", "caddy").stdout.strip())
    assert caddy["User"] == "10001:10001"
    assert caddy["Sysctls"] == {"net.ipv4.ip_unprivileged_port_start": "0"}


def test_on_a_read_only_root_gunicorn_and_caddy_start_without_errors(deployment):
    """gunicorn keeps its control socket in /tmp (gunicornc reaches it), Caddy does not try to
    install its local CA into the container's trust store: no error about either at start."""
    workers = deployment.compose(
        "exec", "-T", "backend", "gunicornc", "-s", "/tmp/gunicorn.ctl", "-c", "show workers"
    ).stdout
    assert "Total:" in workers, workers
    log = deployment.compose("logs", "--no-color", "backend", "caddy").stdout
    assert "Control socket listening at /tmp/gunicorn.ctl" in log
    assert "Control server error" not in log and "Failed to start control socket" not in log
    assert "failed to install root certificate" not in log


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
    # Every package of the app's npm lock, nested ones included, at its locked version.
    lock = json.loads((deployment.app / "frontend/package-app.lock.json").read_text())
    locked = {path: entry["version"] for path, entry in lock["packages"].items()}
    assert f"node_modules/{APP_NPM_NESTING[0]}/node_modules/{name}" in locked
    script = (
        "for (const path of process.argv.slice(1)) "
        "console.log(path, require(`/opt/frontend/${path}/package.json`).version)"
    )
    found = deployment.compose("exec", "-T", "frontend", "node", "-e", script, *locked)
    assert dict(line.split() for line in found.stdout.splitlines()) == locked


def test_app_make_test_runs_the_backend_tests_in_the_container(deployment):
    """The app README's `make migrate` and `make test` (npm ci in frontend/ first): the
    backend's tests with their coverage (its data in the container's /tmp: /app is read-only)."""
    migrate = run("make", "migrate", cwd=deployment.app)
    assert "No migrations to apply." in migrate.stdout
    run("npm", "ci", "--no-audit", "--no-fund", cwd=deployment.app / "frontend")
    result = run("make", "test", cwd=deployment.app)
    output = plain(result.stdout)
    backend, frontend = output.split("vitest run", 1)
    assert re.search(r"\d+ passed", backend), output
    assert "Required test coverage of 90.0% reached" in backend, output
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
        ("Email address", "admin@example.com"),  # users.User: the e-mail is the login
        ("Password:", password),
        ("Password \\(again\\):", password),
    ):
        terminal.expect(prompt)
        terminal.sendline(answer)
    terminal.expect("Superuser created successfully.")
    terminal.expect(pexpect.EOF)

    with browser_page(browser_home) as page:
        page.goto(deployment.url + "/admin/login/")
        page.fill("#id_username", "admin@example.com")
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


def test_the_app_readmes_first_local_commands_run_as_written(deployment):
    """The app README's "Local development" start, from the app's checkout: link, build (the
    images there already: nothing changes), up."""
    images = deployment.images()
    commands = readme_blocks(deployment.app / "README.md", "Local development")[0]
    assert commands[-1] == "make up" and len(commands) == 3
    start = time.monotonic()
    for line in commands:
        run("bash", "-ec", line, cwd=deployment.app, env=ENV)
    record_timing(
        f"[{deployment.name}] the app README's first local commands", time.monotonic() - start
    )
    assert deployment.images() == images
    assert health(deployment) is not None


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


def origin(checkout: Path) -> Path:
    """The developer's checkout a server's checkout was cloned from."""
    return Path(run("git", "remote", "get-url", "origin", cwd=checkout).stdout.strip())


def test_deploy_without_rebuild(deployment, browser_home):
    images = deployment.images()
    commit_release(origin(deployment.app), "Notes, deployed again")
    (line,) = readme_blocks(deployment.stack / "README.md", "On the server")[-1]
    assert readme_blocks(deployment.app / "README.md", "Deploying")[-1] == [line]

    start = time.monotonic()
    run("bash", "-ec", line, cwd=deployment.app, env=ENV)  # git pull && make deploy
    wait_for(lambda: (health(deployment) or {}).get("release") == "2", "the new API answer", 180)
    wait_for(lambda: b"Notes, deployed again" in bundle(deployment), "the new frontend build", 180)
    text = page_text(deployment.url + "/", browser_home, "Notes, deployed again")
    record_timing(f"[{deployment.name}] make deploy to new content", time.monotonic() - start)
    assert "Notes, deployed again" in text
    assert deployment.images() == images, "an image was rebuilt"


def test_data_survives_down_and_up(deployment):
    title = f"Kept across down/up ({deployment.name})"
    deployment.json("/api/notes/", {"title": title, "body": ""}, 201)
    run("make", "down", cwd=deployment.app)  # the app README's commands; no --volumes
    assert not deployment.compose("ps", "--quiet").stdout.strip()
    run("make", "up", cwd=deployment.app)
    deployment.compose("up", "-d", "--wait")  # only waits: everything is up already
    assert title in [note["title"] for note in deployment.notes()]


def test_env_file_is_private(deployment):
    assert (deployment.app / ".env").stat().st_mode & 0o777 == 0o600
    assert read_env(deployment.app / ".env")["DATA_ROOT"].endswith("data root")


# A server's own update script (the project's seed), for a server laid out as /data/stack/<stack>
# and /data/app/<app>; run in the stack's checkout.
SEED_STACK_UPDATE = (
    "git pull; ./scripts/build-images.sh; "
    "docker compose -f /data/app/igny8/docker-compose.app.yml up -d"
)


def test_the_seeds_stack_update_runs_as_written(deployment):
    """A stack change pulled, its images built and the app brought up with the new ones, by
    the three commands as the seed writes them (only the app's path is this test's)."""
    dev_stack = origin(deployment.stack)
    dockerfile = "single.caddy swarm.caddy /etc/caddy/\n"
    edit(dev_stack / "caddy/Dockerfile", dockerfile, f"{dockerfile}LABEL stack.update=pulled\n")
    run("git", "commit", "-qam", "Caddy image label", cwd=dev_stack, env=ENV)
    compose_file = shlex.quote(str(deployment.app / "docker-compose.app.yml"))
    script = SEED_STACK_UPDATE.replace("/data/app/igny8/docker-compose.app.yml", compose_file)

    start = time.monotonic()
    result = run("bash", "-c", script, cwd=deployment.stack, env=ENV)
    record_timing(f"[{deployment.name}] the seed's stack update", time.monotonic() - start)
    assert "No such file" not in result.stderr, result.stderr
    new_caddy = deployment.images()["caddy"]
    (caddy,) = [c for c in deployment.containers() if c["Service"] == "caddy"]
    running = run("docker", "inspect", "-f", "{{.Image}}", caddy["ID"]).stdout.strip()
    assert running == new_caddy
    label = '{{index .Config.Labels "stack.update"}}'
    assert run("docker", "image", "inspect", "-f", label, new_caddy).stdout.strip() == "pulled"
    deployment.compose("up", "-d", "--wait")  # only waits for the new caddy
    assert health(deployment) is not None


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
    url = listen_on_free_ports(server_app, unique_project(SLUG))
    server = Deployment("update", server_app, server_stack, url, tmp_path / "ca.crt")
    try:
        run("./install.sh", cwd=server_stack)
        server.up()
        server.json("/api/notes/", {"title": "Written before the update", "body": ""}, 201)
        assert all(tag.endswith(f":{MIDDLE}") for tag in running_images(server).values())
        ca = server.ca.read_bytes()  # Caddy's local CA, made by a Caddy that ran as root

        release_working_tree(source)
        section = "Updating to a newer template version"
        for repo in (f"{SLUG}-stack", SLUG):
            developer, on_server = readme_blocks(team.dev(repo) / "README.md", section)
            Shell(team.dev(repo)).follow(developer)
            start = time.monotonic()
            Shell(team.server(repo), docker=True, env=team.server_env).follow(on_server)
            record_timing(f"[update] server: {repo} update commands", time.monotonic() - start)

        assert set(running_images(server).values()) == {
            f"{server.project}-{service}:{TEMPLATE_VERSION}" for service in STACK_IMAGES
        }
        wait_for(lambda: health(server) is not None, "the updated site", 180)
        # Caddy, now the backend's user, kept its certificates and writes its access log.
        server.trust_caddy()
        assert server.ca.read_bytes() == ca
        logs = Path(read_env(server_app / ".env")["DATA_ROOT"]) / server.project / "logs"
        assert {p.stat().st_uid for p in logs.glob("caddy-access.log*")} == {10001}
        pins = (server_stack / "backend/requirements.txt").read_text()
        gunicorn = server.compose("exec", "-T", "backend", "gunicorn", "--version").stdout
        assert f"gunicorn=={gunicorn.split()[-1].strip(')')}" in pins
        server.compose("exec", "-T", "backend", "python", "-c", f"import {APP_REQUIREMENT[0]}")
        titles = [note["title"] for note in server.notes()]
        assert titles == ["Written before the update"]

        # Then app code, deployed the way both READMEs say: pull and make deploy, no rebuild.
        edit(team.dev() / "frontend/src/pages/Home.tsx", "<h1>Notes</h1>", "<h1>Shop notes</h1>")
        team.commit(team.dev(), "New heading")
        images = server.images()
        deploy_line = readme_blocks(team.dev() / "README.md", "Deploying")[-1]
        assert deploy_line == ["git pull && make deploy"]
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
