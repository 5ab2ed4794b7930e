import contextlib
import datetime
import hashlib
import io
import json
import os
import stat
import subprocess
import tarfile
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

from stacktool import backup, targets
from stacktool.deployment import Deployment
from stacktool.errors import StackError


def complete(backups: Path, name: str) -> Path:
    folder = backups / name
    folder.mkdir(parents=True)
    (folder / backup.MANIFEST).write_text("{}")
    return folder


class FolderTest(unittest.TestCase):
    def setUp(self):
        self.backups = Path(tempfile.mkdtemp()) / "backups"

    def test_a_folder_is_named_by_its_utc_time_and_never_reused(self):
        moment = datetime.datetime(2026, 11, 26, 3, 15, 0)
        self.assertEqual(backup.folder_name(moment, set()), "20261126T031500Z")
        taken = {"20261126T031500Z", "20261126T031500Z-2.partial"}
        self.assertEqual(backup.folder_name(moment, taken), "20261126T031500Z-3")

    def test_complete_backups_oldest_first_without_partial_or_foreign_folders(self):
        for name in ("20261126T031500Z", "20261124T031500Z", "20261126T031500Z-2"):
            complete(self.backups, name)
        (self.backups / "20261127T031500Z.partial").mkdir()
        (self.backups / "20261128T031500Z").mkdir()  # no manifest: not complete
        complete(self.backups, "my notes")
        names = [p.name for p in backup.complete_backups(self.backups)]
        self.assertEqual(names, ["20261124T031500Z", "20261126T031500Z", "20261126T031500Z-2"])

    def test_no_backups_folder_is_no_backups(self):
        self.assertEqual(backup.complete_backups(self.backups), [])

    def test_retention_removes_all_but_the_newest(self):
        folders = [complete(self.backups, f"2026112{day}T031500Z") for day in range(1, 6)]
        self.assertEqual(backup.to_remove(folders, 3), folders[:2])
        self.assertEqual(backup.to_remove(folders, 7), [])

    def test_how_many_to_keep_option_then_env_then_default(self):
        self.assertEqual(backup.keep_count(3, {"BACKUP_KEEP": "5"}), 3)
        self.assertEqual(backup.keep_count(None, {"BACKUP_KEEP": "5"}), 5)
        self.assertEqual(backup.keep_count(None, {"BACKUP_KEEP": ""}), backup.DEFAULT_KEEP)
        for wrong in (0, "seven"):
            with self.assertRaisesRegex(StackError, "BACKUP_KEEP=7 in the app's .env"):
                backup.keep_count(None, {"BACKUP_KEEP": str(wrong)})


class ManifestTest(unittest.TestCase):
    def setUp(self):
        self.folder = Path(tempfile.mkdtemp()) / "20261126T031500Z"
        self.folder.mkdir()
        for name, content in (
            (backup.DATABASE, b"dump"),
            (backup.MEDIA, b""),
            (backup.ENV_COPY, b"A=1\n"),
        ):
            (self.folder / name).write_bytes(content)
        files = [backup.DATABASE, backup.MEDIA, backup.ENV_COPY]
        self.content = backup.manifest(self.folder, files, project="shop", app_commit=None)
        (self.folder / backup.MANIFEST).write_text(json.dumps(self.content))

    def test_the_manifest_gives_each_files_size_and_sha256(self):
        self.assertEqual(self.content["project"], "shop")
        self.assertEqual(
            self.content["files"][backup.DATABASE],
            {"bytes": 4, "sha256": hashlib.sha256(b"dump").hexdigest()},
        )
        self.assertEqual(len(self.content["files"][backup.MEDIA]["sha256"]), 64)

    def test_an_intact_backup_verifies(self):
        self.assertEqual(backup.verify(self.folder), self.content)

    def test_a_changed_file_is_refused_naming_the_fix(self):
        (self.folder / backup.DATABASE).write_bytes(b"dumq")
        with self.assertRaisesRegex(StackError, "does not match its sha256.*restore another"):
            backup.verify(self.folder)

    def test_a_missing_file_or_manifest_is_refused(self):
        (self.folder / backup.MEDIA).unlink()
        with self.assertRaisesRegex(StackError, "media.tar is missing: the backup is incomplete"):
            backup.verify(self.folder)
        (self.folder / backup.MANIFEST).unlink()
        with self.assertRaisesRegex(StackError, "is not a complete backup"):
            backup.verify(self.folder)

    def test_a_missing_folder_is_refused_naming_the_fix(self):
        with self.assertRaisesRegex(StackError, "not found: name a backup folder"):
            backup.verify(self.folder.parent / "20200101T000000Z")


class EnvTest(unittest.TestCase):
    def setUp(self):
        root = Path(tempfile.mkdtemp())
        self.app, self.folder = root / "app", root / "backup"
        self.app.mkdir()
        self.folder.mkdir()
        (self.folder / backup.ENV_COPY).write_text(
            "DOMAIN=old.example\nDJANGO_SECRET_KEY=old\nPOSTGRES_PASSWORD=old\n"
        )

    def test_a_missing_env_is_written_from_the_backup_privately(self):
        said, take = backup.settle_env(self.app, self.folder, take_env=False)
        env = self.app / ".env"
        self.assertEqual(env.read_text(), (self.folder / backup.ENV_COPY).read_text())
        self.assertEqual(stat.S_IMODE(env.stat().st_mode), 0o600)
        self.assertEqual(take, {})
        self.assertIn("from the backup", said[0])

    def test_other_places_and_database_password_are_kept_without_asking(self):
        text = "DOMAIN=new.example\nDJANGO_SECRET_KEY=old\nPOSTGRES_PASSWORD=new\n"
        (self.app / ".env").write_text(text)
        self.assertEqual(backup.settle_env(self.app, self.folder, take_env=False), ([], {}))
        self.assertEqual((self.app / ".env").read_text(), text)

    def test_another_secret_is_refused_unless_told_then_taken_and_the_old_env_kept(self):
        text = "DOMAIN=new.example\n# keep me\nDJANGO_SECRET_KEY=new\nPOSTGRES_PASSWORD=new\n"
        (self.app / ".env").write_text(text)
        with self.assertRaisesRegex(StackError, "DJANGO_SECRET_KEY.*Add --env"):
            backup.settle_env(self.app, self.folder, take_env=False)
        self.assertEqual((self.app / ".env").read_text(), text)
        _, take = backup.settle_env(self.app, self.folder, take_env=True)
        self.assertEqual(take, {"DJANGO_SECRET_KEY": "old"})
        backups = self.folder.parent / "backups"
        said = backup.take_secrets(self.app, take, backups)
        self.assertEqual(
            (self.app / ".env").read_text(),
            "DOMAIN=new.example\n# keep me\nDJANGO_SECRET_KEY=old\nPOSTGRES_PASSWORD=new\n",
        )
        # The old .env, every secret in it, is kept out of the app's checkout (git add -A).
        self.assertEqual(sorted(p.name for p in self.app.iterdir()), [".env"])
        (kept,) = backups.iterdir()
        self.assertRegex(kept.name, r"^\d{8}T\d{6}Z\.env-before-restore$")
        self.assertIn(str(kept), said[0])
        self.assertEqual(kept.read_text(), text)
        self.assertEqual(stat.S_IMODE(kept.stat().st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(backups.stat().st_mode), 0o700)
        self.assertEqual(backup.complete_backups(backups), [])


class MediaTest(unittest.TestCase):
    def setUp(self):
        self.root = Path(tempfile.mkdtemp())
        self.media = self.root / "media"
        (self.media / "photos").mkdir(parents=True)
        (self.media / "photos/a.jpg").write_bytes(b"\xff\xd8")

    def write(self, name="media.tar") -> tuple[Path, list[str]]:
        with backup._private_file(self.root / name, "w+b") as file:
            left_out = backup.write_media(self.media, file)
        return self.root / name, left_out

    def test_links_out_of_the_folder_and_fifos_are_left_out_and_named(self):
        (self.media / "latest.jpg").symlink_to("photos/a.jpg")
        (self.media / "passwd").symlink_to("/etc/passwd")
        (self.media / "photos/keys").symlink_to("../../backups")
        os.mkfifo(self.media / "pipe")
        path, left_out = self.write()
        self.assertEqual(
            left_out,
            [
                "passwd -> /etc/passwd",
                "photos/keys -> ../../backups",
                "pipe (a device file or fifo)",
            ],
        )
        with tarfile.open(path) as tar:
            self.assertEqual(tar.getnames(), ["latest.jpg", "photos", "photos/a.jpg"])
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600)

    def test_a_link_out_through_another_link_refuses_the_backup(self):
        (self.media / "here").symlink_to(".")
        (self.media / "through").symlink_to("here/..")
        with self.assertRaisesRegex(StackError, r"through links outside the folder \(to here/"):
            self.write()

    def test_restored_media_take_the_folders_place_for_the_backends_user(self):
        path, _ = self.write()
        (self.media / "photos").rename(self.root / "gone")
        (self.media / "old.txt").write_text("replaced")
        with mock.patch.object(backup.os, "lchown") as lchown:
            incoming, said = backup.unpack_media(path, self.media)
        self.assertEqual((said, incoming), ([], self.root / "media.restoring"))
        previous = backup.beside(self.media, "before-restore")
        inode = self.media.stat().st_ino
        backup.swap_media(self.media, incoming, previous)
        self.assertEqual(self.media.stat().st_ino, inode)  # the containers mount it
        self.assertEqual((self.media / "photos/a.jpg").read_bytes(), b"\xff\xd8")
        self.assertEqual([p.name for p in self.media.iterdir()], ["photos"])
        self.assertEqual([p.name for p in previous.iterdir()], ["old.txt"])
        self.assertEqual(list(incoming.iterdir()), [])
        uid = backup.images.BACKEND_UID
        chowned = {call.args for call in lchown.call_args_list}
        expected = [self.media, incoming / "photos", incoming / "photos/a.jpg"]
        self.assertEqual(chowned, {(p, uid, uid) for p in expected})

    def test_a_failed_swap_puts_every_entry_back(self):
        incoming = self.root / "incoming"
        (incoming / "b").mkdir(parents=True)
        (incoming / "c").mkdir()
        previous = self.root / "previous"
        real_rename = Path.rename

        def rename(path, to):
            if path.name == "c":
                raise OSError("disk gone")
            return real_rename(path, to)

        failed = self.assertRaisesRegex(StackError, "putting the restored media in place failed")
        with mock.patch.object(Path, "rename", rename), failed:
            backup.swap_media(self.media, incoming, previous)
        self.assertEqual([p.name for p in self.media.iterdir()], ["photos"])
        self.assertEqual(sorted(p.name for p in incoming.iterdir()), ["b", "c"])

    def test_without_the_right_to_chown_it_says_the_command(self):
        path, _ = self.write()
        with mock.patch.object(backup.os, "lchown", side_effect=PermissionError):
            _, said = backup.unpack_media(path, self.media)
        self.assertEqual(len(said), 1)
        self.assertIn(f"sudo chown -R 10001:10001 {self.media}", said[0])


class FakeSite:
    """A deployment's database and services as restore() drives them: records the scripts
    it runs and the starts and stops; `failing` scripts and a first `start` fail."""

    def __init__(self, failing=(), start_fails=False):
        self.done, self.failing, self.start_fails = [], failing, start_fails

    def db(self, script, stdin=None, text=False, **options):
        name = {
            backup.PREPARE: "PREPARE",
            backup.SWITCH: "SWITCH",
            backup.SWITCH_BACK: "SWITCH_BACK",
            backup._drop(backup.RESTORING): "drop restoring",
            backup._drop(backup.REPLACED): "drop replaced",
        }.get(script, "query")
        self.done.append(name)
        failed = name in self.failing
        return subprocess.CompletedProcess(
            script, int(failed), "" if text else b"", b"pg_restore: error: bad dump" * failed
        )

    def start_db(self):
        pass

    def stop_writers(self):
        self.done.append("stop")

    def start(self):
        self.done.append("start")
        if self.start_fails:
            self.start_fails = False
            raise StackError("starting the services (docker compose up -d --wait) failed: boom")


class RestoreTest(unittest.TestCase):
    """What a restore that fails leaves: the data as it was, the services running."""

    def setUp(self):
        root = Path(tempfile.mkdtemp())
        self.app, self.media, self.folder = root / "app", root / "data/media", root / "backup"
        for folder in (self.app, self.media / "uploads", self.folder):
            folder.mkdir(parents=True)
        (self.media / "uploads/old.bin").write_bytes(b"old")
        (self.app / ".env").write_text("DJANGO_SECRET_KEY=same\n")
        (self.folder / backup.ENV_COPY).write_text("DJANGO_SECRET_KEY=same\n")
        (self.folder / backup.DATABASE).write_bytes(b"dump")
        with tarfile.open(self.folder / backup.MEDIA, "w") as tar:
            info = tarfile.TarInfo("new.bin")
            info.size = 3
            tar.addfile(info, io.BytesIO(b"new"))
        files = [backup.DATABASE, backup.MEDIA, backup.ENV_COPY]
        content = backup.manifest(self.folder, files)
        (self.folder / backup.MANIFEST).write_text(json.dumps(content))

    def restore(self, site):
        deployment = Deployment(Path("stack"), self.app)
        deployment.data_folders = [self.media, self.media.parent / "logs"]  # as read once
        with contextlib.ExitStack() as patches:
            for owner, name, value in (
                (targets, "find", site),
                (backup, "backup", ["Backed up to somewhere (1 kB)"]),
                (backup.os, "lchown", None),
            ):
                patches.enter_context(mock.patch.object(owner, name, return_value=value))
            patches.enter_context(redirect_stdout(io.StringIO()))
            patches.enter_context(redirect_stderr(io.StringIO()))
            return backup.restore(deployment, self.folder, replace=True)

    def assert_as_before(self):
        self.assertEqual(sorted(p.name for p in self.media.parent.iterdir()), ["media"])
        self.assertEqual([p.name for p in self.media.iterdir()], ["uploads"])
        self.assertEqual((self.media / "uploads/old.bin").read_bytes(), b"old")

    def test_a_dump_that_does_not_restore_changes_nothing_and_stops_nothing(self):
        site = FakeSite(failing={"PREPARE"})
        wrong = "pg_restore.*bad dump; nothing changed: the site serves as before$"
        with self.assertRaisesRegex(StackError, wrong):
            self.restore(site)
        self.assertEqual(site.done, ["query", "PREPARE", "drop restoring"])  # nothing stopped
        self.assert_as_before()

    def test_data_that_does_not_start_is_switched_back_and_the_site_started(self):
        site = FakeSite(start_fails=True)
        with self.assertRaisesRegex(StackError, "boom; the data before is back$"):
            self.restore(site)
        self.assertEqual(
            site.done,
            ["query", "PREPARE", "stop", "SWITCH", "start"]
            + ["stop", "SWITCH_BACK", "start", "drop restoring"],
        )
        self.assert_as_before()

    def test_a_restore_that_works_leaves_only_the_restored_data(self):
        site = FakeSite()
        said = self.restore(site)
        self.assertEqual(
            site.done, ["query", "PREPARE", "stop", "SWITCH", "start", "drop replaced"]
        )
        self.assertTrue(said[-1].endswith("the site is up"), said)
        self.assertEqual(sorted(p.name for p in self.media.parent.iterdir()), ["media"])
        self.assertEqual((self.media / "new.bin").read_bytes(), b"new")
        self.assertEqual([p.name for p in self.media.iterdir()], ["new.bin"])
