"""Past one server: release images and Docker Swarm, under steady load, on a single-node swarm
this module makes (and leaves again, unless the engine was a swarm before) with a local
registry (Debian's docker-registry, on a free port).

The stack's README steps: `./stack release` builds the images of the app's HEAD from a clean
export and pushes them; `./stack swarm deploy` migrates and rolls out; `scale`, `rollback`,
and the backup and restore commands work against the swarm's services. The tests run in file
order on one deployment: deploy, scale 1 -> 3, a rolling update, a release that fails its
health check, a rollback, a crash, a backup restored, the throughput.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from deployments import (
    CAPABILITIES,
    Deployment,
    Load,
    bundle,
    commit_release,
    health,
    is_failure,
    listen_on_free_ports,
    privileges,
    set_env,
    unique_project,
)
from helpers import (
    copier_copy,
    edit,
    ensure_standins,
    free_port,
    read_env,
    readme_blocks,
    record_timing,
    run,
    wait_for,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SLUG = "shop"
README_SECTION = "Several servers: Docker Swarm"


def docker(*args: str, check: bool = True) -> str:
    return run("docker", *args, check=check).stdout


@pytest.fixture(scope="module")
def swarm():
    """A swarm of this one engine: made here when it is not one, and left again afterwards."""
    state = docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip()
    if state != "active":
        docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    try:
        yield
    finally:
        if state != "active":
            docker("swarm", "leave", "--force")
            after = docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip()
            assert after == state, f"the engine was left a swarm: {after}"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Debian's docker-registry on a free localhost port (Docker pushes to localhost without
    TLS); its address, as RELEASE_REGISTRY takes it."""
    folder = tmp_path_factory.mktemp("registry")
    port = free_port()
    (folder / "config.yml").write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with (folder / "log").open("w") as log:
        server = subprocess.Popen(
            ["docker-registry", "serve", folder / "config.yml"], stdout=log, stderr=log
        )
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/v2/"), "the registry", timeout=30)
        yield f"localhost:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def tags_in(registry: str, repository: str) -> list[str]:
    url = f"http://{registry.replace('localhost', '127.0.0.1')}/v2/{repository}/tags/list"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["tags"] or []


class Site(Deployment):
    """The swarm deployment: `./stack` in the stack folder, docker service in the stack."""

    def stack_tool(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(self.stack / "stack", *args, "--app", self.app, check=check)

    def readme(self, command: str, check: bool = True) -> subprocess.CompletedProcess:
        """The stack README's swarm command line that starts with `command`, run as it is
        written, in the stack's folder, with `app` set to the app's checkout (as the README
        has the reader set it once)."""
        blocks = readme_blocks(self.stack / "README.md", README_SECTION)
        (line,) = [line for block in blocks for line in block if line.startswith(command)]
        return run("bash", "-c", line, cwd=self.stack, env={"app": str(self.app)}, check=check)

    def release(self) -> tuple[str, str]:
        """The README's `./stack release`: returns the release tag and the tool's output."""
        start = time.monotonic()
        out = self.readme("./stack release").stdout
        record_timing(f"[swarm] release build + push ({self.name})", time.monotonic() - start)
        print(out)
        return re.search(r"Built release (\S+)", out)[1], out

    def tasks(self, service: str) -> list[str]:
        """The running containers of the stack's service (on this node)."""
        label = f"label=com.docker.swarm.service.name={self.project}_{service}"
        return docker("ps", "--quiet", "--filter", label, "--filter", "status=running").split()

    def image(self, service: str) -> str:
        spec = docker(
            "service", "inspect", f"{self.project}_{service}", "--format", "{{json .Spec}}"
        )
        return json.loads(spec)["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0]

    def trust_caddy(self) -> None:
        wait_for(lambda: self.tasks("caddy"), "the caddy task", timeout=60)
        source = f"{self.tasks('caddy')[0]}:/data/caddy/pki/authorities/local/root.crt"
        wait_for(
            lambda: run("docker", "cp", source, self.ca, check=False).returncode == 0,
            "Caddy's local CA",
            timeout=60,
        )
        self.tls = ssl.create_default_context(cafile=self.ca)

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        """A manage.py command in a backend task."""
        return run("docker", "exec", self.tasks("backend")[0], "python", "/opt/stack/manage.py",
                   *args)  # fmt: skip

    def replica(self) -> str:
        """The X-Replica of one answer of /api/health/."""
        code, headers, _ = self.fetch("/api/health/")
        assert code == 200
        return headers["X-Replica"]


def no_failures(name: str, load: Load, start: float) -> list:
    outcomes = load.since(start)
    failed = [o for o in outcomes if is_failure(o)]
    print(f"[{name}] {len(outcomes)} requests, {len(failed)} failed")
    record_timing(f"[swarm] {name}: failed requests of {len(outcomes)}", len(failed), "")
    for o in failed[:20]:
        print(f"  {o.method} {o.path}: {o.status} {o.error}")
    return failed


def remove_stack(project: str) -> None:
    """The stack, its volumes, secrets and node label: nothing of it stays on the engine."""
    docker("stack", "rm", project, check=False)
    namespace = f"label=com.docker.stack.namespace={project}"
    gone = lambda: not docker("ps", "-aq", "--filter", namespace).strip()  # noqa: E731
    wait_for(gone, "the stack's removal", timeout=120)
    for volume in docker("volume", "ls", "-q", "--filter", f"name={project}_").split():
        docker("volume", "rm", volume, check=False)
    for secret in docker("secret", "ls", "-q", "--filter", f"name={project}_").split():
        docker("secret", "rm", secret, check=False)
    node = docker("node", "ls", "-q").split()[0]
    docker("node", "update", "--label-rm", f"{project}.db", node, check=False)


def linked_pair(template: Path, base: Path, slug: str, registry: str, **answers) -> Site:
    """A pair generated and linked as the README says, with a deployment of its own (free
    ports, a unique project) and RELEASE_REGISTRY set: ready for ./stack release."""
    app, stack = base / slug, base / f"{slug}-stack"
    copier_copy(
        template, app, repo="app", slug=slug, data_root=base / "data root", **answers,
        **ensure_standins(),
    )  # fmt: skip
    run(stack / "install.sh", "--app", app, cwd=base)
    url = listen_on_free_ports(app, unique_project(slug))
    # Site.replica() reads X-Replica through Caddy: the setting shows it to requests from outside.
    set_env(app / ".env", RELEASE_REGISTRY=registry, DJANGO_HEALTH_SHOWS_REPLICA="true")
    run(stack / "install.sh", "--app", app, cwd=base)  # the data folders of that project
    return Site(f"swarm {slug}", app, stack, url, base / "caddy root.crt")


@pytest.fixture(scope="module")
def site(template, tmp_path_factory, swarm, registry):
    """The default pair, linked as the README says, its first release deployed on the swarm
    with one backend replica; the stack, its volumes and secrets removed afterwards."""
    deployment = linked_pair(template, tmp_path_factory.mktemp("swarm") / "swarm e2e", SLUG,
                             registry)  # fmt: skip
    project = deployment.project
    try:
        deployment.first_release, _ = deployment.release()
        start = time.monotonic()
        print(deployment.stack_tool("swarm", "deploy", "--replicas", "1").stdout)
        record_timing("[swarm] first deploy (swarm deploy)", time.monotonic() - start)
        deployment.trust_caddy()
        wait_for(lambda: health(deployment), "the site", timeout=120)
        yield deployment
    finally:
        # From a container of each service: `docker service logs` at times never returns
        # (docker/cli#4678; it did here, in this very place).
        for service in ("backend", "web", "caddy", "db"):
            for container in deployment.tasks(service)[:1]:
                logs = run("docker", "logs", "--tail", "30", container, check=False)
                print(f"--- {service}\n{logs.stdout}{logs.stderr}")
        remove_stack(project)


def test_release_images_carry_the_committed_app_and_nothing_else(site, registry):
    """Tagged <commit>-<stack version> (caddy: the stack version), pushed; built from the
    commit: a change not committed is not in the image."""
    commit = run("git", "rev-parse", "HEAD", cwd=site.app).stdout.strip()
    assert site.first_release.startswith(commit[:12] + "-")
    stack_version = site.first_release.split("-", 1)[1]
    assert tags_in(registry, f"{SLUG}-backend") == [site.first_release]
    assert tags_in(registry, f"{SLUG}-web") == [site.first_release]
    assert tags_in(registry, f"{SLUG}-caddy") == [stack_version]

    views = site.app / "backend/core/views.py"
    edit(views, '"""Report whether', '"""Not committed. Report whether')
    try:
        tag, _ = site.release()
    finally:
        run("git", "checkout", "--", views, cwd=site.app)
    assert tag == site.first_release  # the same commit: the same release, rebuilt
    image = f"{registry}/{SLUG}-backend:{tag}"
    shipped = run("docker", "run", "--rm", "--entrypoint", "cat", image, "/app/core/views.py")
    assert "Not committed" not in shipped.stdout and "def health" in shipped.stdout
    # Sentry names what it serves by the commit (the settings read SENTRY_RELEASE).
    assert f"SENTRY_RELEASE={commit}" in docker(
        "image", "inspect", "-f", "{{json .Config.Env}}", image
    )
    # Django's static files and the bundle are in the web image.
    web = f"{registry}/{SLUG}-web:{tag}"
    listing = run(
        "docker", "run", "--rm", "--entrypoint", "ls", web, "/srv/static/admin", "/srv/www/current"
    ).stdout
    assert "css" in listing and "index.html" in listing
    for service in ("backend", "web", "caddy"):
        size = int(docker("image", "inspect", "-f", "{{.Size}}", site.image(service)).strip())
        print(f"image {site.image(service)}: {size / 1e6:.0f} MB")


def test_the_first_release_serves_with_secrets_as_files(site):
    assert health(site) == {"status": "ok", "database": "ok"}
    assert b'<div id="root">' in site.fetch("/")[2]
    assert site.fetch("/static/admin/css/base.css")[0] == 200
    backend = site.tasks("backend")[0]
    env = docker("inspect", backend, "--format", "{{json .Config.Env}}")
    assert "DJANGO_SECRET_KEY_FILE=/run/secrets/django_secret_key" in env
    assert "POSTGRES_PASSWORD=" not in env and "DJANGO_SECRET_KEY=" not in env
    db_env = docker("inspect", site.tasks("db")[0], "--format", "{{json .Config.Env}}")
    assert "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password" in db_env
    assert "POSTGRES_PASSWORD=" not in db_env


def test_every_task_runs_with_least_privilege_on_an_encrypted_network(site):
    """docker inspect of each service's running task: capabilities dropped but the few its
    entrypoint needs, a read-only root file system, a cap on processes, its main process
    not root and without a capability; Caddy as the backend's user. The stack's network is
    encrypted. (no-new-privileges is each node's daemon.json: stack deploy has no setting.)"""
    for service in ("caddy", "web", "backend", "db"):
        found = privileges(site.tasks(service)[0])
        print(service, json.dumps(found))
        assert found["CapDrop"] == ["ALL"], service
        assert found["CapAdd"] == CAPABILITIES.get(service, []), service
        assert found["ReadonlyRootfs"] is True, service
        assert 0 < found["PidsLimit"] <= 512, service
        assert found["uid"] != 0, service
        assert int(found["CapEff"], 16) == int(found["CapPrm"], 16) == 0, service
    caddy = privileges(site.tasks("caddy")[0])
    assert caddy["User"] == "10001:10001"
    assert caddy["Sysctls"] == {"net.ipv4.ip_unprivileged_port_start": "0"}
    network = json.loads(docker("network", "inspect", f"{site.project}_default"))[0]
    print("network", json.dumps({key: network[key] for key in ("Driver", "Options")}))
    assert network["Options"]["encrypted"] == ""


def test_scale_from_one_to_three_replicas_spreads_the_requests(site):
    assert len(site.tasks("backend")) == 1
    with Load(site, clients=2) as load:
        start = time.monotonic()
        out = site.readme("./stack swarm scale 3").stdout
        print(out)
        record_timing("[swarm] scale 1 -> 3", time.monotonic() - start)
        wait_for(lambda: len(site.tasks("backend")) == 3, "three backend tasks", timeout=60)
        containers = {c[:12] for c in site.tasks("backend")}
        seen: set[str] = set()

        def all_answer() -> bool:  # Caddy looks the replicas up again every second
            seen.update(site.replica() for _ in range(10))
            return seen == containers

        wait_for(all_answer, f"answers from each of {containers}", timeout=20)
    assert seen == containers, f"answered by {seen}, running {containers}"
    assert no_failures("scale 1 -> 3", load, start) == []


def secrets_of(site: Site, key: str) -> set[str]:
    """The Docker secrets of the deployment's .env key (one per value it has had)."""
    names = docker("secret", "ls", "--format", "{{.Name}}").split()
    ours = re.compile(rf"{re.escape(site.project)}_{key.lower()}_[0-9a-f]{{12}}")
    return {name for name in names if ours.fullmatch(name)}


def test_a_rolling_update_to_a_new_commit_fails_no_request(site):
    """A new commit, and DJANGO_SECRET_KEY rotated in the two deploys .env.example says (the
    new key a fallback first, then the key with the old one as fallback), each a rolling update
    under load whose signed-in sessions stay valid throughout. The backends get each value as
    a new secret; the old one stays while swarm may still roll back to it."""
    commit_release(site.app, "Notes, rolled out on a swarm")
    site.second_release, _ = site.release()
    (site.old_key,) = secrets_of(site, "DJANGO_SECRET_KEY")
    old, new = read_env(site.app / ".env")["DJANGO_SECRET_KEY"], f"rotated-{os.urandom(24).hex()}"
    outs = []
    for step, (key, fallback) in enumerate([(old, new), (new, old)], 1):
        set_env(site.app / ".env", DJANGO_SECRET_KEY=key, DJANGO_SECRET_KEY_FALLBACKS=fallback)
        with Load(site, clients=2) as load:
            start = time.monotonic()
            outs.append(site.readme("./stack swarm deploy").stdout)
            print(outs[-1])
            record_timing(f"[swarm] rolling update {step} (swarm deploy)", time.monotonic() - start)
            time.sleep(2)
        assert no_failures(f"rolling update {step}", load, start) == []
        assert re.search(r"backend: rolled out to 3 replicas in [\d.]+ s", outs[-1])
    assert health(site) == {"status": "ok", "release": "2", "database": "ok"}
    assert b"Notes, rolled out on a swarm" in bundle(site)
    assert site.image("caddy").endswith(site.first_release.split("-", 1)[1])  # not restarted
    assert len(site.tasks("caddy")) == 1
    key = run("docker", "exec", site.tasks("backend")[0], "cat", "/run/secrets/django_secret_key")
    assert key.stdout.startswith("rotated-")
    assert site.old_key in secrets_of(site, "DJANGO_SECRET_KEY")
    assert not any("Removed" in out for out in outs)


def test_a_release_failing_its_health_check_is_rolled_back_by_itself(site):
    views = site.app / "backend/core/views.py"
    edit(views, 'status=200 if body["status"] == "ok" else 503', "status=503")
    run(
        "git",
        "commit",
        "--quiet",
        "--all",
        "--message",
        "A release that is not healthy",
        cwd=site.app,
    )
    broken, _ = site.release()
    with Load(site, clients=2) as load:
        start = time.monotonic()
        result = site.readme("./stack swarm deploy", check=False)
        record_timing("[swarm] failing release, rolled back", time.monotonic() - start)
    print(result.stdout, result.stderr)
    assert result.returncode == 1
    assert f"release {broken} failed on backend" in result.stderr
    assert "rolled it back" in result.stderr
    assert health(site) == {"status": "ok", "release": "2", "database": "ok"}
    for service in ("backend", "web"):
        assert site.image(service).endswith(site.second_release), service
    assert no_failures("failing release and its rollback", load, start) == []
    run("git", "revert", "--no-edit", "HEAD", cwd=site.app)


def test_rollback_returns_to_the_previous_release_without_a_failed_request(site):
    with Load(site, clients=2) as load:
        start = time.monotonic()
        out = site.readme("./stack swarm rollback").stdout
        record_timing("[swarm] swarm rollback", time.monotonic() - start)
    print(out)
    assert f"Rolled back from {site.second_release} to {site.first_release}" in out
    assert health(site) == {"status": "ok", "database": "ok"}  # the first release's answer
    for service in ("backend", "web"):
        assert site.image(service).endswith(site.first_release), service
    status = site.readme("./stack swarm status").stdout
    assert f"{site.project}_backend  3/3  " in status and site.first_release in status
    # Neither the release serving nor the one swarm would roll back to uses the old key now.
    assert f"Removed the secrets of values rotated since: {site.old_key}" in out
    assert site.old_key not in secrets_of(site, "DJANGO_SECRET_KEY")
    again = site.readme("./stack swarm rollback", check=False)
    assert again.returncode == 1 and "no earlier release" in again.stderr
    assert no_failures("rollback", load, start) == []


def test_a_killed_replica_is_replaced(site):
    victim = site.tasks("backend")[0]
    pid = docker("inspect", "-f", "{{.State.Pid}}", victim).strip()
    with Load(site, clients=2) as load:
        start = time.monotonic()
        os.kill(int(pid), 9)
        wait_for(
            lambda: len(site.tasks("backend")) == 3 and victim not in site.tasks("backend"),
            "a new backend task",
            timeout=120,
        )
        record_timing("[swarm] SIGKILLed replica replaced", time.monotonic() - start)
        wait_for(lambda: health(site), "the site", timeout=60)
    failed = no_failures("SIGKILL of a replica", load, start)
    assert len(failed) <= 5, "only requests in flight on the killed replica may fail"


def test_backup_and_restore_work_against_the_swarm(site):
    shell = ["docker", "exec", "-i", site.tasks("backend")[0], "python", "/opt/stack/manage.py"]

    def titles() -> list[str]:
        code = "from notes.models import Note; import json; print(json.dumps(list("
        code += "Note.objects.values_list('title', flat=True))))"
        # The last line: Django's shell may say first what it imported.
        return json.loads(run(*shell, "shell", "-c", code).stdout.splitlines()[-1])

    create = "from notes.models import Note; Note.objects.create(title='kept in a backup', body='')"
    run(*shell, "shell", "-c", create)
    media = site.app.parent / "data root" / site.project / "media"
    (media / "upload.bin").write_bytes(os.urandom(4096))
    backed_up = run("make", "backup", cwd=site.app).stdout  # the app's, as on one server
    print(backed_up)
    delete = "from notes.models import Note; Note.objects.all().delete()"
    run(*shell, "shell", "-c", delete)
    (media / "upload.bin").unlink()
    start = time.monotonic()
    restored = run("make", "restore", "ARGS=--replace", cwd=site.app).stdout
    record_timing("[swarm] restore into the swarm", time.monotonic() - start)
    print(restored)
    wait_for(lambda: len(site.tasks("backend")) == 3, "the backends again", timeout=120)
    shell[3] = site.tasks("backend")[0]
    assert "kept in a backup" in titles()
    assert (media / "upload.bin").stat().st_size == 4096
    assert health(site) == {"status": "ok", "database": "ok"}


def ab(site: Site, requests: int = 1500) -> float:
    """Requests per second of /api/health/ through Caddy: ab, 8 at a time, keep-alive."""
    out = run(
        "ab", "-k", "-q", "-c", "8", "-n", str(requests), f"{site.url}/api/health/", check=False
    ).stdout
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    non_2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    assert failed and failed[1] == "0" and not non_2xx, out
    return float(re.search(r"Requests per second:\s+([\d.]+)", out)[1])


def test_throughput_with_one_and_with_three_replicas(site):
    """Printed, not asserted (2 cores: the load client, Caddy, gunicorn and PostgreSQL share
    them): three rounds each way, alternating, and their medians."""
    rates = {1: [], 3: []}
    for _ in range(3):
        for count in (1, 3):
            site.stack_tool("swarm", "scale", str(count))
            wait_for(lambda c=count: len(site.tasks("backend")) == c, "replicas", timeout=60)
            time.sleep(2)
            rates[count].append(ab(site))
    for count, found in rates.items():
        median = statistics.median(found)
        print(f"[swarm] {count} backend replicas: {median:.0f} req/s (rounds: {found})")
        record_timing(f"[swarm] throughput, {count} backend replicas", median, " req/s")


@pytest.mark.parametrize("celery", [False, True], ids=["default", "celery"])
def test_the_swarm_stack_file_is_valid_for_docker_stack_deploy(generate, celery, tmp_path):
    """docker stack config reads the file as docker stack deploy does (its schema, the merge
    with the tool's secrets override, the interpolation)."""
    stack = generate(use_celery=celery).stack
    names = {"DJANGO_SECRET_KEY": "s_key_1", "POSTGRES_PASSWORD": "s_pw_1"}
    # The stack's own tool, in a process of its own: it reads the stack's services.json.
    script = "import json, sys; from stacktool import swarm; print(json.dumps(swarm.override("
    script += f"{names!r}, {celery!r})))"
    (tmp_path / "secrets.json").write_text(run("python3", "-c", script, cwd=stack).stdout)
    (tmp_path / "swarm.env").write_text("DOMAIN=localhost\n")
    env = {
        **os.environ,
        "STACK_NAME": "shop",
        "BACKEND_IMAGE": "localhost:5000/shop-backend:abc-1",
        "WEB_IMAGE": "localhost:5000/shop-web:abc-1",
        "CADDY_IMAGE": "localhost:5000/shop-caddy:1",
        "SWARM_ENV_FILE": str(tmp_path / "swarm.env"),
        "DATA_ROOT": "/data",
        "DOMAIN": "localhost",
    }
    config = run(
        "docker",
        "stack",
        "config",
        "-c",
        stack / "compose/docker-stack.yml",
        "-c",
        tmp_path / "secrets.json",
        env=env,
    ).stdout
    services = set(re.findall(r"^  (\w+):$", config.split("\nservices:\n", 1)[1], re.M))
    expected = {"caddy", "web", "backend", "db"} | (
        {"redis", "worker", "beat"} if celery else set()
    )
    assert expected <= services
    assert config.count("endpoint_mode: dnsrr") == len(expected) - 1  # all but caddy
    assert "DJANGO_SECRET_KEY_FILE: /run/secrets/django_secret_key" in config
    assert "POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password" in config
    # Least privilege as far as docker stack deploy goes (it ignores security_opt).
    loaded = yaml.safe_load(config)
    for name, service in loaded["services"].items():
        assert service["cap_drop"] == ["ALL"], name
        assert service["read_only"] is True, name
        assert 0 < int(service["deploy"]["resources"]["limits"]["pids"]) <= 512, name
        assert "security_opt" not in service, name
    assert loaded["networks"]["default"]["driver_opts"] == {"encrypted": ""}


def test_with_celery_the_worker_and_exactly_one_beat_run_on_the_swarm(
    template, tmp_path, swarm, registry
):
    """An app generated with Celery: redis, the worker and one beat, each healthy; a task
    sent through the API is done by the worker."""
    site = linked_pair(template, tmp_path / "celery swarm", "celery-shop", registry,
                       use_celery=True)  # fmt: skip
    project = site.project
    try:
        site.stack_tool("release")
        start = time.monotonic()
        print(site.stack_tool("swarm", "deploy", "--replicas", "2").stdout)
        record_timing("[swarm] first deploy with Celery", time.monotonic() - start)
        site.trust_caddy()
        wait_for(lambda: health(site), "the site", timeout=120)
        assert health(site) == {"status": "ok", "database": "ok", "redis": "ok"}
        for service, count in (("redis", 1), ("worker", 1), ("beat", 1), ("backend", 2)):
            assert len(site.tasks(service)) == count, service
            found = privileges(site.tasks(service)[0])  # least privilege, as the others
            print(service, json.dumps(found))
            assert found["CapAdd"] == CAPABILITIES.get(service, []), service
            assert found["ReadonlyRootfs"] is True and found["uid"] != 0, service
            assert int(found["CapEff"], 16) == 0 and found["PidsLimit"] > 0, service
        spec = json.loads(docker("service", "inspect", f"{project}_beat"))[0]["Spec"]
        assert spec["UpdateConfig"]["Order"] == "stop-first"  # never two beats at once
        task = site.json("/api/tasks/add/", {"x": 2, "y": 3}, status=202)
        wait_for(
            lambda: site.json(f"/api/tasks/{task['id']}/").get("result") == 5,
            "the worker's answer",
            timeout=60,
        )
    finally:
        remove_stack(project)


def test_a_service_added_by_the_recipe_runs_with_its_secret_as_a_file(
    with_sessions, tmp_path, swarm, registry
):
    """docs/adding-a-service.md's `sessions`: on the swarm, healthy, its password a Docker
    secret (not in its environment) that the server asks for."""
    site = linked_pair(with_sessions, tmp_path / "recipe swarm", "kiosk", registry,
                       sessions_image=ensure_standins()["redis_image"])  # fmt: skip
    project = site.project
    try:
        site.stack_tool("release")
        print(site.stack_tool("swarm", "deploy", "--replicas", "1").stdout)
        wait_for(lambda: site.tasks("sessions"), "the sessions task", timeout=120)
        (container,) = site.tasks("sessions")
        status = lambda: docker("inspect", "-f", "{{.State.Health.Status}}", container).strip()  # noqa: E731
        wait_for(lambda: status() == "healthy", "the sessions health check", timeout=60)
        password = read_env(site.app / ".env")["SESSIONS_PASSWORD"]
        ping = ["exec", "-e", f"REDISCLI_AUTH={password}", container, "redis-cli", "ping"]
        assert docker(*ping).strip() == "PONG"
        assert "NOAUTH" in docker("exec", container, "redis-cli", "ping").strip()
        environment = docker("inspect", "-f", "{{json .Config.Env}}", container)
        assert password not in environment
        assert len(site.tasks("backend")) == 1
    finally:
        remove_stack(project)
