"""Where a deployment runs: its compose project on one server, or a stack on Docker Swarm.

Both answer the same questions for backup and restore (`Target`): run a script in the
database's container, is the database up, start it, stop what writes, start everything
again. `find()` says which one a deployment is. On one server, `./stack deploy` and
`rollback` also run the app's own commands in its services (Compose: running, exec, one_off,
restart); on Swarm, `./stack swarm deploy` rolls out release images instead (swarm.py).
"""

from __future__ import annotations

import subprocess
import time

from . import docker, services, swarm
from .deployment import Deployment
from .errors import StackError

DB_START_TIMEOUT = 120  # seconds
UP_TIMEOUT = 900  # `docker compose up --wait`: until every health check passes


class Target:
    """What backup and restore do to a deployment, wherever it runs."""

    def db(self, script: str, **options) -> subprocess.CompletedProcess:
        """`sh -c script` in the database's container (options: as subprocess.run's)."""
        raise NotImplementedError

    def db_running(self) -> bool:
        raise NotImplementedError

    def start_db(self) -> None:
        """Start the database (if it is not running), until it accepts connections."""
        raise NotImplementedError

    def stop_writers(self) -> None:
        """Stop the services that write what a backup holds."""
        raise NotImplementedError

    def start(self) -> None:
        """Start every service (those stop_writers stopped)."""
        raise NotImplementedError


def _env_options(env: dict[str, str] | None) -> list[str]:
    return [item for key, value in (env or {}).items() for item in ("-e", f"{key}={value}")]


class Compose(Target):
    """The deployment on one server: the app's compose project."""

    def __init__(self, deployment: Deployment) -> None:
        self.app = deployment.app
        self.compose = docker.Compose(deployment.app)

    def _output(self, *args: str) -> str:
        """`docker compose args`; its output, an error naming the command when it fails."""
        doing = f"`docker compose {' '.join(args)}` in {self.app}"
        return self.compose.output(doing, *args, tail=2000)

    def running(self) -> set[str]:
        """The services that run (an error when compose cannot tell)."""
        return set(self._output("ps", "--status", "running", "--services").split())

    def exec(self, service: str, *command: str) -> str:
        """`command` in the running `service`'s container; its output (an error if it fails)."""
        return self._output("exec", "-T", service, *command)

    def exec_result(
        self, service: str, *command: str, env: dict[str, str] | None = None, show: bool = False
    ) -> subprocess.CompletedProcess:
        """`command` in the running `service`'s container, whatever its exit code (no time
        bound); its output shown as it runs when `show`."""
        args = ("exec", "-T", *_env_options(env), service, *command)
        return self.compose.call(*args, capture=not show, timeout=None)

    def one_off(
        self, service: str, *command: str, env: dict[str, str] | None = None, show: bool = False
    ) -> subprocess.CompletedProcess:
        """`command` in a new container of `service`, without its dependencies, whatever its
        exit code; its output shown as it runs (no time bound) when `show`."""
        args = ("run", "--rm", "--no-deps", "-T", *_env_options(env), service, *command)
        return self.compose.call(*args, capture=not show, timeout=None)

    def restart(self, *names: str) -> None:
        self._output("restart", "--no-deps", *names)

    def health_check(self, service: str) -> list[str]:
        """The command of `service`'s health check as Docker runs it (its image's); an error
        when it runs none."""
        containers = self._output("ps", "--quiet", service).split()
        found = docker.inspect(*containers[:1])
        try:
            test = found[0]["Config"]["Healthcheck"]["Test"]
        except (ValueError, LookupError, TypeError):
            test = []
        if test[:1] not in (["CMD"], ["CMD-SHELL"]):
            raise StackError(
                f"the {service} container runs no health check: build its image again "
                "(./install.sh) and start it (docker compose -f docker-compose.app.yml up -d)"
            )
        return test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]

    def db(self, script: str, **options) -> subprocess.CompletedProcess:
        options.setdefault("capture", False)
        options.setdefault("text", False)
        return self.compose.call("exec", "-T", "db", "sh", "-c", script, timeout=None, **options)

    def db_running(self) -> bool:
        return "db" in self.compose.running()

    def start_db(self) -> None:
        self.compose.output(
            "starting the database (docker compose up -d --wait db)",
            "up", "-d", "--wait", "db", timeout=UP_TIMEOUT,
        )  # fmt: skip

    def stop_writers(self) -> None:
        listed = self.compose.output("listing the services", "config", "--services")
        # Left running: those that write nothing the backup holds (compose/services.json).
        kept = services.named(restore="keeps running")
        writers = [s for s in listed.split() if s not in kept]
        if writers:
            self.compose.output("stopping what writes", "stop", *writers)

    def start(self) -> None:
        self.compose.output(
            "starting the services (docker compose up -d --wait)",
            "up", "-d", "--wait", timeout=UP_TIMEOUT,
        )  # fmt: skip


class Swarm(Target):
    """The deployment on Docker Swarm (./stack swarm deploy): the stack of that name, whose
    database runs on this node (the one labelled <name>.db)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.replicas: dict[str, int] = {}

    def container(self) -> str:
        label = f"label=com.docker.swarm.service.name={self.name}_db"
        found = docker.output("ps", "--quiet", "--filter", label, "--filter", "status=running")
        return (found.split() or [""])[0]

    def db(self, script: str, **options) -> subprocess.CompletedProcess:
        options.setdefault("capture", False)
        options.setdefault("text", False)
        return docker.call("exec", "-i", self.container(), "sh", "-c", script, timeout=None,
                           **options)  # fmt: skip

    def db_running(self) -> bool:
        return bool(self.container())

    def start_db(self) -> None:
        deadline = time.monotonic() + DB_START_TIMEOUT
        while not self.db_running():
            if time.monotonic() > deadline:
                raise StackError(
                    f"the database of stack {self.name} does not run on this node: run this on "
                    f"the node labelled {self.name}.db (docker service ps {self.name}_db)"
                )
            time.sleep(1)
        while self.db("pg_isready -q", capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise StackError(f"the database of stack {self.name} does not accept connections")
            time.sleep(1)

    def _scale(self, counts: dict[str, int]) -> None:
        if counts:
            args = [f"{self.name}_{which}={count}" for which, count in counts.items()]
            docker.output("service", "scale", "--detach=false", *args,
                          timeout=swarm.ROLLOUT_TIMEOUT)  # fmt: skip

    def stop_writers(self) -> None:
        # Those that write what a backup holds (compose/services.json): scaled to 0.
        for which in services.named("swarm", restore="stops"):
            count = swarm.replicas(self.name, which)
            if count:
                self.replicas[which] = count
        self._scale({which: 0 for which in self.replicas})

    def start(self) -> None:
        self._scale(self.replicas)


def find(deployment: Deployment) -> Target:
    """Where the deployment runs: compose, unless its database runs as a swarm service."""
    here = Compose(deployment)
    if here.db_running():
        return here
    if swarm.service(deployment.name, "db"):
        return Swarm(deployment.name)
    return here
