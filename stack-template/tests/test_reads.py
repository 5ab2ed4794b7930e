"""One command reads each file of facts once at most: the app's .env, the stack's answers and
its compose file (the slug and the version), counted while it runs against a fake `docker`
on PATH. STACK_SHOW_READS=1 prints the counts."""

import collections
import io
import json
import os
import shlex
import shutil
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

from stacktool import cli

from .fixtures import write_compose

STACK = Path(__file__).resolve().parent.parent

# Answers `docker` as a running compose site does, for what a deploy asks.
FAKE_DOCKER = r"""
import json, sys
from pathlib import Path

args = sys.argv[1:]
state = Path(__file__).with_name("workers-asked")
if args[:1] == ["info"]:
    print(json.dumps({"Swarm": {"LocalNodeState": "active", "ControlAvailable": True}}))
elif args[:1] == ["pull"]:
    print(args[-1])
elif args[:2] == ["node", "ls"]:
    print(json.dumps({"ID": "n1"}))
elif args[:2] == ["node", "inspect"]:
    print(json.dumps([{"Spec": {"Labels": {"shop.db": "true"}}}]))
elif args[:2] == ["service", "inspect"]:
    print("[]")
elif args[:2] == ["service", "ps"]:  # the migrate job
    print(json.dumps({"CurrentState": "Complete 1 second ago"}))
elif args[:1] == ["inspect"]:
    print(json.dumps([{"Config": {"Healthcheck": {"Test": ["CMD", "true"]}}}]))
elif "pg_dump" in args[-1]:
    print("dump")
elif "--services" in args:
    print("backend\ncaddy\ndb")
elif "--quiet" in args:
    print("c1")
elif "build.sh" in args and "build" in args:
    print("bundle-1")
elif "-c" in args and "/proc" in args[-1]:  # gunicorn's workers: new ones after the first ask
    print("10" if not state.exists() else "20")
    state.touch()
"""


class ReadsTest(unittest.TestCase):
    def setUp(self):
        root = Path(tempfile.mkdtemp(prefix="reads test "))
        self.stack, self.app = root / "stack", root / "app"
        write_compose(self.stack, "shop", "1.2.0")
        (self.stack / ".copier-answers.yml").write_text(json.dumps({"project_slug": "shop"}))
        # A deploy reads the app's commit with the backend's releases.py, as the backend does.
        (self.stack / "backend").mkdir()
        shutil.copy(STACK / "backend/releases.py", self.stack / "backend")
        for folder in ("backend", "frontend"):
            (self.app / folder).mkdir(parents=True)
        (self.app / ".env.example").write_text("DOMAIN=localhost\n")
        env = f"DOMAIN=localhost\nDATA_ROOT={root / 'data'}\nRELEASE_REGISTRY=localhost:5000\n"
        (self.app / ".env").write_text(env)
        (self.app / "docker-compose.app.yml").write_text("services: {}\n")
        bin_dir = root / "bin"
        bin_dir.mkdir()
        (bin_dir / "fake_docker.py").write_text(FAKE_DOCKER)
        docker = bin_dir / "docker"
        python = shlex.quote(sys.executable)  # through sh: a #! line ends at a space
        script = shlex.quote(str(bin_dir / "fake_docker.py"))
        docker.write_text(f'#!/bin/sh\nexec {python} {script} "$@"\n')
        docker.chmod(0o755)
        path = mock.patch.dict(os.environ, {"PATH": f"{bin_dir}:{os.environ['PATH']}"})
        path.start()
        self.addCleanup(path.stop)

    def reads(self, *argv):
        """The exit code, and how many times each file was read, by name."""
        counted = collections.Counter()
        read_text, read_bytes = Path.read_text, Path.read_bytes

        def counting(read):
            def wrapper(path, *args, **kwargs):
                counted[path.name] += 1
                return read(path, *args, **kwargs)

            return wrapper

        errors = io.StringIO()
        with mock.patch.object(Path, "read_text", counting(read_text)), \
                mock.patch.object(Path, "read_bytes", counting(read_bytes)), \
                redirect_stdout(io.StringIO()), redirect_stderr(errors):  # fmt: skip
            code = cli.main([str(a) for a in argv], stack=self.stack)
        self.assertEqual(code, 0, errors.getvalue())
        return counted

    def assert_read_at_most_once(self, command: str, counted: collections.Counter) -> None:
        """.env, the answers and the compose file (slug, version): once each at most
        (STACK_SHOW_READS=1 prints the counts)."""
        if os.environ.get("STACK_SHOW_READS"):
            print(f"\nreads of one ./stack {command}: {dict(counted)}", file=sys.stderr)
        for name in (".env", ".copier-answers.yml", "docker-compose.app.yml"):
            self.assertLessEqual(counted[name], 1, counted)

    def test_a_deploy_reads_the_apps_env_and_the_answers_at_most_once(self):
        self.assert_read_at_most_once("deploy", self.reads("deploy", "--app", self.app))

    def test_a_swarm_deploy_reads_the_apps_env_and_the_answers_once(self):
        with mock.patch.object(os, "chown"):
            counted = self.reads("swarm", "deploy", "--app", self.app, "--release", "r1")
        self.assert_read_at_most_once("swarm deploy", counted)

    def test_a_backup_reads_the_apps_env_once(self):
        self.assert_read_at_most_once("backup", self.reads("backup", "--app", self.app))
