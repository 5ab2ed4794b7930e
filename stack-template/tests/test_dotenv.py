import os
import stat
import tempfile
import unittest
from pathlib import Path

from stacktool import dotenv

EXAMPLE = "# The site\nDOMAIN=localhost\n\n# Secret\nDJANGO_SECRET_KEY=\nPOSTGRES_PASSWORD=\n"


class SyncTest(unittest.TestCase):
    def setUp(self):
        self.app = Path(tempfile.mkdtemp())
        (self.app / ".env.example").write_text(EXAMPLE)
        self.env = self.app / ".env"

    def mode(self):
        return stat.S_IMODE(self.env.stat().st_mode)

    def test_creates_a_private_env_with_fresh_secrets(self):
        dotenv.sync(self.app)
        values = dotenv.parse(self.env.read_text())
        self.assertEqual(list(values), ["DOMAIN", "DJANGO_SECRET_KEY", "POSTGRES_PASSWORD"])
        self.assertEqual(
            (len(values["DJANGO_SECRET_KEY"]), len(values["POSTGRES_PASSWORD"])), (64, 32)
        )
        self.assertEqual(self.mode(), 0o600)
        self.assertTrue(
            self.env.read_text().startswith("# The site\nDOMAIN=localhost\n\n# Secret\n")
        )

    def test_never_changes_a_value_only_appends_missing_keys(self):
        self.env.write_text("DOMAIN=shop.example.com\nMINE=1")
        os.chmod(self.env, 0o600)
        said = dotenv.sync(self.app)
        text = self.env.read_text()
        self.assertTrue(text.startswith("DOMAIN=shop.example.com\nMINE=1\n\n# Secret\n"))
        self.assertEqual(said[0], f"Added to {self.env}: DJANGO_SECRET_KEY POSTGRES_PASSWORD")
        self.assertEqual(dotenv.sync(self.app), [])
        self.assertEqual(self.env.read_text(), text)

    def test_a_readable_env_is_made_private_and_says_so(self):
        self.env.write_text("DOMAIN=x\nDJANGO_SECRET_KEY=s\nPOSTGRES_PASSWORD=p\n")
        os.chmod(self.env, 0o644)
        said = dotenv.sync(self.app)
        self.assertEqual(self.mode(), 0o600)
        self.assertIn("mode 600 (it was 644)", said[-1])
