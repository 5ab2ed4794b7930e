"""compose/services.json, which the tool reads, and the compose files say the same: they are
rendered from one description (the template's compose/services.jinja); a hand edit of one
shows here."""

import re
import unittest
from pathlib import Path

from stacktool import answers, services

STACK = Path(__file__).resolve().parent.parent


def listed(file: str, section: str = "services") -> dict[str, str]:
    """The entries of a top-level section of a compose file, each with its text."""
    text = (STACK / "compose" / file).read_text(encoding="utf-8")
    body = re.search(rf"^{section}:\n(.*?)(?=^\S|\Z)", text, re.M | re.S).group(1)
    parts = re.split(r"^  ([\w-]+):.*\n", body, flags=re.M)[1:]
    return dict(zip(parts[::2], parts[1::2]))


class ServicesTest(unittest.TestCase):
    def test_the_single_server_file_runs_the_services_described_for_compose(self):
        compose = listed("docker-compose.app.yml")
        self.assertEqual(list(compose), services.named("compose"))
        for name, text in compose.items():
            profile = services.described()[name]["profile"]
            self.assertEqual(re.findall(r"^    profiles: \[(\w+)\]$", text, re.M),
                             [profile] if profile else [], name)  # fmt: skip

    def test_the_swarm_file_runs_those_described_for_swarm_with_their_profile_on(self):
        celery = bool(answers.read_answers(STACK).get("use_celery"))
        on = (None, "celery") if celery else (None,)
        self.assertEqual(list(listed("docker-stack.yml")), services.named("swarm", profile=on))

    def test_dev_mode_changes_services_of_the_single_server_file_and_adds_its_own(self):
        dev = set(listed("docker-compose.dev.yml"))
        self.assertLessEqual(dev, set(services.named("compose")) | set(services.named("dev")))
        self.assertLessEqual(set(services.named("dev")), dev)

    def test_each_file_declares_the_volumes_its_services_own(self):
        for file, target in (("docker-compose.app.yml", "compose"), ("docker-stack.yml", "swarm")):
            owned = [
                volume
                for name in services.named(target)
                for volume in services.described()[name].get("volumes", [])
            ]
            self.assertEqual(sorted(listed(file, "volumes")), sorted(owned), file)

    def test_every_role_is_one_the_tool_knows(self):
        roles = {"web", "worker", "database", "cache", "proxy", "frontend", "mail", "job"}
        for name, facts in services.described().items():
            self.assertIn(facts["role"], roles, name)
            self.assertIn(facts["restore"], {"keeps running", "stops"}, name)
