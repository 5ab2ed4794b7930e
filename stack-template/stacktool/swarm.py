"""`./stack swarm ...`: the app on Docker Swarm, from the release images of ./stack release.

deploy: the stack's compose/docker-stack.yml as the stack <deployment> (the compose project's
name), its secrets as Docker secrets; migrations run once, as a one-off job with the new
backend image, before `docker stack deploy` rolls the services over to the release (start
first, health-checked, rolled back by swarm when a new task fails). scale: the backend's
replicas. rollback: the release deployed before the one that serves (the tool keeps the list
in $DATA_ROOT/<deployment>/swarm-releases). status: what runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path

from . import docker, dotenv, release
from .deployment import Deployment
from .errors import StackError
from .services import described, named, secrets_of

STACK_FILE = "compose/docker-stack.yml"
DONE = {"completed", "rollback_completed", "paused", "rollback_paused"}
ROLLOUT_TIMEOUT = 900  # seconds
MIGRATE_TIMEOUT = 600
LOGS_TIMEOUT = 30  # `docker service logs` can hang for good (docker/cli#4678)
NAMESPACE = "com.docker.stack.namespace"  # the label docker stack deploy gives what it makes


def check_swarm() -> None:
    docker.check()
    swarm = docker.json_lines("info")[0].get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        raise StackError(
            "this Docker engine is not a swarm manager: make it one (docker swarm init), or run "
            "this on a manager node of your swarm"
        )


def service(name: str, which: str) -> dict:
    """`docker service inspect` of the stack's service ({} when there is none)."""
    found = docker.output("service", "inspect", f"{name}_{which}", check=False)
    return json.loads(found)[0] if found.strip() and found.strip() != "[]" else {}


def replicas(name: str, which: str) -> int | None:
    spec = service(name, which).get("Spec", {})
    return spec.get("Mode", {}).get("Replicated", {}).get("Replicas")


def running_tasks(name: str, which: str) -> int:
    tasks = docker.json_lines(
        "service", "ps", f"{name}_{which}", "--filter", "desired-state=running", check=False
    )
    return sum(task["CurrentState"].startswith("Running") for task in tasks)


# ---- Secrets, settings and the node of the database ----------------------------------------


def secrets(name: str, env: dict[str, str]) -> dict[str, str]:
    """A Docker secret for each secret of .env, named after its value's digest (secrets cannot
    change: a new value is a new secret); returns key -> secret name."""
    existing = {secret["Name"] for secret in docker.json_lines("secret", "ls")}
    names = {}
    for key, value in env.items():
        if not dotenv.is_sensitive(key) or not value:
            continue
        digest = hashlib.sha256(value.encode()).hexdigest()[:12]
        names[key] = f"{name}_{key.lower()}_{digest}"
        if names[key] not in existing:
            docker.output("secret", "create", names[key], "-", stdin=value)
    return names


def prune_secrets(name: str, names: dict[str, str]) -> list[str]:
    """Removes the secrets of earlier values of .env's secret keys (rotated since) that no
    service of the stack uses, neither in its spec nor in the one swarm would roll back to;
    returns their names."""
    if not names:
        return []
    used = set(names.values())
    ids = [
        s["ID"] for s in docker.json_lines("service", "ls", "--filter", f"label={NAMESPACE}={name}")
    ]
    for spec in json.loads(docker.output("service", "inspect", *ids)) if ids else []:
        for which in ("Spec", "PreviousSpec"):
            container = ((spec.get(which) or {}).get("TaskTemplate") or {}).get("ContainerSpec")
            used |= {given["SecretName"] for given in (container or {}).get("Secrets") or []}
    keys = "|".join(re.escape(key.lower()) for key in names)
    earlier = re.compile(re.escape(name) + "_(?:" + keys + ")_[0-9a-f]{12}")
    gone = []
    for secret in docker.json_lines("secret", "ls"):
        if earlier.fullmatch(secret["Name"]) and secret["Name"] not in used:
            try:
                docker.output("secret", "rm", secret["Name"])
            except StackError:  # in use after all (docker refuses): it stays
                continue
            gone.append(secret["Name"])
    return gone


def override(secret_names: dict[str, str], celery: bool) -> dict:
    """The compose override giving the services their secrets as files and <KEY>_FILE."""

    def given(keys: list[str]) -> dict:
        return {
            "secrets": [{"source": key.lower(), "target": key.lower()} for key in keys],
            "environment": {f"{key}_FILE": f"/run/secrets/{key.lower()}" for key in keys},
        }

    keys = sorted(secret_names)
    switched_on = (None, "celery") if celery else (None,)
    services = {
        which: given(secrets_of(which, keys))
        for which in named("swarm", profile=switched_on)
        if described()[which]["secrets"]
    }
    return {
        "services": services,
        "secrets": {
            key.lower(): {"external": True, "name": secret} for key, secret in secret_names.items()
        },
    }


def label_db_node(name: str) -> list[str]:
    """The node the database lives on carries the label <name>.db=true; a swarm of one node
    gets it here, a bigger one must be told which node keeps the volume."""
    label = f"{name}.db"
    nodes = [node["ID"] for node in docker.json_lines("node", "ls")]
    for node in nodes:
        labels = json.loads(docker.output("node", "inspect", node))[0]["Spec"].get("Labels") or {}
        if labels.get(label) == "true":
            return []
    if len(nodes) != 1:
        raise StackError(
            f"no node is labelled {label}=true: label the one whose disk keeps the database: "
            f"docker node update --label-add {label}=true NODE"
        )
    docker.output("node", "update", "--label-add", f"{label}=true", nodes[0])
    return [f"Labelled this node {label}=true: the database lives here"]


# ---- Deploy ---------------------------------------------------------------------------------


class Run:
    """One `./stack swarm` job for the app's deployment: its names, settings and files."""

    def __init__(self, deployment: Deployment, folder: Path) -> None:
        self.deployment = deployment
        self.env = deployment.env
        self.name = deployment.name
        self.registry = release.registry(self.env)
        self.env_file = folder / "swarm.env"
        descriptor = os.open(self.env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            for key, value in self.env.items():
                if not dotenv.is_sensitive(key) and not key.startswith("COMPOSE_"):
                    file.write(f"{key}={value}\n")
        self.override = folder / "secrets.json"

    def variables(self, tag: str, backends: int) -> dict[str, str]:
        """What docker stack deploy fills into the stack file."""
        return {
            **os.environ,
            **{k: v for k, v in self.env.items() if not dotenv.is_sensitive(k)},
            "STACK_NAME": self.name,
            **{
                f"{service.upper()}_IMAGE": image
                for service, image in release.image_names(
                    self.deployment, self.registry, tag
                ).items()
            },
            "BACKEND_REPLICAS": str(backends),
            "SWARM_ENV_FILE": str(self.env_file),
        }

    def stack_deploy(self, tag: str, backends: int) -> None:
        command = (
            "stack", "deploy", "--with-registry-auth", "--detach=true",
            "--compose-file", str(self.deployment.stack / STACK_FILE),
            "--compose-file", str(self.override), self.name,
        )  # fmt: skip
        result = docker.call(*command, env=self.variables(tag, backends))
        if result.returncode != 0:
            raise StackError(f"docker stack deploy failed: {result.stderr.strip()[-1500:]}")

    def migrate(self, image: str, secret_names: dict[str, str]) -> float:
        """Migrations (and collectstatic), once, as a swarm job with the new image."""
        start = time.monotonic()
        job = f"{self.name}_migrate"
        docker.output("service", "rm", job, check=False)
        command = [
            "service", "create", "--detach", "--name", job, "--mode", "replicated-job",
            "--restart-condition", "none", "--with-registry-auth",
            "--network", f"{self.name}_default", "--env-file", str(self.env_file),
            "--env", "DB_WAIT_TIMEOUT=300", "--env", "DJANGO_LOG_DIR=/srv/logs",
            "--mount", f"type=bind,source={self.deployment.logs},target=/srv/logs",
            "--label", f"{NAMESPACE}={self.name}",
            # Least privilege, as the stack's backend service (compose/docker-stack.yml).
            "--cap-drop", "ALL", "--read-only", "--mount", "type=tmpfs,target=/tmp",
            "--limit-pids", "256",
            # The image's health check asks gunicorn, which a job does not run: the swarm would
            # kill the migrations as unhealthy once its start period is over.
            "--no-healthcheck",
        ]  # fmt: skip
        for key, secret in secret_names.items():
            command += ["--secret", f"source={secret},target={key.lower()}"]
            command += ["--env", f"{key}_FILE=/run/secrets/{key.lower()}"]
        docker.output(*command, image, "migrate")
        deadline = time.monotonic() + MIGRATE_TIMEOUT
        state = error = ""
        while time.monotonic() < deadline:
            tasks = docker.json_lines("service", "ps", "--no-trunc", job, check=False)
            state = tasks[0]["CurrentState"] if tasks else ""
            error = tasks[0].get("Error", "") if tasks else ""
            if state.startswith(("Complete", "Failed", "Rejected")):
                break
            time.sleep(1)
        if not state.startswith("Complete"):
            logs = service_logs(job)
            docker.output("service", "rm", job, check=False)
            why = f"{state.strip() or 'timed out'}{': ' + error.strip() if error.strip() else ''}"
            raise StackError(
                f"the migrations of {image} did not complete ({why}); "
                f"nothing was rolled out. Their output:\n{logs[-3000:]}"
            )
        docker.output("service", "rm", job, check=False)
        return time.monotonic() - start


def service_logs(service: str) -> str:
    """The output of a service's tasks, or why there is none: `docker service logs` at times
    never returns (docker/cli#4678), so it gets LOGS_TIMEOUT seconds."""
    try:
        return docker.output("service", "logs", "--raw", service, check=False, timeout=LOGS_TIMEOUT)
    except StackError:
        return (
            f"(docker service logs {service} did not answer within {LOGS_TIMEOUT} s; "
            f"docker service ps --no-trunc {service} shows each task's state)"
        )


def _update_state(spec: dict) -> tuple[str, str]:
    status = spec.get("UpdateStatus") or {}
    return status.get("State", ""), status.get("StartedAt", "")


def wait_for_rollout(name: str, before: dict[str, tuple[str, str]]) -> dict[str, tuple]:
    """Until every service that changed is rolled out (or back); returns, for each, its
    final update state and seconds."""
    start = time.monotonic()
    pending = set(before)
    outcome: dict[str, tuple] = {}
    while pending and time.monotonic() - start < ROLLOUT_TIMEOUT:
        for which in sorted(pending):
            found = service(name, which)
            if not found:
                pending.discard(which)
                continue
            state, started = _update_state(found)
            wanted = replicas(name, which)
            if started and started != before[which][1]:  # an update of this deploy
                if state in DONE:
                    outcome[which] = (state, time.monotonic() - start)
                    pending.discard(which)
            elif (
                wanted is not None
                and running_tasks(name, which) >= wanted
                # unchanged (no update began within 3 s), or new in this deploy
                and (time.monotonic() - start > 3 or not before[which][1])
            ):
                outcome[which] = ("running", time.monotonic() - start)
                pending.discard(which)
        time.sleep(1)
    if pending:
        raise StackError(
            f"{', '.join(sorted(pending))} not rolled out after {ROLLOUT_TIMEOUT}s: see "
            f"docker service ps {name}_{sorted(pending)[0]} --no-trunc"
        )
    return outcome


HISTORY = "swarm-releases"  # in $DATA_ROOT/<deployment>: the releases deployed, oldest first


def history(deployment: Deployment) -> Path:
    return deployment.media.parent / HISTORY


def deployed(deployment: Deployment) -> list[str]:
    """The releases deployed, oldest first; the last one serves."""
    path = history(deployment)
    return path.read_text().split() if path.is_file() else []


def deploy(
    deployment: Deployment,
    tag: str | None = None,
    backends: int | None = None,
    record: bool = True,
) -> list[str]:
    """Migrate, then roll the stack over to the release `tag` (default: the app's HEAD's)."""
    check_swarm()
    stack, app = deployment.stack, deployment.app
    said = deployment.create_data_folders()
    with tempfile.TemporaryDirectory(prefix="stack-swarm-") as tmp:
        job = Run(deployment, Path(tmp))
        tag = tag or release.tag(deployment.version, release.commit_of(app))
        image = release.image_names(deployment, job.registry, tag)["backend"]
        if docker.output("pull", "--quiet", image, check=False, timeout=ROLLOUT_TIMEOUT) == "":
            raise StackError(
                f"no release {tag} in {job.registry} ({image}): build and push it first: "
                f"{stack / 'stack'} release --app {app}"
            )
        said += label_db_node(job.name)
        names = secrets(job.name, job.env)
        celery = bool(deployment.answers.get("use_celery"))
        job.override.write_text(json.dumps(override(names, celery), indent=2))
        current = replicas(job.name, "backend")
        backends = backends if backends is not None else current if current is not None else 2
        start = time.monotonic()
        if not service(job.name, "db"):  # the first deploy: the database, then migrations
            print(f"First deploy of {job.name}: the database first", flush=True)
            job.stack_deploy(tag, 0)
        print(f"Migrating with {image}", flush=True)
        seconds = job.migrate(image, names)
        said.append(f"Migrated in {seconds:.1f} s")
        services = named("swarm")
        before = {which: _update_state(service(job.name, which)) for which in services}
        print(f"Rolling out release {tag}", flush=True)
        job.stack_deploy(tag, backends)
        outcome = wait_for_rollout(job.name, before)
    failed = [which for which, (state, _) in outcome.items() if state.startswith("rollback")]
    for which, (state, seconds) in sorted(outcome.items()):
        if state == "completed" and which in named("swarm", role=("web", "frontend")):
            count = replicas(job.name, which) or 1
            said.append(
                f"{which}: rolled out to {count} replicas in {seconds:.1f} s "
                f"({seconds / count:.1f} s per replica)"
            )
    if failed:
        # The rest of the release goes back too: one release serves, not half of two.
        for which, (state, _) in sorted(outcome.items()):
            # The services that run the app's release: a failed release takes all of them back.
            if which in named("swarm", release=True) and state == "completed":
                docker.output(
                    "service", "rollback", "--detach=false", "--quiet", f"{job.name}_{which}",
                    timeout=ROLLOUT_TIMEOUT,
                )  # fmt: skip
                print(f"{which}: rolled back too", flush=True)
        raise StackError(
            f"release {tag} failed on {', '.join(failed)} (a new task did not pass its health "
            "check): swarm rolled it back, the previous release serves. See docker service "
            f"logs {job.name}_{failed[0]}"
        )
    said.append(f"Deployed release {tag} as stack {job.name} in {time.monotonic() - start:.1f} s")
    gone = prune_secrets(job.name, names)
    if gone:
        said.append(f"Removed the secrets of values rotated since: {', '.join(gone)}")
    releases = deployed(deployment)
    if record and releases[-1:] != [tag]:
        history(deployment).write_text("\n".join([*releases, tag][-20:]) + "\n")
    return said


def scale(deployment: Deployment, count: int) -> list[str]:
    check_swarm()
    name = deployment.name
    if count < 1:
        raise StackError(f"scale the backend to {count}? Give at least 1 replica")
    if not service(name, "backend"):
        raise StackError(f"no stack {name} on this swarm: deploy it first (./stack swarm deploy)")
    start = time.monotonic()
    docker.output("service", "scale", "--detach", f"{name}_backend={count}")
    deadline = start + ROLLOUT_TIMEOUT
    while running_tasks(name, "backend") != count and time.monotonic() < deadline:
        time.sleep(0.5)
    seconds = time.monotonic() - start
    return [f"backend: {running_tasks(name, 'backend')} replicas running after {seconds:.1f} s"]


def rollback(deployment: Deployment) -> list[str]:
    """Back to the release deployed before the one that serves: deployed again the same way
    (start first, health-checked; its migrate finds nothing to do, as the database keeps the
    newer migrations)."""
    releases = deployed(deployment)
    if len(releases) < 2:
        raise StackError(
            f"no earlier release to go back to (deployed: {', '.join(releases) or 'none'}); "
            "deploy one by its tag: ./stack swarm deploy --release TAG"
        )
    said = deploy(deployment, releases[-2], record=False)
    history(deployment).write_text("\n".join(releases[:-1]) + "\n")
    return [*said, f"Rolled back from {releases[-1]} to {releases[-2]}"]


def status(deployment: Deployment) -> list[str]:
    name = deployment.name
    found = docker.json_lines("stack", "services", name, check=False)
    lines = [f"{s['Name']}  {s['Replicas']}  {s['Image']}" for s in found]
    return lines or [f"no stack {name} on this swarm"]
