"""Running it for years, under steady load: a deploy fails no request, a backend restart fails
no request, migrations run once per deploy, each service comes back by itself from a crash
(its main process SIGKILLed from the host), every service has a memory limit and capped logs,
and a .env whose database password does not match the volume is explained.

One deployment (the default variant) for the module; the tests run in file order, the deploy
first, the crashes last.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from deployments import (
    STACK_IMAGES,
    Deployment,
    Load,
    bundle,
    commit_release,
    deployment_of,
    health,
    is_failure,
    listen_on_free_ports,
    set_env,
    unique_project,
)
from helpers import edit, read_env, readme_blocks, record_timing, run, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SERVICES = ("caddy", "backend", "frontend", "db")


@pytest.fixture(scope="module")
def deployment(template, tmp_path_factory):
    base = tmp_path_factory.mktemp("operations") / "ops e2e"
    with deployment_of(template, base, "operations", app_packages=False) as deployment:
        set_env(deployment.app / ".env", RELEASE_KEEP="3")  # read by each deploy's containers
        yield deployment


def inspect(container: str) -> dict:
    return json.loads(run("docker", "inspect", container).stdout)[0]


def container_of(deployment, service: str) -> str:
    return deployment.compose("ps", "--all", "--quiet", service).stdout.strip()


def report(name: str, load: Load, outcomes) -> str:
    failed = [o for o in outcomes if is_failure(o)]
    posts = [o for o in outcomes if o.method == "POST"]
    p99 = load.percentile(0.99, outcomes)
    line = (
        f"[{name}] {len(outcomes)} requests ({len(posts)} POST), {len(failed)} failed "
        f"({sum(o.method == 'POST' for o in failed)} POST), p99 {p99 * 1000:.0f} ms"
    )
    print(line)
    for o in failed[:20]:
        print(f"  {o.method} {o.path}: {o.status} {o.error}")
    return line


def served(deployment, path="/") -> bool:
    try:
        return deployment.fetch(path)[0] == 200
    except OSError:
        return False


def test_deploy_under_load_fails_no_request(deployment):
    """The app README's deploy (`git pull` brought the code, then `make deploy`)."""
    commit_release(deployment.app, "Notes, deployed without a failed request")
    images = deployment.images()

    with Load(deployment) as load:
        time.sleep(2)
        start = time.monotonic()
        result = run("make", "deploy", cwd=deployment.app)
        wait_for(lambda: (health(deployment) or {}).get("release") == "2", "the new API", 60)
        wait_for(lambda: b"without a failed request" in bundle(deployment), "the new bundle", 60)
        seconds = time.monotonic() - start
        during = load.since(start)
        time.sleep(2)

    print(result.stdout)
    assert re.search(r"^Deployed .* in [0-9.]+s$", result.stdout, re.M), result.stdout
    # Each step says how long it took; the new frontend was built.
    for step in ("Release made in", r"Frontend bundle \w+ built in", "Backend reloaded in"):
        assert re.search(rf"^{step} [0-9.]+s", result.stdout, re.M), (step, result.stdout)
    record_timing("[operations] make deploy to new code and bundle", seconds)
    record_timing("[operations] p99 latency during deploy", load.percentile(0.99, during))
    report("deploy", load, during)
    assert len(during) > 50
    assert not [o for o in load.outcomes if is_failure(o)], load.summary()
    assert deployment.images() == images, "a deploy rebuilds no image"
    # Neither Caddy nor the database was restarted.
    for service in ("caddy", "db"):
        assert inspect(container_of(deployment, service))["RestartCount"] == 0


def test_a_deploy_whose_frontend_does_not_build_says_so_and_the_old_release_serves(deployment):
    home = deployment.app / "frontend/src/pages/Home.tsx"
    good = home.read_text()
    edit(home, "<h1>", "<h1>{notDefinedAnywhere}")
    result = run("make", "deploy", cwd=deployment.app, check=False)
    assert result.returncode != 0
    assert "error: the frontend build failed; the site still serves the previous release" in (
        result.stderr
    ), result.stderr
    assert "notDefinedAnywhere" in result.stderr  # the compiler's message
    assert b"without a failed request" in bundle(deployment)
    # The release made beside the failed build was taken back: gone, the one before serves.
    assert re.search(r"release \S+ withdrawn: release \S+ serves again", result.stdout)
    run("git", "commit", "-qam", "A frontend that does not build", cwd=deployment.app)
    survives_crash_and_restart(deployment, "a frontend that does not build", "2")
    assert b"without a failed request" in bundle(deployment)
    run("git", "reset", "--quiet", "--hard", "HEAD~1", cwd=deployment.app)

    home.write_text(good)  # fixed: the next deploy serves it
    run("make", "deploy", cwd=deployment.app)
    assert b"without a failed request" in bundle(deployment)
    assert inspect(container_of(deployment, "frontend"))["State"]["Running"]


# ---- Releases: what serves is a copy of code that could serve -------------------------------


def serving(deployment) -> str | None:
    """The release of the backend's code that answers (its health's "release")."""
    answer = health(deployment)
    return None if answer is None else answer.get("release", "1")


def commit_code(app: Path, release: str, message: str, edits=()) -> None:
    """New backend code, committed as `git pull` brings it: health says `release`."""
    views = app / "backend/core/views.py"
    views.write_text(
        re.sub(
            r'body = \{"status": "ok".*\}',
            f'body = {{"status": "ok", "release": "{release}"}}',
            views.read_text(),
        )
    )
    for path, old, new in edits:
        edit(app / path, old, new)
    run("git", "add", "--all", cwd=app)
    run("git", "commit", "--quiet", "--message", message, cwd=app)


def measured(deployment, name: str, action, release: str, timeout: float = 180) -> int:
    """Run `action` under load until release `release` serves the API and the home page;
    record the seconds and the failed requests; return how many failed."""
    with Load(deployment) as load:
        time.sleep(1)
        start = time.monotonic()
        action()
        wait_for(
            lambda: serving(deployment) == release and served(deployment),
            f"{name}: release {release}",
            timeout,
        )
        seconds = time.monotonic() - start
        time.sleep(1)
        during = load.since(start)
    report(name, load, during)
    failed = len([o for o in during if is_failure(o)])
    record_timing(f"[releases] {name}", seconds)
    record_timing(f"[releases] {name}: failed requests", failed, " req")
    return failed


def kill_backend(deployment) -> None:
    """A crash: SIGKILL of the backend's main process (the restart policy applies)."""
    container = container_of(deployment, "backend")
    pid = inspect(container)["State"]["Pid"]
    run("kill", "-9", str(pid))

    def restarted() -> bool:
        state = inspect(container)["State"]
        return state["Running"] and state["Pid"] != pid

    wait_for(restarted, "the engine to restart the backend", 60)


def survives_crash_and_restart(deployment, name: str, release: str) -> None:
    """After a failed deploy: a crash of the backend, then `docker compose restart` (the
    seed's), each bring back release `release`."""
    measured(deployment, f"{name}, then SIGKILL backend", lambda: kill_backend(deployment), release)
    restart = lambda: run("docker", "compose", "restart", cwd=deployment.app)  # noqa: E731
    measured(deployment, f"{name}, then compose restart", restart, release)


def test_a_deploy_of_code_that_does_not_import_changes_nothing_that_serves(deployment):
    good = run("git", "rev-parse", "HEAD", cwd=deployment.app).stdout.strip()
    commit_code(
        deployment.app,
        "3",
        "Code that does not import",
        [
            (
                "backend/core/views.py",
                "import logging\n",
                "import logging\nimport not_a_module_anywhere\n",
            )
        ],
    )
    result = None

    def deploy():
        nonlocal result
        result = run("make", "deploy", cwd=deployment.app, check=False)

    assert measured(deployment, "deploy of code that does not import", deploy, "2") == 0
    assert result.returncode != 0
    assert "the new code cannot serve" in result.stdout + result.stderr, result.stdout
    assert "not_a_module_anywhere" in result.stdout + result.stderr
    survives_crash_and_restart(deployment, "code that does not import", "2")
    logs = deployment.compose("logs", "--no-color", "backend").stdout
    assert "the checkout's new code cannot serve" in logs, logs[-3000:]
    run("git", "reset", "--quiet", "--hard", good, cwd=deployment.app)


def migration(app: Path, name: str, after: str, sql: str) -> str:
    """A migration of the notes app that runs `sql`; returns its name."""
    text = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f'    dependencies = [("notes", "{after}")]\n'
        f'    operations = [migrations.RunSQL("{sql}", migrations.RunSQL.noop)]\n'
    )
    (app / f"backend/notes/migrations/{name}.py").write_text(text)
    return name


def last_migration(app: Path) -> str:
    """The notes app's latest migration: the one a new migration comes after."""
    return sorted((app / "backend/notes/migrations").glob("0*.py"))[-1].stem


def test_a_deploy_whose_migration_fails_keeps_the_old_code_and_says_what_was_applied(deployment):
    app = deployment.app
    marker = "CREATE TABLE notes_deploy_marker (id integer)"
    migration(app, "0090_marker", last_migration(app), marker)
    migration(app, "0091_step", "0090_marker", "SELECT 1 / 0")
    commit_code(app, "3", "A migration that fails")
    result = None

    def deploy():
        nonlocal result
        result = run("make", "deploy", cwd=app, check=False)

    assert measured(deployment, "deploy of a failing migration", deploy, "2") == 0
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "division by zero" in said, said
    assert (
        "Applied before it, and not reversed: notes.0090_marker; not applied: notes.0091_step"
        in said
    ), said
    survives_crash_and_restart(deployment, "a failing migration", "2")

    # Fixed: the next deploy applies what is left, under load.
    migration(app, "0091_step", "0090_marker", "SELECT 1")
    commit_code(app, "3", "The migration fixed")
    start = time.monotonic()
    deploy_seconds = {}

    def fixed():
        deploy_seconds["said"] = run("make", "deploy", cwd=app).stdout
        deploy_seconds["make deploy"] = time.monotonic() - start

    assert measured(deployment, "the fixed deploy", fixed, "3") == 0
    # Backend code only: the bundle that serves is the one its sources make, not built again.
    said = deploy_seconds["said"]
    assert re.search(r"^Frontend bundle \w+ unchanged, not built again in [0-9.]+s$", said, re.M)
    assert re.search(r"^Release made in [0-9.]+s\.", said, re.M), said
    record_timing(
        "[releases] make deploy, the command (the fixed one)", deploy_seconds["make deploy"]
    )


def bundles_kept(deployment) -> int:
    """How many times the frontend kept its bundle beside a release the backend kept."""
    logs = deployment.compose("logs", "--no-color", "frontend").stdout
    return logs.count("not the checkout's code: bundle")


def keeps_its_bundle(deployment, action) -> None:
    """`action` starts the backend, which keeps its release: the frontend keeps its bundle."""
    page, kept = bundle(deployment), bundles_kept(deployment)
    action()
    wait_for(lambda: bundles_kept(deployment) > kept, "the frontend to keep its bundle", 180)
    assert bundle(deployment) == page


def test_the_seeds_restart_serves_new_code_only_when_it_needs_no_migration(deployment):
    """`git pull && docker compose restart`: code with a new migration waits for make
    deploy (the backend's log says so), its bundle with it; code without one serves at once."""
    app = deployment.app
    migration(app, "0092_pending", "0091_step", "SELECT 1")
    heading = f"Waited for its migration {time.time_ns()}"
    commit_code(
        app,
        "4",
        "A new migration, pulled",
        [("frontend/src/pages/Home.tsx", "<h1>", f"<h1>{heading}")],
    )
    restart = lambda: run("docker", "compose", "restart", cwd=app)  # noqa: E731
    keeps_its_bundle(
        deployment,
        lambda: measured(deployment, "git pull of a migration, then compose restart", restart, "3"),
    )
    logs = deployment.compose("logs", "--no-color", "backend").stdout
    assert "needs migrations (notes.0092_pending)" in logs, logs[-3000:]
    assert "keeps serving until `make deploy` applies them" in logs
    keeps_its_bundle(
        deployment,
        lambda: measured(
            deployment,
            "a pending migration, then SIGKILL backend",
            lambda: kill_backend(deployment),
            "3",
        ),
    )
    deploy = lambda: run("make", "deploy", cwd=app)  # noqa: E731
    assert measured(deployment, "make deploy of the pulled migration", deploy, "4") == 0
    assert heading.encode() in bundle(deployment)

    heading = f"Served after a restart {time.time_ns()}"
    commit_code(app, "5", "Code only", [("frontend/src/pages/Home.tsx", "<h1>", f"<h1>{heading}")])
    measured(deployment, "git pull of code only, then compose restart", restart, "5")
    wait_for(lambda: heading.encode() in bundle(deployment), "the new bundle", 180)


def test_make_rollback_serves_the_release_before_code_and_bundle(deployment):
    """From release 5 (served by the seed's restart) back to release 4, under load; a crash
    afterwards keeps the release rolled back to."""
    before = bundle(deployment)
    result = None
    start = time.monotonic()
    seconds = {}

    (command,) = readme_blocks(deployment.app / "README.md", "Rolling back")[0]
    assert command == "make rollback"

    def rollback():
        nonlocal result
        result = run(*command.split(), cwd=deployment.app)
        seconds["make rollback"] = time.monotonic() - start

    assert measured(deployment, "make rollback", rollback, "4") == 0
    record_timing("[releases] make rollback, the command", seconds["make rollback"])
    print(result.stdout)
    assert "Migrations are not reversed" in result.stdout
    assert bundle(deployment) != before and b"Served after a restart" not in bundle(deployment)
    assert b"Waited for its migration" in bundle(deployment)  # release 4's, made by its deploy
    measured(deployment, "after a rollback, SIGKILL backend", lambda: kill_backend(deployment), "4")

    store = Path(read_env(deployment.app / ".env")["DATA_ROOT"]) / deployment.project / "releases"
    kept = sorted(
        p.name for p in store.iterdir() if p.is_dir() and p.name[0] != "." and p.name != "current"
    )
    code = run("du", "-sk", store / kept[-1]).stdout.split()[0]
    www = deployment.compose("exec", "-T", "frontend", "du", "-skL", "/srv/www/current").stdout
    record_timing("[releases] disk of a release: backend code", int(code), " KiB")
    record_timing("[releases] disk of a release: frontend bundle", int(www.split()[0]), " KiB")
    print(f"releases kept: {kept}")
    assert len(kept) < 6, "six releases were made, RELEASE_KEEP=3 for deploys, 5 for starts"


def test_migrations_run_once_per_deploy_not_per_backend_start(deployment):
    migrate = container_of(deployment, "migrate")
    assert inspect(migrate)["HostConfig"]["RestartPolicy"]["Name"] == "no"
    assert inspect(migrate)["State"]["ExitCode"] == 0
    started = inspect(migrate)["State"]["StartedAt"]
    backend = container_of(deployment, "backend")
    restarts = inspect(backend)["RestartCount"]
    for _ in range(2):  # a crashing backend
        pid = inspect(backend)["State"]["Pid"]
        run("kill", "-9", str(pid))

        def restarted(pid=pid) -> bool:
            state = inspect(backend)["State"]
            return state["Running"] and state["Pid"] != pid

        wait_for(restarted, "the engine to restart the backend", 60)
        wait_for(lambda: health(deployment) is not None, "the site", 120)
    assert inspect(backend)["RestartCount"] >= restarts + 2
    assert inspect(migrate)["State"]["StartedAt"] == started, "the migrations ran again"
    logs = deployment.compose("logs", "--no-color", "backend").stdout
    assert "Operations to perform" not in logs
    assert "Operations to perform" in deployment.compose("logs", "migrate").stdout


def test_a_backend_restart_fails_no_request(deployment):
    """The literal `docker compose restart backend` (.env names the compose file)."""
    with Load(deployment) as load:
        time.sleep(2)
        start = time.monotonic()
        run("docker", "compose", "restart", "backend", cwd=deployment.app)
        wait_for(lambda: health(deployment) is not None, "the backend", 120)
        time.sleep(2)
        during = load.since(start)
    record_timing("[operations] p99 latency during backend restart", load.percentile(0.99, during))
    report("restart backend", load, during)
    assert not load.failures, load.summary()


def test_every_service_has_a_memory_limit_and_capped_logs(deployment):
    containers = deployment.compose("ps", "--all", "--quiet").stdout.split()
    seen = set()
    for container in containers:
        details = inspect(container)
        service = details["Config"]["Labels"]["com.docker.compose.service"]
        seen.add(service)
        memory = details["HostConfig"]["Memory"]
        assert 128 * 2**20 <= memory <= 2 * 2**30, (service, memory)
        log = details["HostConfig"]["LogConfig"]
        assert log["Type"] == "json-file", service
        assert log["Config"] == {"max-size": "10m", "max-file": "5"}, service
    assert seen == {*SERVICES, "migrate", "caddy-files"}
    # gunicorn's workers fit in the backend's limit, with room to spare.
    backend = container_of(deployment, "backend")
    stats = run("docker", "stats", "--no-stream", "--format", "{{.MemPerc}}", backend).stdout
    print(f"backend memory use: {stats.strip()} of its limit")
    assert float(stats.strip().rstrip("%")) < 75


def test_a_wrong_database_password_is_explained(deployment):
    dotenv = deployment.app / ".env"
    saved = dotenv.read_text()
    try:
        set_env(dotenv, POSTGRES_PASSWORD="regenerated-not-the-volumes")
        result = deployment.compose("run", "--rm", "--no-deps", "-T", "migrate", check=False)
    finally:
        dotenv.write_text(saved)
    assert result.returncode != 0
    project = read_env(dotenv)["COMPOSE_PROJECT_NAME"]
    message = result.stderr
    assert "the database refuses POSTGRES_PASSWORD of the app's .env" in message, message
    assert "put back the .env it was created with" in message
    assert f"docker volume rm {project}_pgdata" in message


def test_caddy_and_django_log_to_the_data_folder_rotated(deployment):
    env = read_env(deployment.app / ".env")
    logs = Path(env["DATA_ROOT"]) / deployment.project / "logs"
    assert logs.stat().st_uid == 10001  # the backend's user, Caddy's too
    missing = f"/api/no-such-endpoint-{time.time_ns()}/"
    assert deployment.fetch(missing)[0] == 404

    def logged(name: str, text: str) -> bool:
        return (logs / name).is_file() and text in (logs / name).read_text(errors="replace")

    wait_for(lambda: logged("caddy-access.log", missing), "the request in Caddy's access log")
    # One short line a request: no request or response headers, the user agent on its own.
    lines = (logs / "caddy-access.log").read_text(errors="replace").splitlines()
    entry = json.loads(next(line for line in lines if missing in line))
    assert (entry["status"], entry["request"]["uri"]) == (404, missing), entry
    assert entry["user_agent"].startswith("Python-urllib"), entry
    assert "headers" not in entry["request"] and "resp_headers" not in entry, entry
    wait_for(lambda: logged("django.log", f"Not Found: {missing}"), "the 404 in Django's log")

    # Caddy rolls its access log at 10 MiB and keeps 5 (its running config says so).
    config = json.loads(
        deployment.compose(
            "exec", "-T", "caddy", "wget", "-q", "-O", "-", "http://127.0.0.1:2019/config/"
        ).stdout
    )
    writers = [log["writer"] for log in config["logging"]["logs"].values() if "writer" in log]
    assert {"output": "file", "filename": "/srv/logs/caddy-access.log"}.items() <= writers[
        0
    ].items()
    assert (writers[0]["roll_size_mb"], writers[0]["roll_keep"]) == (10, 5)

    # Django's log rolls over at 10 MB: 11 MB written through its configured handler.
    deployment.compose(
        "exec",
        "-T",
        "backend",
        "python",
        "-c",
        "import django; django.setup(); import logging; "
        "[logging.getLogger('ops.test').warning('x' * 1000) for _ in range(11_000)]",
    )
    sizes = {p.name: p.stat().st_size for p in logs.glob("django.log*")}
    assert "django.log.1" in sizes, sizes
    assert all(size <= 10 * 2**20 for size in sizes.values()), sizes


def test_a_restart_of_everything_is_not_broken(deployment):
    """The seed's literal `docker compose restart`, in the app's folder."""
    title = f"Kept across a restart {time.time_ns()}"
    deployment.json("/api/notes/", {"title": title, "body": ""}, 201)
    start = time.monotonic()
    run("docker", "compose", "restart", cwd=deployment.app)
    wait_for(lambda: health(deployment) is not None and served(deployment), "the site", 180)
    record_timing("[operations] docker compose restart (everything)", time.monotonic() - start)
    assert inspect(container_of(deployment, "migrate"))["State"]["ExitCode"] == 0
    assert title in [note["title"] for note in deployment.notes()]
    # The seed's other literal command, from the stack's folder: the same deployment.
    compose_file = deployment.app / "docker-compose.app.yml"
    run("docker", "compose", "-f", compose_file, "up", "-d", "--wait", cwd=deployment.stack)
    assert {c["Name"].rsplit("-", 2)[0] for c in deployment.containers()} == {deployment.project}
    assert title in [note["title"] for note in deployment.notes()]


@pytest.mark.parametrize("service", SERVICES)
def test_a_crashed_service_comes_back_by_itself(deployment, service):
    """SIGKILL of the service's main process (a crash: the restart policy applies)."""
    container = container_of(deployment, service)
    before = inspect(container)
    with Load(deployment) as load:
        time.sleep(1)
        start = time.monotonic()
        run("kill", "-9", str(before["State"]["Pid"]))

        def back() -> bool:
            state = inspect(container)["State"]
            return (
                state["Running"]
                and state["Pid"] != before["State"]["Pid"]
                and health(deployment) is not None
                and served(deployment, "/")
            )

        wait_for(back, f"{service} after a crash", 180)
        seconds = time.monotonic() - start
        time.sleep(1)
        during = load.since(start)
    record_timing(f"[operations] recovery after SIGKILL of {service}", seconds)
    report(f"kill -9 {service}", load, during)
    assert inspect(container)["RestartCount"] == before["RestartCount"] + 1
    assert (health(deployment) or {}).get("database") == "ok"


def test_make_logs_still_follows_everything(deployment):
    result = subprocess.run(
        ["timeout", "5", "make", "logs"], cwd=deployment.app, capture_output=True, text=True
    )
    assert result.returncode == 124  # still following when stopped
    logs = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", result.stdout)  # colours, line control
    for service in (*SERVICES, "migrate"):
        assert re.search(rf"^{service}-1 +\|", logs, re.M), service


# ---- A restart of the Docker engine --------------------------------------------------------
# On an engine of its own (its own data root, exec root, socket, containerd namespace, default
# bridge, no iptables rules of its own): the shared engine, which other checkouts' tests use,
# is never restarted. Two flags would make it delete docker0, the shared engine's default
# bridge: --bridge=none (on every start) and --default-address-pool (on a restart, dockerd
# 26's configureNetworking). So the compose network is made beforehand, with its own subnet.

ENGINE = Path("/tmp/ops-engine")  # short: unix socket paths have a length limit
SHARED_ENGINE = {"DOCKER_HOST": "unix:///var/run/docker.sock"}
BRIDGE, BRIDGE_ADDRESS = "opsengine0", "10.214.0.1/24"
POOL = "10.213.0.0/24"  # the deployment's compose network on that engine
# Its bridges' traffic passes the host's FORWARD chain (br_netfilter), whose policy the shared
# engine sets to DROP: accept what stays within its addresses (DOCKER-USER is for such rules).
FORWARD_RULE = ["DOCKER-USER", "-s", POOL, "-d", POOL, "-j", "ACCEPT"]


def start_engine() -> subprocess.Popen:
    with (ENGINE / "dockerd.log").open("a") as log:
        engine = subprocess.Popen(
            [
                "dockerd",
                f"--data-root={ENGINE}/data",
                f"--exec-root={ENGINE}/exec",
                f"--pidfile={ENGINE}/docker.pid",
                f"--host=unix://{ENGINE}/docker.sock",
                f"--bridge={BRIDGE}",
                "--iptables=false",
                "--ip6tables=false",
                "--containerd-namespace=ops-engine",
                "--containerd-plugins-namespace=ops-engine-plugins",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    host = {"DOCKER_HOST": f"unix://{ENGINE}/docker.sock"}
    wait_for(lambda: run("docker", "info", env=host, check=False).returncode == 0, "dockerd", 60)
    return engine


def stop_engine(engine: subprocess.Popen) -> None:
    engine.terminate()  # as `systemctl stop docker`: containers are stopped, not removed
    engine.wait(timeout=120)


@pytest.fixture
def own_engine(monkeypatch):
    """DOCKER_HOST of a second engine, started for this test and removed afterwards."""
    assert not ENGINE.exists(), f"{ENGINE} is left from an earlier run: remove it"
    ENGINE.mkdir()
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    run("ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    run("iptables", "-I", *FORWARD_RULE)
    state = {}
    try:
        state["engine"] = start_engine()
        monkeypatch.setenv("DOCKER_HOST", f"unix://{ENGINE}/docker.sock")
        yield state
    finally:
        if "engine" in state and state["engine"].poll() is None:
            stop_engine(state["engine"])
        run("iptables", "-D", *FORWARD_RULE, check=False)
        run("ip", "link", "delete", BRIDGE, check=False)
        shutil.rmtree(ENGINE, ignore_errors=True)


def test_an_engine_restart_brings_the_site_back_with_its_data(deployment, own_engine, tmp_path):
    """The app deployed again (a copy of its folder, a project, ports and DATA_ROOT of its own)
    on an engine of its own, with the images built for `deployment`; then that engine is
    stopped and started as a server reboot would."""
    version = run(deployment.stack / "install.sh", "--version").stdout.strip()
    project = unique_project("igny8")
    images = [f"{deployment.project}-{service}:{version}" for service in STACK_IMAGES]
    postgres = run(
        "docker",
        "compose",
        "config",
        "--images",
        "db",
        cwd=deployment.app,
        env=SHARED_ENGINE,
    ).stdout.split()
    saved = subprocess.Popen(
        ["docker", "save", *images, *postgres],
        stdout=subprocess.PIPE,
        env={**os.environ, **SHARED_ENGINE},
    )
    run_with_stdin(["docker", "load"], saved)
    for image in images:
        run("docker", "tag", image, image.replace(deployment.project, project, 1))

    app = deployment.app.with_name("igny8 on its own engine")
    shutil.copytree(deployment.app, app, symlinks=True)
    url = listen_on_free_ports(app, project)
    run(
        "docker", "network", "create", f"--subnet={POOL}",
        "--label=com.docker.compose.network=default",
        f"--label=com.docker.compose.project={project}",
        f"{project}_default",
    )  # fmt: skip
    set_env(app / ".env", DATA_ROOT=str(tmp_path / "data root"))
    run(deployment.stack / "stack", "install", "--app", app)  # the data folders
    moved = Deployment("engine restart", app, deployment.stack, url, tmp_path / "ca.crt")
    try:
        moved.up()
        title = f"Kept across an engine restart {time.time_ns()}"
        moved.json("/api/notes/", {"title": title, "body": ""}, 201)
        # A deploy that failed: the checkout's backend does not import, its frontend does
        # not build. After the restart both serve what they served before.
        release, page = serving(moved), bundle(moved)
        commit_code(
            app,
            "9",
            "Neither part can serve",
            [
                ("backend/core/views.py", "import logging\n", "import logging\nimport gone\n"),
                ("frontend/src/pages/Home.tsx", "<h1>", "<h1>{notDefinedAnywhere}"),
            ],
        )
        assert run("make", "deploy", cwd=app, check=False).returncode != 0

        def restart_engine(name: str) -> None:
            shared_bridge = Path("/sys/class/net/docker0").exists()
            with Load(moved) as load:
                time.sleep(1)
                start = time.monotonic()
                stop_engine(own_engine["engine"])
                own_engine["engine"] = start_engine()
                up = time.monotonic()
                assert Path("/sys/class/net/docker0").exists() == shared_bridge, "docker0 deleted"
                wait_for(lambda: health(moved) is not None and served(moved), "the site", 300)
                record_timing(
                    f"[operations] engine restart ({name}): up to serving", time.monotonic() - up
                )
                time.sleep(1)
                report(f"engine restart ({name})", load, load.since(start))
            assert title in [note["title"] for note in moved.notes()]
            states = {c["Service"]: c["State"] for c in moved.containers()}
            assert {states[s] for s in SERVICES} == {"running"}, states

        keeps_its_bundle(moved, lambda: restart_engine("after a deploy of code that does not load"))
        assert (serving(moved), bundle(moved)) == (release, page)

        # A migration pulled without make deploy (or one that failed part-way): after another
        # restart the release before still serves, its bundle too, and the backend's log says
        # why.
        run("git", "reset", "--quiet", "--hard", "HEAD~1", cwd=app)
        migration(app, "0099_waits", last_migration(app), "SELECT 1")
        heading = ("frontend/src/pages/Home.tsx", "<h1>", "<h1>Waits for its migration")
        commit_code(app, "10", "A migration not applied yet", [heading])
        keeps_its_bundle(moved, lambda: restart_engine("after a pull that needs a migration"))
        assert (serving(moved), bundle(moved)) == (release, page)
        logs = moved.compose("logs", "--no-color", "backend").stdout
        assert "needs migrations (notes.0099_waits)" in logs, logs[-3000:]
    finally:
        print(moved.down())
        run(deployment.stack / "stack", "install", "--app", deployment.app, check=False)


def run_with_stdin(command: list[str], source: subprocess.Popen) -> None:
    result = subprocess.run(command, stdin=source.stdout, capture_output=True, text=True)
    source.stdout.close()
    assert source.wait() == 0, "docker save failed"
    assert result.returncode == 0, result.stderr
