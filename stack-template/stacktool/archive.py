"""Tar archives the tool unpacks (a backup's media, a release's export of the app), checked
member by member before anything is written.

A member may be a file, a folder, a hard link or a symbolic link, each staying inside the
folder it is unpacked into: no absolute name, no `..` past the top, no link whose target
lies outside (absolute, or relative through `..` and other links of the archive), no member
beneath a link, no device file or fifo. Where Python has tarfile's data filter (3.12, and
3.9.17, 3.10.12, 3.11.4 on) it guards the extraction too; before that, the check is all there
is, so extraction then also drops what the data filter would: set-uid bits, write bits for
others, the archive's owners.
"""

from __future__ import annotations

import copy
import os
import posixpath
import tarfile
from pathlib import Path

from .errors import StackError

HAS_DATA_FILTER = hasattr(tarfile, "data_filter")
LINK_HOPS = 40  # as the kernel's limit on links followed in one path


def _walk(path: str, links: dict[str, str], start: list[str], hops: int = 0) -> list[str] | None:
    """The folder components `path` (relative to `start`) leads to, following the archive's
    links; None when it leaves the top folder (or loops)."""
    at = list(start)
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not at:
                return None
            at.pop()
            continue
        at.append(part)
        target = links.get("/".join(at))
        if target is not None:
            if posixpath.isabs(target) or hops >= LINK_HOPS:
                return None
            at = _walk(target, links, at[:-1], hops + 1)
            if at is None:
                return None
    return at


def problems(members: list[tarfile.TarInfo]) -> list[str]:
    """Each member that would not stay inside the folder, and why: "NAME leaves the folder"."""
    links = {
        posixpath.normpath(m.name): m.linkname for m in members if m.issym() and m.name.strip("/")
    }
    found = []
    for member in members:
        name = posixpath.normpath(member.name)
        parts = name.split("/")
        if posixpath.isabs(member.name) or name == ".." or name.startswith("../"):
            why = "leaves the folder"
        elif any("/".join(parts[:n]) in links for n in range(1, len(parts))):
            why = "lies beneath a link"
        elif not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
            why = "is a device file or fifo"
        elif (member.issym() or member.islnk()) and posixpath.isabs(member.linkname):
            why = f"links to the absolute path {member.linkname}"
        elif (member.issym() or member.islnk()) and _walk(
            member.linkname, links, parts[:-1] if member.issym() else []
        ) is None:
            why = f"links outside the folder (to {member.linkname})"
        else:
            continue
        found.append(f"{member.name} {why}")
    return found


def _plain(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """The member as the data filter would extract it, for Pythons without that filter:
    owned by whoever extracts, no set-uid bits, no write for others."""
    member = copy.copy(member)
    member.uid, member.gid, member.uname, member.gname = os.geteuid(), os.getegid(), "", ""
    if member.isfile() or member.isdir():
        member.mode = (member.mode & 0o755) | (0o700 if member.isdir() else 0o600)
    return member


def extract(archive: Path, folder: Path, into: str, data_filter: bool = HAS_DATA_FILTER) -> None:
    """Unpack `archive` into `folder` (which it creates), once every member passed the
    check; else a StackError naming the members (`into` names the folder for the user)."""
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            wrong = problems(members)
            if wrong:
                more = f"; and {len(wrong) - 5} more" if len(wrong) > 5 else ""
                shown = "; ".join(wrong[:5]).replace("the folder", into)
                raise StackError(f"{archive} cannot be unpacked: {shown}{more}")
            folder.mkdir(mode=0o700)
            if data_filter:
                tar.extractall(folder, filter="data")
            else:  # the check above is what guards it ("fully_trusted": as before 3.12)
                trusted = {"filter": "fully_trusted"} if HAS_DATA_FILTER else {}
                tar.extractall(folder, members=[_plain(m) for m in members], **trusted)
    except (tarfile.TarError, OSError) as error:
        raise StackError(f"unpacking {archive} into {into} failed: {error}") from None
