"""The stack's services and their roles, as compose/services.json says (rendered with the
compose files from one description: the template's compose/services.jinja). The tool names
no service by its job: it asks here which services serve, work, keep the data or run during
a restore.

Each service: role (web, worker, database, cache, proxy, frontend, mail, job), targets
(compose, swarm; dev: development mode only), profile (the compose profile that switches it
on, or None), data (keeps the deployment's data), restore ("keeps running" or "stops"),
release (runs the release image on Swarm), secrets (the .env's sensitive keys it reads on
Swarm; "*": all), generated (secrets of its own the stack generates in .env: key and length),
volumes (the named volumes it owns).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

FILE = Path(__file__).resolve().parent.parent / "compose" / "services.json"


@functools.cache
def described(file: Path = FILE) -> dict[str, dict]:
    """Every service and its facts, in the compose file's order; {} where there is no
    description (the template's source, before copier renders it)."""
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def named(target: str | None = None, **facts) -> list[str]:
    """The services on `target` (compose, swarm; None: either) whose facts are those given,
    e.g. named("swarm", release=True); a fact given as a tuple is one of its choices."""

    def fits(service: dict, fact: str, wanted) -> bool:
        return (
            service.get(fact) in wanted
            if isinstance(wanted, tuple)
            else service.get(fact) == wanted
        )

    return [
        name
        for name, service in described().items()
        if (target is None or target in service["targets"])
        and all(fits(service, fact, wanted) for fact, wanted in facts.items())
    ]


def secrets_of(name: str, sensitive: list[str]) -> list[str]:
    """The keys of `sensitive` (the .env's secrets) that service `name` reads."""
    wanted = described().get(name, {}).get("secrets", [])
    return list(sensitive) if "*" in wanted else [key for key in sensitive if key in wanted]


def generated() -> dict[str, int]:
    """The secrets the services' own: key and length, for .env."""
    return {k: n for service in described().values() for k, n in service["generated"].items()}
