"""The backend's release store (backend/releases.py, run in the backend's container), with
folders of its own and Django's checks replaced: which release serves after a start, a
rollback, and which are kept."""

import contextlib
import importlib.util
import io
import os
import subprocess
import tempfile
import unittest
from pathlib import Path
from unittest import mock

spec = importlib.util.spec_from_file_location(
    "releases", Path(__file__).resolve().parent.parent / "backend/releases.py"
)
releases = importlib.util.module_from_spec(spec)
spec.loader.exec_module(releases)


class ReleasesTest(unittest.TestCase):
    def setUp(self):
        root = Path(tempfile.mkdtemp())
        self.checkout, store = root / "app", root / "releases"
        self.checkout.mkdir()
        store.mkdir()
        (self.checkout / "views.py").write_text("release = 1\n")
        for name, value in {
            "CHECKOUT": self.checkout,
            "STORE": store,
            "CURRENT": store / "current",
            "STARTED": store / "started",
            "BUNDLE": root / "www/current",
        }.items():
            patch = mock.patch.object(releases, name, value)
            patch.start()
            self.addCleanup(patch.stop)
        self.env({"RELEASE_KEEP": "3"})
        self.left = []  # the migrations each check finds left to apply
        self.check(lambda release, collect=False: list(self.left))

    def env(self, values):
        patch = mock.patch.dict(os.environ, values)
        patch.start()
        self.addCleanup(patch.stop)

    def check(self, pending):
        patch = mock.patch.object(releases, "pending", pending)
        patch.start()
        self.addCleanup(patch.stop)
        done = subprocess.CompletedProcess([], 0)
        patch = mock.patch.object(releases, "django", lambda *args, **kwargs: done)
        patch.start()
        self.addCleanup(patch.stop)

    def start(self) -> str:
        """The backend's start; returns what it said."""
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            self.assertEqual(releases.serve(), 0)
        return said.getvalue()

    def commit(self, text: str) -> None:
        (self.checkout / "views.py").write_text(text)

    def serving(self) -> str:
        return (releases.current() / "app/views.py").read_text()

    def started(self) -> list[str]:
        """What the last start recorded for the frontend: checkout|kept, and the release."""
        return releases.STARTED.read_text().split()[1:]

    def bundle(self, name: str) -> None:
        """The frontend serves bundle `name` (build.sh's link in its volume)."""
        link = releases.BUNDLE
        link.parent.mkdir(exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(f"releases/{name}")

    def test_new_code_that_can_serve_serves_at_the_next_start(self):
        self.start()
        self.commit("release = 2\n")
        self.assertIn("the checkout's code", self.start())
        self.assertEqual(self.serving(), "release = 2\n")

    def test_code_that_cannot_load_leaves_the_release_serving_and_no_trace(self):
        self.start()
        self.commit("import gone\n")

        def refuse(release, collect=False):
            raise releases.Refused("its code does not load:\nModuleNotFoundError: gone")

        self.check(refuse)
        self.assertIn("cannot serve: its code does not load", self.start())
        self.assertEqual(self.serving(), "release = 1\n")
        kept = {"current", ".lock", "started", releases.current().name}
        self.assertEqual({p.name for p in releases.STORE.iterdir()}, kept)

    def test_code_that_needs_a_migration_waits_for_make_deploy(self):
        self.start()
        self.commit("release = 2\n")
        self.left = ["notes.0002_more"]
        said = self.start()
        self.assertIn("needs migrations (notes.0002_more)", said)
        self.assertIn("keeps serving until `make deploy` applies them", said)
        self.assertEqual(self.serving(), "release = 1\n")

    def test_a_start_migrates_the_serving_release_not_the_checkout(self):
        """The migrate service's start (docker compose up) applies the serving release's own
        migrations, which a database made anew lacks; the checkout's wait for make deploy."""
        self.start()
        serving = releases.current()
        self.commit("release = 2\n")
        ran = []

        def django(release, *args, **kwargs):
            ran.append((release, args[1:]))
            return subprocess.CompletedProcess([], 0)

        with (
            mock.patch.object(releases, "django", django),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            self.assertEqual(releases.deploy(), 0)
        self.assertEqual(ran, [(serving, ("migrate", "--noinput"))])
        self.assertEqual(self.serving(), "release = 1\n")

    def deploy(self) -> list[tuple[str, ...]]:
        """make deploy's release (RELEASE_DEPLOY); the Django processes it ran, beside the
        check, which collects the static files itself when no migration is left."""
        ran = []

        def django(release, *args, **kwargs):
            ran.append(args[1:])
            return subprocess.CompletedProcess([], 0)

        self.env({"RELEASE_DEPLOY": "1"})
        with (
            mock.patch.object(releases, "django", django),
            mock.patch.object(releases.time, "gmtime", return_value=(2099, 1, 1) + (0,) * 6),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            self.assertEqual(releases.deploy(), 0)
        return ran

    def test_a_deploy_starts_django_once_more_only_for_migrations(self):
        self.start()
        self.commit("release = 2\n")
        collected = []
        self.check(lambda release, collect=False: collected.append(collect) or list(self.left))
        self.assertEqual(self.deploy(), [])
        self.assertEqual(collected, [True])
        self.assertEqual(self.serving(), "release = 2\n")
        self.commit("release = 3\n")
        self.left = ["notes.0002_more"]
        self.assertEqual(self.deploy(), [("migrate", "--noinput"), ("collectstatic", "--noinput")])
        self.assertEqual(self.serving(), "release = 3\n")

    def test_a_withdrawn_release_is_gone_and_the_one_before_serves(self):
        self.start()
        first = releases.current()
        self.commit("release = 2\n")
        self.deploy()
        self.assertEqual(self.serving(), "release = 2\n")
        with contextlib.redirect_stdout(io.StringIO()) as said:
            self.assertEqual(releases.withdraw(), 0)
        self.assertIn(f"release {first.name} serves again", said.getvalue())
        self.assertEqual(releases.releases(), [first])
        self.assertEqual(self.serving(), "release = 1\n")
        with contextlib.redirect_stdout(io.StringIO()) as said:
            self.assertEqual(releases.withdraw(), 1)  # nothing before it: it stays
        self.assertIn("none is before it", said.getvalue())
        self.assertEqual(releases.current(), first)

    def test_a_rollback_serves_the_release_before_and_stays_through_restarts(self):
        self.start()
        first = releases.current()
        self.commit("release = 2\n")
        with mock.patch.object(releases.time, "gmtime", return_value=(2099, 1, 1) + (0,) * 6):
            self.start()
        with contextlib.redirect_stdout(io.StringIO()) as said:
            self.assertEqual(releases.rollback(), 0)
        self.assertIn(f'"to": "{first.name}"', said.getvalue())
        self.assertEqual(self.serving(), "release = 1\n")
        self.start()  # the checkout still holds release 2: it has a release, not served
        self.assertEqual(self.serving(), "release = 1\n")
        with contextlib.redirect_stdout(io.StringIO()) as said:
            self.assertEqual(releases.rollback(), 1)
        self.assertIn("no release before", said.getvalue())

    def test_each_start_tells_the_frontend_whether_the_checkouts_code_serves(self):
        self.start()
        self.assertEqual(self.started(), ["checkout", releases.current().name])
        first = releases.current()
        self.commit("release = 2\n")
        self.left = ["notes.0002_more"]
        self.start()
        self.assertEqual(self.started(), ["kept", first.name])
        self.left = []
        self.start()
        self.assertEqual(self.started(), ["checkout", releases.current().name])
        self.assertNotEqual(releases.current(), first)

    def test_a_release_keeps_the_bundle_served_with_it_for_a_rollback(self):
        """A start's release is served beside the bundle the frontend's start builds; the
        bundle is recorded when the release stops serving, and a rollback serves it again."""
        self.bundle("aaaa")
        self.start()
        self.bundle("bbbb")  # the frontend's start, beside the first release
        self.commit("release = 2\n")
        with mock.patch.object(releases.time, "gmtime", return_value=(2099, 1, 1) + (0,) * 6):
            self.start()
        self.bundle("cccc")
        with contextlib.redirect_stdout(io.StringIO()) as said:
            self.assertEqual(releases.rollback(), 0)
        self.assertIn('"bundle": "bbbb"', said.getvalue())
        second = releases.releases()[-1]
        self.assertEqual((second / "bundle").read_text(), "cccc\n")
        self.start()
        self.assertEqual(self.started(), ["kept", releases.current().name])

    def test_the_newest_are_kept_and_the_one_that_serves(self):
        for number in range(5):
            self.commit(f"release = {number}\n")
            moment = (2030 + number, 1, 1) + (0,) * 6
            with mock.patch.object(releases.time, "gmtime", return_value=moment):
                self.start()
        self.assertEqual([r.name[:4] for r in releases.releases()], ["2032", "2033", "2034"])
        releases.point_at(releases.releases()[0])
        self.env({"RELEASE_KEEP": "1"})
        releases.prune()
        self.assertEqual([r.name[:4] for r in releases.releases()], ["2032", "2034"])

    def test_caches_do_not_make_new_code(self):
        before = releases.digest(self.checkout)
        (self.checkout / "__pycache__").mkdir()
        (self.checkout / "__pycache__/views.cpython-312.pyc").write_bytes(b"\0")
        self.assertEqual(releases.digest(self.checkout), before)


if __name__ == "__main__":
    unittest.main()


class HeadCommitTest(unittest.TestCase):
    """The commit of the app's checkout, read from its .git (mounted) without git."""

    def setUp(self):
        self.repo = Path(tempfile.mkdtemp(prefix="head commit "))

    def git(self, *args):
        return subprocess.run(["git", "-C", str(self.repo), *args], check=True, text=True,
                              capture_output=True).stdout.strip()  # fmt: skip

    def head(self):
        return releases.head_commit(self.repo / ".git")

    def test_the_commit_of_a_branch_loose_packed_or_detached(self):
        self.git("init", "--quiet", "--initial-branch=main")
        for message in ("one", "two"):
            self.git("-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "--quiet",
                     "--allow-empty", "--message", message)  # fmt: skip
            self.assertEqual(
                releases.head_commit(self.repo / ".git"), self.git("rev-parse", "HEAD")
            )
        self.git("pack-refs", "--all")
        self.assertFalse((self.repo / ".git/refs/heads/main").exists())
        self.assertEqual(self.head(), self.git("rev-parse", "HEAD"))
        self.git("checkout", "--quiet", "--detach", "HEAD~1")
        self.assertEqual(self.head(), self.git("rev-parse", "HEAD"))

    def test_no_commit_no_git_or_a_worktrees_file_is_none(self):
        self.assertEqual(releases.head_commit(self.repo / ".git"), "")
        self.git("init", "--quiet")
        self.assertEqual(releases.head_commit(self.repo / ".git"), "")  # no commit yet
        (self.repo / "worktree").mkdir()
        (self.repo / "worktree/.git").write_text("gitdir: /elsewhere/.git/worktrees/w\n")
        self.assertEqual(releases.head_commit(self.repo / "worktree/.git"), "")
