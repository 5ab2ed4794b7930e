import io
import os
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

from stacktool import cli, docker, dotenv, install
from stacktool.deployment import Deployment
from stacktool.errors import StackError

from .fixtures import write_compose


class DataFoldersTest(unittest.TestCase):
    def setUp(self):
        root = Path(tempfile.mkdtemp())
        self.stack, self.app, self.data = root / "stack", root / "app", root / "data"
        self.stack.mkdir()
        self.app.mkdir()
        write_compose(self.stack, "shop", "1.0.0")
        self.env(f"DATA_ROOT={self.data}\n")

    def env(self, text):
        (self.app / ".env").write_text(text)

    def test_folders_follow_data_root_and_the_deployment_name(self):
        self.assertEqual(
            Deployment(self.stack, self.app).data_folders,
            [self.data / "shop/media", self.data / "shop/logs", self.data / "shop/releases"],
        )
        self.env(f"DATA_ROOT={self.data}\nCOMPOSE_PROJECT_NAME=staging\n")
        self.assertEqual(
            Deployment(self.stack, self.app).data_folders,
            [
                self.data / "staging/media",
                self.data / "staging/logs",
                self.data / "staging/releases",
            ],
        )

    def test_a_data_root_that_is_relative_or_climbs_names_the_key_and_the_file(self):
        for root in ("data", f"{self.data}/../../etc"):
            self.env(f"DATA_ROOT={root}\n")
            wrong = f"^DATA_ROOT='{root}' in {self.app / '.env'}: give an absolute path without"
            with self.subTest(root), self.assertRaisesRegex(StackError, wrong):
                _ = Deployment(self.stack, self.app).data_folders

    def test_a_project_name_compose_would_refuse_names_the_key_and_the_file(self):
        for name in ("../../etc", "Shop", "-shop", "shop/x", "shop x"):
            self.env(f"DATA_ROOT={self.data}\nCOMPOSE_PROJECT_NAME={name}\n")
            wrong = f"^COMPOSE_PROJECT_NAME='{name}' in {self.app / '.env'}: give a name compose"
            with self.subTest(name), self.assertRaisesRegex(StackError, wrong):
                _ = Deployment(self.stack, self.app).data_folders
        self.env(f"DATA_ROOT={self.data}\nCOMPOSE_PROJECT_NAME=shop_2-staging\n")
        self.assertEqual(
            Deployment(self.stack, self.app).data_folders[0].parent.name, "shop_2-staging"
        )

    def test_without_the_right_to_chown_the_error_names_the_fix(self):
        denied = mock.patch.object(os, "chown", side_effect=PermissionError)
        with denied, self.assertRaisesRegex(StackError, "run ./install.sh as root, or create"):
            Deployment(self.stack, self.app).create_data_folders()

    def test_linking_where_folders_cannot_be_made_still_links_and_says_why(self):
        (self.app / ".env.example").write_text("DATA_ROOT=/data\n")
        (self.stack / "links.txt").write_text("")
        with mock.patch.object(os, "chown", side_effect=PermissionError):
            said = install.install(self.stack, self.app)
        self.assertTrue(said[-1].startswith("note: cannot give"), said)


class EnvGetTest(unittest.TestCase):
    """`./stack env APP --get KEY`: the app's Makefile reads DB_DEV_PORT with it."""

    def setUp(self):
        self.app = Path(tempfile.mkdtemp())
        (self.app / "backend").mkdir()
        (self.app / "frontend").mkdir()

    def get(self, key):
        output = io.StringIO()
        with redirect_stdout(output):
            self.assertEqual(cli.main(["env", str(self.app), "--get", key]), 0)
        return output.getvalue()

    def test_prints_the_value_without_its_quotes_and_changes_nothing(self):
        text = 'DB_DEV_PORT="5433"\nDJANGO_DEBUG=false\n'
        (self.app / ".env").write_text(text)
        (self.app / ".env.example").write_text("DB_DEV_PORT=5432\nNEW_KEY=1\n")
        self.assertEqual(self.get("DB_DEV_PORT"), "5433\n")
        self.assertEqual(self.get("UNSET"), "\n")
        self.assertEqual((self.app / ".env").read_text(), text)  # NEW_KEY was not added

    def test_a_sensitive_value_is_printed_only_with_secret(self):
        (self.app / ".env").write_text("POSTGRES_PASSWORD=hunter2\nSENTRY_DSN=https://k@x/1\n")
        (self.app / ".env.example").write_text("POSTGRES_PASSWORD=\n")
        for key in ("POSTGRES_PASSWORD", "SENTRY_DSN"):
            said, output = io.StringIO(), io.StringIO()
            with redirect_stdout(output), redirect_stderr(said):
                self.assertEqual(cli.main(["env", str(self.app), "--get", key]), 1)
            self.assertEqual(output.getvalue(), "")
            self.assertIn(f"error: {key} is sensitive", said.getvalue())
            self.assertIn("--secret", said.getvalue())
        output = io.StringIO()
        with redirect_stdout(output):
            args = ["env", str(self.app), "--get", "POSTGRES_PASSWORD", "--secret"]
            self.assertEqual(cli.main(args), 0)
        self.assertEqual(output.getvalue(), "hunter2\n")

    def test_the_csp_origin_is_written_from_the_dsn_and_only_the_value_printed(self):
        (self.app / ".env").write_text("DOMAIN=localhost\nVITE_SENTRY_DSN=http://k@127.0.0.1:9/1\n")
        (self.app / ".env.example").write_text("DOMAIN=localhost\n")
        said = io.StringIO()
        with redirect_stderr(said):
            self.assertEqual(self.get("DOMAIN"), "localhost\n")
        self.assertIn("CSP_CONNECT_SRC='self' http://127.0.0.1:9", said.getvalue())
        values = dotenv.read_env(self.app)
        self.assertEqual(values["CSP_CONNECT_SRC"], "'self' http://127.0.0.1:9")

    def test_a_malformed_dsn_is_refused_before_anything_is_written(self):
        text = "DOMAIN=localhost\nVITE_SENTRY_DSN=https://sentry.example.com/1\n"
        (self.app / ".env").write_text(text)
        (self.app / ".env.example").write_text("DOMAIN=localhost\nNEW_KEY=1\n")
        for command in (["env", str(self.app)], ["env", str(self.app), "--get", "DOMAIN"]):
            said, output = io.StringIO(), io.StringIO()
            with redirect_stdout(output), redirect_stderr(said):
                self.assertEqual(cli.main(command), 1)
            self.assertEqual(output.getvalue(), "")
            self.assertEqual(said.getvalue().count("\n"), 1)  # one error line, no traceback
            self.assertIn("error: VITE_SENTRY_DSN is not a Sentry DSN", said.getvalue())
        self.assertEqual((self.app / ".env").read_text(), text)

    def test_without_an_env_it_prints_an_empty_line_and_writes_none(self):
        (self.app / ".env.example").write_text("DB_DEV_PORT=5432\n")
        self.assertEqual(self.get("DB_DEV_PORT"), "\n")
        self.assertFalse((self.app / ".env").exists())


class CommandLineTest(unittest.TestCase):
    def setUp(self):
        root = Path(tempfile.mkdtemp(prefix="cli test "))
        self.stack, self.app = root / "stack", root / "app"
        (self.stack / "frontend").mkdir(parents=True)
        write_compose(self.stack, "shop", "1.2.0")
        (self.stack / "links.txt").write_text("")
        for folder in ("backend", "frontend"):
            (self.app / folder).mkdir(parents=True)
        (self.app / ".env.example").write_text("DOMAIN=localhost\n")

    def main(self, *argv):
        output, errors = io.StringIO(), io.StringIO()
        with redirect_stdout(output), mock.patch("sys.stderr", errors):
            code = cli.main([str(a) for a in argv], stack=self.stack)
        return code, output.getvalue(), errors.getvalue()

    def test_version_as_an_option_too(self):
        self.assertEqual(self.main("--version"), (0, "1.2.0\n", ""))
        self.assertEqual(self.main("version"), (0, "1.2.0\n", ""))

    def test_every_subcommand_help_opens_with_a_description(self):
        def walk(parser, words):
            for action in parser._actions:
                if isinstance(action, cli.argparse._SubParsersAction):
                    for name, sub in action.choices.items():
                        self.assertTrue(sub.description, [*words, name])
                        shown = " ".join(sub.format_help().split())
                        self.assertIn(sub.description, shown, [*words, name])
                        walk(sub, [*words, name])

        walk(cli.parser(), [])

    def test_link_and_env_take_the_app_as_an_option_or_an_argument(self):
        self.assertEqual(self.main("env", "--app", self.app)[0], 0)
        self.assertTrue((self.app / ".env").is_file())
        self.assertEqual(self.main("env", self.app, "--get", "DOMAIN")[:2], (0, "localhost\n"))
        self.assertEqual(self.main("env", "--app", self.app, "--get", "DOMAIN")[1], "localhost\n")
        self.assertEqual(self.main("link", "--app", self.app)[0], 0)
        self.assertEqual((self.stack / ".linked-app").read_text(), f"{self.app}\n")
        self.assertEqual(self.main("link")[0], 0)  # the app linked last

    def test_what_is_no_app_is_refused_before_anything_is_written(self):
        empty = self.app.parent / "empty"
        empty.mkdir()
        cases = {
            self.stack: "is this stack, not an app",
            self.stack / "frontend": "is a folder inside this stack, not an app",
            empty: "is not an app checkout: it has no .env.example, backend/, frontend/",
            self.app.parent / "none": "not found: name the app's checkout with --app PATH",
        }
        for command in (["install", "--app"], ["link"], ["env"], ["deploy", "--app"]):
            for folder, says in cases.items():
                with self.subTest(command=command, folder=folder):
                    code, _, error = self.main(*command, folder)
                    self.assertEqual(code, 1)
                    self.assertIn(says, error)
                    self.assertIn(str(folder), error)
        self.assertEqual(list(empty.iterdir()), [])
        self.assertFalse((self.stack / ".linked-app").exists())
        self.assertEqual(sorted(p.name for p in (self.stack / "frontend").iterdir()), [])

    def test_without_docker_a_command_that_needs_it_says_so_first(self):
        with mock.patch.object(docker.shutil, "which", return_value=None):
            for command in (["deploy"], ["backup"], ["swarm", "status"], ["build"], ["install"]):
                with self.subTest(command=command):
                    code, _, error = self.main(*command, "--app", self.app)
                    if command == ["install"]:  # with --app it links: no Docker needed
                        self.assertEqual(code, 0, error)
                        continue
                    self.assertEqual(
                        (code, error.splitlines()[-1][:24]), (1, "error: docker not found:")
                    )
