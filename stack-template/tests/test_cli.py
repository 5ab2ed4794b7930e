import io
import os
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path
from unittest import mock

from stacktool import cli
from stacktool.errors import StackError


class DataFoldersTest(unittest.TestCase):
    def setUp(self):
        root = Path(tempfile.mkdtemp())
        self.stack, self.app, self.data = root / "stack", root / "app", root / "data"
        self.stack.mkdir()
        self.app.mkdir()
        (self.stack / ".copier-answers.yml").write_text("_commit: 1.0.0\nslug: shop\n")
        self.env(f"DATA_ROOT={self.data}\n")

    def env(self, text):
        (self.app / ".env").write_text(text)

    def test_folders_follow_data_root_and_the_deployment_name(self):
        self.assertEqual(
            cli.data_folders(self.stack, self.app),
            [self.data / "shop/media", self.data / "shop/logs", self.data / "shop/releases"],
        )
        self.env(f"DATA_ROOT={self.data}\nCOMPOSE_PROJECT_NAME=staging\n")
        self.assertEqual(
            cli.data_folders(self.stack, self.app),
            [
                self.data / "staging/media",
                self.data / "staging/logs",
                self.data / "staging/releases",
            ],
        )

    def test_a_relative_data_root_names_the_fix(self):
        self.env("DATA_ROOT=data\n")
        with self.assertRaisesRegex(StackError, "must be an absolute path, e.g. DATA_ROOT=/data"):
            cli.data_folders(self.stack, self.app)

    def test_without_the_right_to_chown_the_error_names_the_fix(self):
        denied = mock.patch.object(os, "chown", side_effect=PermissionError)
        with denied, self.assertRaisesRegex(StackError, "run ./install.sh as root, or create"):
            cli.create_data_folders(self.stack, self.app)

    def test_linking_where_folders_cannot_be_made_still_links_and_says_why(self):
        (self.app / ".env.example").write_text("DATA_ROOT=/data\n")
        (self.stack / "links.txt").write_text("")
        with mock.patch.object(os, "chown", side_effect=PermissionError):
            said = cli.install(self.stack, self.app)
        self.assertTrue(said[-1].startswith("note: cannot give"), said)


class EnvGetTest(unittest.TestCase):
    """`./stack env APP --get KEY`: the app's Makefile reads DB_DEV_PORT with it."""

    def setUp(self):
        self.app = Path(tempfile.mkdtemp())

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

    def test_without_an_env_it_prints_an_empty_line_and_writes_none(self):
        (self.app / ".env.example").write_text("DB_DEV_PORT=5432\n")
        self.assertEqual(self.get("DB_DEV_PORT"), "\n")
        self.assertFalse((self.app / ".env").exists())
