import datetime
import hashlib
import json
import stat
import tarfile
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from stacktool import backup
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
        backup.take_secrets(self.app, take)
        self.assertEqual(
            (self.app / ".env").read_text(),
            "DOMAIN=new.example\n# keep me\nDJANGO_SECRET_KEY=old\nPOSTGRES_PASSWORD=new\n",
        )
        kept = self.app / ".env.before-restore"
        self.assertEqual(kept.read_text(), text)
        self.assertEqual(stat.S_IMODE(kept.stat().st_mode), 0o600)


class MediaTest(unittest.TestCase):
    def test_restored_media_replace_the_folders_content_and_go_to_the_backends_user(self):
        root = Path(tempfile.mkdtemp())
        source, media = root / "source", root / "media"
        (source / "photos").mkdir(parents=True)
        (source / "photos/a.jpg").write_bytes(b"\xff\xd8")
        with tarfile.open(root / "media.tar", "w") as tar:
            tar.add(source / "photos", arcname="photos")
        media.mkdir()
        (media / "old.txt").write_text("replaced")
        with mock.patch.object(backup.os, "lchown") as lchown:
            self.assertEqual(backup.restore_media(root / "media.tar", media), [])
        self.assertEqual((media / "photos/a.jpg").read_bytes(), b"\xff\xd8")
        self.assertFalse((media / "old.txt").exists())
        uid = backup.images.BACKEND_UID
        chowned = {call.args for call in lchown.call_args_list}
        self.assertEqual(
            chowned, {(p, uid, uid) for p in [media, media / "photos", media / "photos/a.jpg"]}
        )

    def test_without_the_right_to_chown_it_says_the_command(self):
        root = Path(tempfile.mkdtemp())
        with tarfile.open(root / "media.tar", "w"):
            pass
        with mock.patch.object(backup.os, "lchown", side_effect=PermissionError):
            said = backup.restore_media(root / "media.tar", root / "media")
        self.assertEqual(len(said), 1)
        self.assertIn(f"sudo chown -R 10001:10001 {root / 'media'}", said[0])
