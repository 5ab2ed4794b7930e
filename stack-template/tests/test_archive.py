import io
import os
import re
import shutil
import stat
import tarfile
import tempfile
import unittest
from pathlib import Path

from stacktool import archive
from stacktool.errors import StackError


def member(name, kind=tarfile.REGTYPE, link="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    if kind == tarfile.REGTYPE:
        info.size = len(name)
    return info


def tar_of(folder: Path, *members: tarfile.TarInfo) -> Path:
    path = folder / "crafted.tar"
    with tarfile.open(path, "w") as tar:
        for info in members:
            tar.addfile(info, io.BytesIO(info.name.encode()) if info.isfile() else None)
    return path


GOOD = [
    member("photos", tarfile.DIRTYPE, mode=0o755),
    member("photos/a.jpg"),
    member("latest.jpg", tarfile.SYMTYPE, "photos/a.jpg"),
    member("photos/up", tarfile.SYMTYPE, "../latest.jpg"),
    member("same.jpg", tarfile.LNKTYPE, "photos/a.jpg"),
    member("photos/setuid", mode=0o4777),
]
# Each would put something outside the folder, or is no file: (member, why).
BAD = {
    "escaping name": (member("../escaped.txt"), "../escaped.txt leaves the folder"),
    "absolute name": (member("/etc/cron.d/x"), "/etc/cron.d/x leaves the folder"),
    "name escaping late": (member("photos/../../x"), "leaves the folder"),
    "absolute link": (
        member("pw", tarfile.SYMTYPE, "/etc/passwd"),
        "pw links to the absolute path /etc/passwd",
    ),
    "relative link out": (
        member("photos/env", tarfile.SYMTYPE, "../../backups/app.env"),
        "photos/env links outside the folder (to ../../backups/app.env)",
    ),
    "hard link out": (member("h", tarfile.LNKTYPE, "../x"), "h links outside the folder"),
    "fifo": (member("pipe", tarfile.FIFOTYPE), "pipe is a device file or fifo"),
    "device": (member("disk", tarfile.BLKTYPE), "disk is a device file or fifo"),
}


class CheckTest(unittest.TestCase):
    def test_files_folders_and_links_inside_pass(self):
        self.assertEqual(archive.problems(GOOD), [])

    def test_each_way_out_is_named(self):
        for case, (info, why) in BAD.items():
            with self.subTest(case):
                self.assertEqual(len(archive.problems([*GOOD, info])), 1)
                self.assertIn(why, archive.problems([*GOOD, info])[0])

    def test_links_that_lead_out_through_other_links_are_refused(self):
        here = member("here", tarfile.SYMTYPE, ".")
        through = member("through", tarfile.SYMTYPE, "here/..")
        self.assertEqual(archive.problems([here]), [])
        self.assertEqual(archive.problems([through]), [])  # alone, it stays inside
        self.assertEqual(
            archive.problems([here, through]), ["through links outside the folder (to here/..)"]
        )
        loop = [member("a", tarfile.SYMTYPE, "b"), member("b", tarfile.SYMTYPE, "a")]
        self.assertEqual(len(archive.problems(loop)), 2)

    def test_a_member_beneath_a_link_is_refused(self):
        found = archive.problems(
            [member("photos", tarfile.SYMTYPE, "."), member("photos/x", tarfile.SYMTYPE, "..")]
        )
        self.assertEqual(found, ["photos/x lies beneath a link"])


class ExtractTest(unittest.TestCase):
    """Both ways: with tarfile's data filter (where this Python has it) and without (Python
    3.9.0-3.9.16, 3.10.0-3.10.11, 3.11.0-3.11.3), where the check alone guards."""

    WAYS = [False, True] if archive.HAS_DATA_FILTER else [False]

    def setUp(self):
        self.root = Path(tempfile.mkdtemp())

    def test_a_good_archive_unpacks_with_its_links_and_without_set_uid_bits(self):
        path = tar_of(self.root, *GOOD)
        for data_filter in self.WAYS:
            with self.subTest(data_filter=data_filter):
                into = self.root / f"into-{data_filter}"
                archive.extract(path, into, "the media folder", data_filter=data_filter)
                self.assertEqual((into / "latest.jpg").read_bytes(), b"photos/a.jpg")
                self.assertEqual((into / "photos/up").resolve(), (into / "photos/a.jpg"))
                self.assertEqual(os.readlink(into / "latest.jpg"), "photos/a.jpg")
                self.assertTrue((into / "same.jpg").samefile(into / "photos/a.jpg"))
                mode = stat.S_IMODE((into / "photos/setuid").stat().st_mode)
                self.assertEqual(mode & (stat.S_ISUID | stat.S_IWOTH), 0)

    def test_a_bad_member_stops_it_before_anything_is_written(self):
        for case, (info, _) in BAD.items():
            path = tar_of(self.root, *GOOD[:2], info)
            for data_filter in self.WAYS:
                with self.subTest(case, data_filter=data_filter):
                    into = self.root / "into"
                    wrong = "crafted.tar cannot be unpacked: .*"
                    wrong += re.escape(info.name)
                    with self.assertRaisesRegex(StackError, wrong):
                        archive.extract(path, into, "the media folder", data_filter=data_filter)
                    self.assertFalse(into.exists())
                    self.assertEqual(sorted(p.name for p in self.root.iterdir()), ["crafted.tar"])
            path.unlink()

    def test_a_damaged_archive_is_one_error(self):
        path = tar_of(self.root, *GOOD)
        whole = path.read_bytes()
        for damaged in (whole[:1100], b"not a tar"):  # cut in a file's data; no tar at all
            path.write_bytes(damaged)
            with self.assertRaisesRegex(StackError, "^unpacking .*crafted.tar into the media"):
                archive.extract(path, self.root / "into", "the media folder")
            shutil.rmtree(self.root / "into", ignore_errors=True)
