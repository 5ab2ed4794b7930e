import io
import json
import subprocess
import tempfile
import unittest
from contextlib import redirect_stderr
from pathlib import Path
from unittest import mock

from stacktool import cli, deploy, targets
from stacktool.deployment import Deployment
from stacktool.errors import StackError


def compose_answering(running: str):
    """subprocess.run as if `docker compose ps` listed these running services."""

    def fake(command, **kwargs):
        return subprocess.CompletedProcess(command, 0, stdout=running, stderr="")

    return fake


class DeployTest(unittest.TestCase):
    def setUp(self):
        root = Path(tempfile.mkdtemp())
        self.stack, self.app = root / "stack", root / "app"
        self.stack.mkdir()
        self.app.mkdir()

    def test_without_a_linked_app_it_says_how_to_name_one(self):
        errors = io.StringIO()
        with redirect_stderr(errors):
            self.assertEqual(cli.main(["deploy"], stack=self.stack), 1)
        self.assertRegex(errors.getvalue(), r"no app linked to this stack: name it with --app PATH")

    def test_an_app_without_the_compose_link_is_to_be_linked_first(self):
        with self.assertRaisesRegex(StackError, r"link the app first \(./install.sh --app"):
            deploy.deploy(Deployment(self.stack, self.app))

    def test_a_site_that_does_not_run_is_started_first(self):
        (self.app / deploy.COMPOSE_FILE).write_text("services: {}\n")
        running = mock.patch.object(subprocess, "run", compose_answering("db\nbackend\n"))
        with running, self.assertRaisesRegex(StackError, r"not running: caddy\. .*make up"):
            deploy.deploy(Deployment(self.stack, self.app))

    def test_a_failing_step_says_the_old_release_still_serves(self):
        def fail(command, **kwargs):
            return subprocess.CompletedProcess(command, 1, stdout="", stderr="no such service")

        failing = mock.patch.object(subprocess, "run", fail)
        site = targets.Compose(Deployment(self.stack, self.app))
        said = self.assertRaisesRegex(StackError, r"(?s)no such service.*previous release")
        with failing, said, deploy.serving_as_before():
            site.exec("backend", "true")

    def test_the_backend_is_checked_with_its_images_health_check(self):
        def docker(command, **kwargs):
            if command[:2] == ["docker", "inspect"]:
                config = {"Healthcheck": {"Test": self.test}} if self.test else {}
                stdout = json.dumps([{"Config": config}]) if command[2:] == ["c1"] else "[]"
                return subprocess.CompletedProcess(command, 0, stdout=stdout, stderr="")
            return subprocess.CompletedProcess(command, 0, stdout="c1\n", stderr="")

        site = targets.Compose(Deployment(self.stack, self.app))
        with mock.patch.object(subprocess, "run", docker):
            self.test = ["CMD", "python", "-c", "print(1)"]
            self.assertEqual(site.health_check("backend"), ["python", "-c", "print(1)"])
            self.test = ["CMD-SHELL", "test -f /x"]
            self.assertEqual(site.health_check("backend"), ["/bin/sh", "-c", "test -f /x"])
            self.test = None
            with self.assertRaisesRegex(StackError, r"runs no health check: build its image"):
                site.health_check("backend")
