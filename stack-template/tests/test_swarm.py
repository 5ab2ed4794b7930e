import json
import os
import shlex
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from stacktool import docker, images, release, swarm
from stacktool.deployment import Deployment
from stacktool.errors import StackError

STACK = Path(__file__).resolve().parent.parent


class RegistryTest(unittest.TestCase):
    def test_the_option_wins_over_the_env_and_a_trailing_slash_goes(self):
        env = {"RELEASE_REGISTRY": "registry.example.com/team"}
        self.assertEqual(release.registry(env), "registry.example.com/team")
        self.assertEqual(release.registry(env, "localhost:5000/"), "localhost:5000")

    def test_none_or_a_url_is_refused_naming_the_fix(self):
        with self.assertRaisesRegex(StackError, "set RELEASE_REGISTRY in the app's .env"):
            release.registry({"RELEASE_REGISTRY": ""})
        with self.assertRaisesRegex(StackError, "without https://"):
            release.registry({"RELEASE_REGISTRY": "https://registry.example.com"})
        with self.assertRaisesRegex(StackError, "lower case"):
            release.registry({"RELEASE_REGISTRY": "Registry.example.com"})


class TagTest(unittest.TestCase):
    def test_a_release_is_named_by_the_app_commit_and_the_stack_version(self):
        version = "v1.2.0+3.g1a2b"
        self.assertEqual(release.tag(version, "0123456789abcdef"), "0123456789ab-v1.2.0-3.g1a2b")
        self.assertEqual(release.stack_tag(version), "v1.2.0-3.g1a2b")


class ExportTest(unittest.TestCase):
    def setUp(self):
        self.root = Path(tempfile.mkdtemp())
        self.app = self.root / "app"
        (self.app / "backend").mkdir(parents=True)
        (self.app / "backend/views.py").write_text("committed\n")

        def git(*args):
            subprocess.run(["git", *args], cwd=self.app, check=True, capture_output=True)

        git("init", "-q")
        git("add", "--all")
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
        self.commit = release.commit_of(self.app)

    def test_the_export_is_the_commit_with_the_links_as_copies_of_the_stack_files(self):
        (self.app / "backend/views.py").write_text("not committed\n")
        (self.app / "backend/new.py").write_text("not committed either\n")
        tree = release.export(STACK, self.app, self.commit, Path(tempfile.mkdtemp()))
        self.assertEqual((tree / "backend/views.py").read_text(), "committed\n")
        self.assertFalse((tree / "backend/new.py").exists())
        manage = tree / "backend/manage.py"  # a link in the app: the stack's file, copied
        self.assertFalse(manage.is_symlink())
        self.assertEqual(manage.read_text(), (STACK / "backend/manage.py").read_text())

    def test_a_committed_link_out_of_the_app_is_refused_before_anything_is_unpacked(self):
        (self.app / "backend/keys").symlink_to("../../../.ssh")
        subprocess.run(["git", "add", "--all"], cwd=self.app, check=True)
        git_commit = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "two"]
        subprocess.run(git_commit, cwd=self.app, check=True)
        commit = release.commit_of(self.app)
        folder = Path(tempfile.mkdtemp())
        wrong = f"backend/keys links outside the app at commit {commit[:12]} \\(to ../../../.ssh"
        with self.assertRaisesRegex(StackError, wrong):
            release.export(STACK, self.app, commit, folder)
        self.assertFalse((folder / "app").exists())

    def test_an_unknown_commit_is_refused_naming_the_fix(self):
        with self.assertRaisesRegex(StackError, "no commit 'nope'.*--commit"):
            release.commit_of(self.app, "nope")


# Every sensitive key (dotenv.SENSITIVE), generated or not; an empty one means "off".
SENSITIVE = {"DJANGO_SECRET_KEY": "k", "POSTGRES_PASSWORD": "pw-1", "AWS_SECRET_ACCESS_KEY": "a-1",
             "SENTRY_DSN": "https://key@sentry.example.com/1", "GITHUB_TOKEN": "token-1",
             "STRIPE_API_KEY": "sk_1", "DATABASE_URL": "postgres://u:pw@db/app"}  # fmt: skip
PLAIN = {"DOMAIN": "example.com", "AWS_ACCESS_KEY_ID": "id", "EMAIL_HOST_USER": "",
         "COMPOSE_PROJECT_NAME": "shop", "RELEASE_REGISTRY": "localhost:5000"}  # fmt: skip


class SecretsTest(unittest.TestCase):
    def test_sensitive_keys_with_a_value_and_no_other_become_secrets_named_by_digest(self):
        env = {**SENSITIVE, **PLAIN, "EMAIL_HOST_PASSWORD": ""}
        created = []

        def docker(*args, stdin=None, check=True):
            if args[:2] == ("secret", "create"):
                created.append((args[2], stdin))
            if args[:2] == ("secret", "ls"):
                return '{"ID": "x", "Name": "shop_postgres_password_c7f3d2c4a8a6"}\n'
            return ""

        with mock.patch.object(swarm.docker, "output", docker):
            names = swarm.secrets("shop", env)
        self.assertEqual(set(names), set(SENSITIVE))
        self.assertRegex(names["DJANGO_SECRET_KEY"], r"^shop_django_secret_key_[0-9a-f]{12}$")
        self.assertIn((names["DJANGO_SECRET_KEY"], "k"), created)
        self.assertIn((names["SENTRY_DSN"], SENSITIVE["SENTRY_DSN"]), created)

    def test_no_sensitive_value_reaches_the_services_plain_environment(self):
        app, folder = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
        text = "".join(f"{key}={value}\n" for key, value in {**SENSITIVE, **PLAIN}.items())
        (app / ".env").write_text(text)
        with mock.patch.object(images, "rendered", return_value=("shop", "1")):
            job = swarm.Run(Deployment(STACK, app), folder)
            variables = job.variables("r1", 2)
        given = {k: v for k, v in variables.items() if os.environ.get(k) != v}
        given = job.env_file.read_text() + json.dumps(given)
        for key, value in SENSITIVE.items():
            self.assertNotIn(key, given)
            self.assertNotIn(value if len(value) > 1 else f"={value}", given)
        self.assertIn("AWS_ACCESS_KEY_ID=id\n", job.env_file.read_text())

    def test_django_gets_every_secret_as_a_file_and_postgres_its_password(self):
        names = {"DJANGO_SECRET_KEY": "shop_k_1", "POSTGRES_PASSWORD": "shop_p_1"}
        config = swarm.override(names, celery=True)
        self.assertEqual(set(config["services"]), {"backend", "worker", "beat", "db"})
        backend = config["services"]["backend"]
        self.assertEqual(
            backend["environment"]["DJANGO_SECRET_KEY_FILE"], "/run/secrets/django_secret_key"
        )
        self.assertEqual(config["services"]["db"]["environment"],
                         {"POSTGRES_PASSWORD_FILE": "/run/secrets/postgres_password"})  # fmt: skip
        self.assertEqual(
            config["secrets"]["postgres_password"], {"external": True, "name": "shop_p_1"}
        )
        self.assertEqual(set(swarm.override(names, celery=False)["services"]), {"backend", "db"})


class RollbackTest(unittest.TestCase):
    def test_rollback_goes_to_the_release_before_and_forgets_the_one_left(self):
        history = Path(tempfile.mkdtemp()) / swarm.HISTORY
        history.write_text("r1\nr2\nr3\n")
        calls = []
        with (
            mock.patch.object(swarm, "history", return_value=history),
            mock.patch.object(swarm, "deploy", lambda *a, **k: calls.append((a[1], k)) or []),
        ):
            said = swarm.rollback(Deployment(STACK, Path("/app")))
        self.assertEqual(calls, [("r2", {"record": False})])
        self.assertEqual(history.read_text().split(), ["r1", "r2"])
        self.assertEqual(said, ["Rolled back from r3 to r2"])

    def test_with_one_release_there_is_nothing_to_go_back_to(self):
        history = Path(tempfile.mkdtemp()) / swarm.HISTORY
        history.write_text("r1\n")
        with (
            mock.patch.object(swarm, "history", return_value=history),
            self.assertRaisesRegex(StackError, "no earlier release.*--release TAG"),
        ):
            swarm.rollback(Deployment(STACK, Path("/app")))


class HungDockerTest(unittest.TestCase):
    """A docker command that never returns (as `docker service logs` at times does) ends in
    an error or a note, never in a hung tool."""

    def setUp(self):
        bin_dir = Path(tempfile.mkdtemp())
        fake = bin_dir / "docker"
        # Through sh: a #! line ends at a space, and python's path may hold one.
        sleep = f"{shlex.quote(sys.executable)} -c 'import time; time.sleep(30)'"
        fake.write_text(f"#!/bin/sh\nexec {sleep}\n")
        fake.chmod(0o755)
        path = f"{bin_dir}:{os.environ['PATH']}"
        patch = mock.patch.dict(os.environ, {"PATH": path})
        patch.start()
        self.addCleanup(patch.stop)

    def test_a_hung_command_is_an_error_naming_it(self):
        with self.assertRaisesRegex(StackError, r"`docker service ls` did not finish within 1 s"):
            docker.output("service", "ls", timeout=1)

    def test_hung_logs_say_where_to_look_instead(self):
        with mock.patch.object(swarm, "LOGS_TIMEOUT", 0.5):
            self.assertIn(
                "docker service ps --no-trunc shop_migrate", swarm.service_logs("shop_migrate")
            )


class PruneSecretsTest(unittest.TestCase):
    def test_only_earlier_values_that_no_spec_uses_any_more_are_removed(self):
        new, kept, old = (f"shop_django_secret_key_{c * 12}" for c in "abc")
        listed = [new, kept, old, f"shop-x_django_secret_key_{'d' * 12}", "shop_notes_token"]

        def spec(*secrets):
            given = [{"SecretName": secret} for secret in secrets]
            return {"TaskTemplate": {"ContainerSpec": {"Secrets": given}}}

        # s1 was updated (its previous spec had `kept`); s2 has no secrets, no previous spec.
        services = {"s1": {"Spec": spec(new), "PreviousSpec": spec(kept)}, "s2": {"Spec": {}}}
        removed = []

        def docker(*args, check=True):
            if args[:2] == ("service", "inspect"):  # all of them in one call
                return json.dumps([services[found] for found in args[2:]])
            if args[:2] == ("secret", "rm"):
                removed.append(args[2])
            return ""

        def docker_json(*args, check=True):
            if args[:2] == ("service", "ls"):
                self.assertEqual(args[2:], ("--filter", "label=com.docker.stack.namespace=shop"))
                return [{"ID": "s1"}, {"ID": "s2"}]
            return [{"Name": secret} for secret in listed]

        with mock.patch.object(swarm.docker, "output", docker), \
                mock.patch.object(swarm.docker, "json_lines", docker_json):  # fmt: skip
            gone = swarm.prune_secrets("shop", {"DJANGO_SECRET_KEY": new})
        self.assertEqual(gone, [old])
        self.assertEqual(removed, [old])
