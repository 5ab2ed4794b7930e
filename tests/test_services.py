"""Each service is described once, in stack-template/compose/services.jinja: the single-server
compose file, dev mode, the Swarm file and compose/services.json (the roles the stack tool
reads) are rendered from it, for every answer that changes them."""

from __future__ import annotations

import ast
import json
import re

import pytest
import yaml
from helpers import ROOT, rows_choosing, run

VARIANTS = rows_choosing("use_celery", "postgres_version")
COMPOSE = ROOT / "stack-template/compose"


def test_no_compose_file_defines_a_service_of_its_own():
    """They hold what all services share (logging, hardening); every service is the
    description's."""
    targets = {
        "docker-compose.app.yml.jinja": "compose",
        "docker-compose.dev.yml.jinja": "dev",
        "docker-stack.yml.jinja": "swarm",
    }
    assert sorted(path.name for path in COMPOSE.glob("docker-*")) == sorted(targets)
    for name, target in targets.items():
        text = (COMPOSE / name).read_text() + "\n#"
        services = re.search(r"^services:\n(.*?)^[a-z#]", text, re.M | re.S).group(1)
        assert services.strip() == f"{{{{ services.each('{target}') }}}}", name


@pytest.mark.parametrize("answers", list(VARIANTS.values()), ids=list(VARIANTS))
def test_the_compose_files_and_the_tools_roles_agree(generate, answers):
    stack = generate(**answers).stack
    # The stack's own check of its files (stack-template/tests/test_services.py).
    result = run("python3", "-m", "unittest", "-v", "tests.test_services", cwd=stack)
    assert result.stderr.rstrip().endswith("OK"), result.stderr
    assert not (stack / "compose/services").exists()  # the description stays in the template
    facts = json.loads((stack / "compose/services.json").read_text())
    files = {
        "compose": yaml.safe_load((stack / "compose/docker-compose.app.yml").read_text()),
        "swarm": yaml.safe_load((stack / "compose/docker-stack.yml").read_text()),
    }
    for name, service in facts.items():
        for target in set(service["targets"]) & set(files):
            written = files[target]["services"].get(name)
            if written is None:  # on Swarm, a service of a profile this stack has off
                assert (
                    target == "swarm" and service["profile"] and answers.get("use_celery") != "true"
                )
                continue
            mounts = [str(m).split(":")[0] for m in written.get("volumes", [])]
            if service["data"]:  # its data lives in a named volume, which a backup saves
                assert set(mounts) & set(files[target]["volumes"]), (name, target)
            if service["profile"] and target == "compose":
                assert written["profiles"] == [service["profile"]], name


def test_the_stack_tool_keeps_no_list_of_service_names():
    """It asks compose/services.json (stacktool/services.py) which services serve, work, hold
    the data or keep running. Left: the images each command builds."""
    names = {"backend", "worker", "beat", "db", "redis", "caddy", "frontend", "web", "migrate"}
    found = []
    for path in sorted((ROOT / "stack-template/stacktool").glob("*.py")):
        tree = ast.parse(path.read_text())
        roles = {  # role=("web", "frontend"): roles, some named as a service is
            id(keyword.value)
            for call in ast.walk(tree)
            if isinstance(call, ast.Call)
            for keyword in call.keywords
            if keyword.arg == "role"
        }
        for node in ast.walk(tree):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and id(node) not in roles:
                strings = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if len(strings & names) >= 2:
                    found.append((path.name, node.lineno, tuple(sorted(strings & names))))
    images = {  # which images the stack builds, which the release builds, which get the app's uid
        ("images.py", ("backend", "caddy")),
        ("images.py", ("backend", "caddy", "frontend")),
        ("release.py", ("backend", "caddy", "web")),
    }
    assert {(name, listed) for name, _, listed in found} <= images, found
