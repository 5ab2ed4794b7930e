import os
import subprocess
import tempfile
import unittest
from pathlib import Path

from stacktool import links

MANIFEST = (
    "# comment\ncompose.yml   compose/app.yml\nfrontend/vite.config.ts frontend/vite.config.ts\n"
)


class LinkTest(unittest.TestCase):
    def setUp(self):
        root = Path(tempfile.mkdtemp(prefix="links test "))
        self.stack, self.app = root / "stack", root / "my app"
        for path in ("compose/app.yml", "frontend/vite.config.ts"):
            (self.stack / path).parent.mkdir(parents=True, exist_ok=True)
            (self.stack / path).write_text(path)
        (self.stack / "links.txt").write_text(MANIFEST)
        self.app.mkdir()
        subprocess.run(["git", "init", "--quiet", str(self.app)], check=True)

    def test_links_are_relative_and_a_second_run_changes_nothing(self):
        links.link(self.stack, self.app)
        self.assertEqual(os.readlink(self.app / "compose.yml"), "../stack/compose/app.yml")
        self.assertEqual(
            (self.app / "frontend/vite.config.ts").read_text(), "frontend/vite.config.ts"
        )
        self.assertEqual(links.link(self.stack, self.app), [])

    def test_a_real_file_in_the_way_is_moved_to_a_backup(self):
        (self.app / "compose.yml").write_text("mine")
        said = links.link(self.stack, self.app)
        backups = list(self.app.glob("compose.yml.backup-*"))
        self.assertEqual([b.read_text() for b in backups], ["mine"])
        self.assertIn("moved compose.yml out of the way", said[0])

    def test_links_are_recorded_and_dropped_ones_removed(self):
        links.link(self.stack, self.app)
        exclude = (self.app / ".git/info/exclude").read_text()
        self.assertIn(
            f"{links.BEGIN}\n/compose.yml\n/frontend/vite.config.ts\n{links.END}\n", exclude
        )
        (self.stack / "links.txt").write_text("compose.yml compose/app.yml\n")
        said = links.link(self.stack, self.app)
        self.assertFalse((self.app / "frontend/vite.config.ts").is_symlink())
        self.assertIn("removed frontend/vite.config.ts: links.txt no longer lists it", said)

    def test_a_bad_manifest_line_names_the_line(self):
        (self.stack / "links.txt").write_text("only-one-path\n")
        with self.assertRaisesRegex(links.StackError, "line 1"):
            links.link(self.stack, self.app)
