"""Update bots: Dependabot (GitHub) and Renovate (GitLab) in both repos, weekly and grouped,
knowing the split: the stack proposes the base packages, images and CI; the app only its own
package files. Validated against the bots' published schemas (check-jsonschema's copies)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from helpers import MATRIX, run, tool

GITHUB, GITLAB = MATRIX["default"], MATRIX["gitlab-domain"]


def tracked(repo: Path) -> list[str]:
    return run("git", "ls-files", cwd=repo).stdout.split()


def patterns_match(config: dict, manager: str, files: list[str]) -> list[str]:
    regexes = [p.strip("/") for p in config[manager]["managerFilePatterns"]]
    return sorted(f for f in files if any(re.search(r, f) for r in regexes))


def test_dependabot_configs_match_the_schema_and_split_the_packages(generate):
    pair = generate(**GITHUB)
    files = [pair.stack / ".github/dependabot.yml", pair.app / ".github/dependabot.yml"]
    run(tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", *files)
    stack, app = (yaml.safe_load(f.read_text())["updates"] for f in files)
    for update in stack + app:
        assert update["schedule"]["interval"] == "weekly"
        assert list(update["groups"].values()) == [{"patterns": ["*"]}]
    assert {u["package-ecosystem"] for u in stack} == {
        "pip",
        "npm",
        "docker-compose",
        "github-actions",
    }
    # The app: only its own Python packages (the base requirements are git-ignored links
    # there, so the bot sees requirements-app.txt alone) and its CI actions.
    assert {u["package-ecosystem"] for u in app} == {"pip", "github-actions"}
    backend = [f for f in tracked(pair.app) if f.startswith("backend/requirements")]
    assert backend == ["backend/requirements-app.lock", "backend/requirements-app.txt"]
    assert not (pair.app / "renovate.json").exists()


def test_renovate_configs_match_the_schema_and_split_the_packages(generate):
    pair = generate(**GITLAB)
    files = [pair.stack / "renovate.json", pair.app / "renovate.json"]
    run(tool("check-jsonschema"), "--builtin-schema", "vendor.renovate", *files)
    stack, app = (json.loads(f.read_text()) for f in files)
    for config in (stack, app):
        assert config["schedule"] == ["* 0-5 * * 1"]  # weekly: Monday early morning
        # Each group is named once; a rule without a name only sets a policy (pinDigests).
        groups = [rule["groupName"] for rule in config["packageRules"] if "groupName" in rule]
        assert len(set(groups)) == len(groups)
        assert all("groupName" in rule or "pinDigests" in rule for rule in config["packageRules"])
    assert patterns_match(stack, "pip_requirements", tracked(pair.stack)) == [
        "backend/requirements-dev.txt",
        "backend/requirements.txt",
    ]
    assert app["enabledManagers"] == ["pip_requirements", "npm", "gitlabci"]
    assert patterns_match(app, "pip_requirements", tracked(pair.app)) == [
        "backend/requirements-app.txt"
    ]
    assert patterns_match(app, "npm", tracked(pair.app)) == ["frontend/package-app.json"]
    assert not (pair.app / ".github").exists()


def test_the_schema_check_catches_a_wrong_bot_config(tmp_path):
    """The schemas are strict enough to matter: a misspelled manager, a made-up interval."""
    renovate = tmp_path / "renovate.json"
    renovate.write_text(json.dumps({"enabledManagers": ["pip-requirements"]}))
    found = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.renovate", renovate, check=False
    )
    assert found.returncode == 1 and "'pip-requirements' is not one of" in found.stdout
    dependabot = tmp_path / "dependabot.yml"
    update = {"package-ecosystem": "pip", "directory": "/", "schedule": {"interval": "fortnightly"}}
    dependabot.write_text(yaml.safe_dump({"version": 2, "updates": [update]}))
    found = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", dependabot, check=False
    )
    assert found.returncode == 1 and "'fortnightly' is not one of" in found.stdout
