import tempfile
import unittest
from pathlib import Path

from stacktool import lock

LOCK = """# a header
asgiref==3.13.0 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
Django==5.2.19 \\
    --hash=sha256:cccc
colorama==0.4.6 ; sys_platform == 'win32' \\
    --hash=sha256:dddd
typing_extensions==4.16.0 ; python_full_version < '3.13' \\
    --hash=sha256:eeee
"""


class EntriesTest(unittest.TestCase):
    def test_each_entry_by_its_normalized_name_with_its_hashes(self):
        found = lock.entries(LOCK)
        self.assertEqual(list(found), ["asgiref", "django", "colorama", "typing-extensions"])
        self.assertEqual(
            found["asgiref"],
            "asgiref==3.13.0 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n",
        )

    def test_a_header_alone_has_no_entries(self):
        self.assertEqual(lock.entries(lock.APP_HEADER), {})


class AppLockTest(unittest.TestCase):
    def setUp(self):
        self.app = Path(tempfile.mkdtemp())
        (self.app / "backend").mkdir()
        self.requirements = self.app / lock.APP_REQUIREMENTS

    def write_lock_for(self, text):
        (self.app / lock.APP_LOCK).write_text(f"{lock.DIGEST}{lock.digest(text)}\n")

    def test_comments_and_blank_lines_do_not_change_the_digest(self):
        commented = "# ours\n\nhumanize==4.17.0  # why\n"
        self.assertEqual(lock.digest(commented), lock.digest("humanize==4.17.0"))
        self.assertNotEqual(lock.digest("humanize==4.17.0"), lock.digest("humanize==4.18.0"))

    def test_the_lock_is_current_until_the_requirements_change(self):
        self.requirements.write_text("humanize==4.17.0\n")
        self.assertFalse(lock.app_lock_is_current(self.app))  # none yet
        self.write_lock_for("humanize==4.17.0\n")
        self.assertTrue(lock.app_lock_is_current(self.app))
        self.requirements.write_text("humanize==4.18.0\n")
        self.assertFalse(lock.app_lock_is_current(self.app))

    def test_a_build_of_an_app_without_packages_needs_no_resolve(self):
        self.requirements.write_text("# nothing yet\n")
        self.write_lock_for("")
        unlocked = f"{lock.DIGEST}{lock.digest('')}\n"
        self.assertEqual(lock.app_lock_for_build(Path("/nonexistent"), self.app, "3.12"), unlocked)
        self.assertEqual(lock.app_lock_for_build(Path("/nonexistent"), None, "3.12"), "")


if __name__ == "__main__":
    unittest.main()
