"""Backups of a deployment, and their restore: ./stack backup, ./stack restore.

A backup holds what a deployment cannot regenerate: the database (pg_dump's custom format,
taken from the running db container, so it is consistent), the uploaded media (a tar of
$DATA_ROOT/<deployment>/media) and the app's .env (the secrets the data depends on). It is a
folder $DATA_ROOT/<deployment>/backups/<UTC time>/ (mode 700) with a manifest.json giving
each file's size and sha256, the template version and the app's commit. A folder appears
only once complete; the newest BACKUP_KEEP (in .env, default 7) are kept.

Restore changes nothing until the backup is known to restore: it checks the checksums and
every member of the media's tar, refuses a database that holds rows or media that are there
unless told to replace them, unpacks the media beside the media folder and restores the
database into a new database, while the site serves. Only then does it back up the data it
replaces (nothing is lost), stop the services that write, switch to the new database (a
rename, in one step) and the new media, and start everything again; a failure on the way
puts the data before back. Every file of a backup is private (mode 600, in a 700 folder).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from . import archive, dotenv, images, targets
from .deployment import BACKUPS, Deployment
from .errors import StackError

MANIFEST = "manifest.json"
DATABASE, MEDIA, ENV_COPY = "database.dump", "media.tar", "app.env"
ENV_BEFORE = ".env-before-restore"  # the .env that restore --env changed, in BACKUPS
DEFAULT_KEEP = 7
# A backup folder's name: its UTC time, e.g. 20261126T031500Z (a -2 when two share a second).
NAME = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
# Tables `migrate` fills by itself, and Django's database cache (rate-limit counters, which any
# visit of a fresh site writes): rows there are not data a restore would replace.
MIGRATE_FILLS = ("django_migrations", "django_content_type", "auth_permission", "django_cache")
# The database password belongs to the database volume, not to its data (a dump holds no
# passwords), so a new server may keep its own.
NOT_DATA_SECRETS = {"POSTGRES_PASSWORD"}

DUMP = 'pg_dump --format=custom --username="$POSTGRES_USER" --dbname="$POSTGRES_DB"'
# The databases beside the deployment's during a restore: the one being restored, and the
# one it replaced (dropped once the site runs on the new one).
RESTORING, REPLACED = "_restoring", "_before_restore"
DB = "${POSTGRES_DB}"  # the deployment's database, in the db container's shell
PSQL = (
    "PGOPTIONS=--client-min-messages=warning"
    ' psql -Xq -v ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname=template1'
)


def _drop(suffix: str) -> str:
    return f'{PSQL} -c "DROP DATABASE IF EXISTS \\"{DB}{suffix}\\" WITH (FORCE)"'


def _switch(aside: str, into: str) -> str:
    """Rename the deployment's database to its name + `aside`, and the one named + `into` to
    its name, in one transaction: the site sees the one or the other, never neither."""
    return (
        f'{PSQL} -c "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity'
        " WHERE datname = '$POSTGRES_DB' AND pid <> pg_backend_pid();"
        f' ALTER DATABASE \\"$POSTGRES_DB\\" RENAME TO \\"{DB}{aside}\\";'
        f' ALTER DATABASE \\"{DB}{into}\\" RENAME TO \\"$POSTGRES_DB\\""'
    )


# Restore the dump (stdin) into a new database beside the deployment's.
PREPARE = (
    f"set -e\n{_drop(RESTORING)}\n"
    f'{PSQL} -c "CREATE DATABASE \\"{DB}{RESTORING}\\" OWNER \\"$POSTGRES_USER\\""\n'
    "pg_restore --no-owner --exit-on-error"
    f' --username="$POSTGRES_USER" --dbname="{DB}{RESTORING}"'
)
SWITCH = f"set -e\n{_drop(REPLACED)}\n{_switch(REPLACED, RESTORING)}"
SWITCH_BACK = f"set -e\n{_switch(RESTORING, REPLACED)}\n{_drop(RESTORING)}"
TABLES_WITH_ROWS = (
    "SELECT table_name FROM information_schema.tables"
    " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    " AND table_name NOT IN ({})"
    " AND (xpath('/row/n/text()', query_to_xml(format("
    "'SELECT count(*) AS n FROM (SELECT 1 FROM %I.%I LIMIT 1) s', table_schema, table_name),"
    " false, true, '')))[1]::text <> '0' ORDER BY table_name"
).format(", ".join(f"'{table}'" for table in MIGRATE_FILLS))


# ---- The pure parts ---------------------------------------------------------------------


def folder_name(moment: datetime.datetime, taken: set[str]) -> str:
    """The backup folder's name for a UTC moment, not one of `taken`."""
    name = moment.strftime("%Y%m%dT%H%M%SZ")
    number = 1
    while name in taken or f"{name}.partial" in taken:
        number += 1
        name = f"{moment.strftime('%Y%m%dT%H%M%SZ')}-{number}"
    return name


def _order(name: str) -> tuple[str, int]:
    stamp, _, number = name.partition("-")
    return stamp, int(number or 1)


def complete_backups(backups: Path) -> list[Path]:
    """The complete backups in `backups`, oldest first."""
    if not backups.is_dir():
        return []
    found = [p for p in backups.iterdir() if NAME.match(p.name) and (p / MANIFEST).is_file()]
    return sorted(found, key=lambda p: _order(p.name))


def to_remove(backups: list[Path], keep: int) -> list[Path]:
    """Of backups listed oldest first, those past the newest `keep`."""
    return backups[: max(len(backups) - keep, 0)]


def keep_count(option: int | None, env: dict[str, str]) -> int:
    """How many backups to keep: --keep, else BACKUP_KEEP of .env, else DEFAULT_KEEP."""
    value = option if option is not None else env.get("BACKUP_KEEP") or DEFAULT_KEEP
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise StackError(
            f"keep {value!r} backups? Give a whole number of at least 1: --keep 7, "
            "or BACKUP_KEEP=7 in the app's .env"
        )
    return count


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest(folder: Path, files: list[str], **facts: str | None) -> dict:
    """The manifest of the files in `folder`: each one's size and sha256, and `facts`."""
    return {
        **facts,
        "files": {
            name: {"bytes": (folder / name).stat().st_size, "sha256": sha256(folder / name)}
            for name in files
        },
    }


def verify(folder: Path) -> dict:
    """The backup's manifest, once every file matches it; else an error naming the fix."""
    others = "restore another backup (./stack restore --app APP FOLDER)"
    path = folder / MANIFEST
    if not folder.is_dir():
        raise StackError(
            f"backup {folder} not found: name a backup folder (one holding {MANIFEST}), "
            f"e.g. one in $DATA_ROOT/<deployment>/{BACKUPS}/, or make one with ./stack backup"
        )
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        files = content["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise StackError(
            f"{path} is missing or unreadable: {folder} is not a complete backup; {others}"
        ) from None
    for name in (DATABASE, MEDIA, ENV_COPY):
        if name not in files:
            raise StackError(f"{path} lists no {name}: {folder} is incomplete; {others}")
    for name, expected in files.items():
        file = folder / name
        if not file.is_file():
            raise StackError(f"{file} is missing: the backup is incomplete; {others}")
        if file.stat().st_size != expected["bytes"] or sha256(file) != expected["sha256"]:
            raise StackError(
                f"{file} does not match its sha256 in {MANIFEST}: the backup is damaged; "
                f"{others}, or copy this one again from where it came from"
            )
    return content


def human(size: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def differing_secrets(present: dict[str, str], backed_up: dict[str, str]) -> list[str]:
    """The secrets of the backup's .env (dotenv.is_sensitive) the present .env gives another
    value: the data may depend on them (signatures, encrypted fields)."""
    return sorted(
        key
        for key, value in backed_up.items()
        if dotenv.is_sensitive(key)
        and key not in NOT_DATA_SECRETS
        and key in present
        and present[key] != value
    )


# ---- The database ---------------------------------------------------------------------


def tables_with_rows(site: targets.Target) -> list[str]:
    script = f'psql -XAtq -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "{TABLES_WITH_ROWS}"'
    result = site.db(script, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"looking at the database failed: {result.stderr.strip()[-800:]}")
    return result.stdout.split()


def app_commit(app: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(app), "rev-parse", "HEAD"], capture_output=True, text=True
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


# ---- The commands ---------------------------------------------------------------------------


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _private_file(path: Path, mode: str = "wb"):
    """A new file only its owner reads (mode 600, whatever the umask)."""
    flags = (os.O_RDWR if "+" in mode else os.O_WRONLY) | os.O_CREAT | os.O_EXCL
    return os.fdopen(os.open(path, flags, 0o600), mode)


def _kept(member: tarfile.TarInfo, left_out: list[str]) -> tarfile.TarInfo | None:
    """tar.add's filter: a member that restores, else None (noted in `left_out`)."""
    if not archive.problems([member]):
        return member
    kind = f"-> {member.linkname}" if member.issym() else "(a device file or fifo)"
    left_out.append(f"{member.name} {kind}")
    return None


def write_media(media: Path, file) -> list[str]:
    """Tar the media folder's content into `file`, without what restore would refuse (links
    leaving the folder, device files, fifos); return what was left out."""
    left_out: list[str] = []
    with tarfile.open(fileobj=file, mode="w") as tar:
        if media.is_dir():
            for entry in sorted(media.iterdir()):
                tar.add(entry, arcname=entry.name, filter=lambda m: _kept(m, left_out))
    file.seek(0)
    with tarfile.open(fileobj=file, mode="r:") as tar:
        wrong = archive.problems(tar.getmembers())
    if wrong:  # links through other links: no member alone shows it
        raise StackError(
            f"the media folder {media} holds links that lead out of it: {'; '.join(wrong[:5])}."
            " Replace them with the files, or remove them, then back up again"
        )
    return left_out


def backup(deployment: Deployment, keep: int | None = None, prune: bool = True) -> list[str]:
    """Back up the deployment; return what to tell the user."""
    app = deployment.app
    count = keep_count(keep, deployment.env)
    media, backups = deployment.media, deployment.backups
    site = targets.find(deployment)
    if not site.db_running():
        raise StackError(
            f"the database of {app} is not running: start it (make up, or docker compose "
            "-f docker-compose.app.yml up -d --wait), then back up"
        )
    _private_dir(backups)
    moment = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    name = folder_name(moment, {p.name for p in backups.iterdir()})
    work = backups / f"{name}.partial"
    _private_dir(work)
    try:
        with _private_file(work / DATABASE) as dump:
            result = site.db(DUMP, stdout=dump, stderr=subprocess.PIPE)
        if result.returncode != 0:
            raise StackError(f"pg_dump failed: {result.stderr.decode(errors='replace')[-800:]}")
        with _private_file(work / MEDIA, "w+b") as tar:
            left_out = write_media(media, tar)
        with _private_file(work / ENV_COPY) as copy:
            copy.write(deployment.env_text.encode("utf-8"))
        content = manifest(
            work,
            [DATABASE, MEDIA, ENV_COPY],
            project=deployment.name,
            created=moment.isoformat().replace("+00:00", "Z"),
            template_version=deployment.version,
            app_commit=app_commit(app),
        )
        with _private_file(work / MANIFEST, "w") as file:
            file.write(json.dumps(content, indent=2) + "\n")
        work.rename(backups / name)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if left_out:  # on stderr: cron mails it
        print(
            f"warning: left out of the backup, as they lead out of {media} or are no files: "
            + ", ".join(left_out),
            file=sys.stderr,
        )
    files = content["files"]
    total = sum(f["bytes"] for f in files.values())
    sizes = {part: human(file["bytes"]) for part, file in files.items()}
    said = [
        f"Backed up to {backups / name} ({human(total)}: database {sizes[DATABASE]},"
        f" media {sizes[MEDIA]}, .env)"
    ]
    if prune:
        old = to_remove(complete_backups(backups), count)
        for folder in old:
            shutil.rmtree(folder)
        if old:
            said.append(f"Removed {len(old)} older backups: keeping the newest {count}")
    return said


def chosen_backup(deployment: Deployment, named: Path | None) -> Path:
    """The named backup, or the newest in the named folder of backups, or by default the
    newest of the deployment's."""
    app = deployment.app
    if named is None:
        backups = deployment.backups
    elif (named / MANIFEST).exists() or not named.is_dir():
        return named.resolve()  # verify() says what is wrong with it
    else:
        backups = named.resolve()
    found = complete_backups(backups)
    if not found:
        raise StackError(
            f"no backup in {backups}: make one with ./stack backup --app {app}, or name the "
            f"backup folder: ./stack restore --app {app} FOLDER"
        )
    return found[-1]


def settle_env(app: Path, folder: Path, take_env: bool) -> tuple[list[str], dict[str, str]]:
    """Write the backup's .env where there is none; return what to say, and the secrets to
    take from the backup into a present .env (only with take_env, else an error)."""
    env, copy = app / dotenv.ENV, folder / ENV_COPY
    if not env.exists():
        with _private_file(env) as file:
            file.write(copy.read_bytes())
        return [f"Wrote {env} (mode 600) from the backup"], {}
    backed_up = dotenv.read(copy)
    differing = differing_secrets(dotenv.read_env(app), backed_up)
    if differing and not take_env:
        raise StackError(
            f"{env} has other values than the backup's .env for {', '.join(differing)}: the "
            "data may depend on them (signatures, encrypted fields). Add --env to take the "
            "backup's values (the present .env is kept in the deployment's backups folder), "
            f"or copy them into {env} yourself"
        )
    return [], {key: backed_up[key] for key in differing}


def take_secrets(app: Path, values: dict[str, str], backups: Path) -> list[str]:
    """Put the backup's `values` into the app's .env, its present text kept privately in
    `backups` (never in the app's checkout, where `git add` would take it)."""
    env = app / dotenv.ENV
    text = env.read_text(encoding="utf-8")
    _private_dir(backups)
    moment = datetime.datetime.now(datetime.timezone.utc)
    taken = {p.name.replace(ENV_BEFORE, "") for p in backups.iterdir()}
    kept = backups / f"{folder_name(moment, taken)}{ENV_BEFORE}"
    with _private_file(kept, "w") as file:
        file.write(text)
    env.write_text(dotenv.with_values(text, values, env), encoding="utf-8")
    return [f"Took {', '.join(values)} from the backup's .env; the old .env is in {kept}"]


def beside(media: Path, what: str) -> Path:
    """A folder beside the media folder (on its file system, so entries move by rename)."""
    return media.with_name(f"{media.name}.{what}")


def unpack_media(tar_path: Path, media: Path) -> tuple[Path, list[str]]:
    """Unpack the backup's media beside the media folder, for the backend's user; return
    that folder and what to say."""
    incoming = beside(media, "restoring")
    shutil.rmtree(incoming, ignore_errors=True)  # a copy left by a restore cut short
    archive.extract(tar_path, incoming, "the media folder")
    uid = images.BACKEND_UID
    try:
        for path in [media, *incoming.rglob("*")]:
            if path.lstat().st_uid != uid or path.lstat().st_gid != uid:
                os.lchown(path, uid, uid)
    except PermissionError:
        return incoming, [
            f"note: cannot give the media to the backend's user: sudo chown -R {uid}:{uid} {media}"
        ]
    return incoming, []


def swap_media(media: Path, incoming: Path, previous: Path) -> None:
    """Move the media folder's entries into `previous` and those of `incoming` into it. The
    folder itself stays: the containers mount it. On a failure, every move is undone."""
    previous.mkdir(mode=0o700, exist_ok=True)
    moved: list[tuple[Path, Path]] = []
    try:
        for source, into in ((media, previous), (incoming, media)):
            for entry in sorted(source.iterdir()):
                entry.rename(into / entry.name)
                moved.append((entry, into / entry.name))
    except OSError as error:
        for was, now in reversed(moved):
            now.rename(was)
        raise StackError(f"putting the restored media in place failed: {error}") from None


def _db_or_fail(site: targets.Target, script: str, doing: str, stdin=None) -> None:
    result = site.db(script, stdin=stdin, capture_output=True)
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        raise StackError(f"{doing} failed: {' '.join(lines[-3:])[-600:]}")


def restore(
    deployment: Deployment,
    named: Path | None = None,
    replace: bool = False,
    take_env: bool = False,
) -> list[str]:
    """Restore a backup (default: the newest) into the deployment."""
    app = deployment.app
    if named is None:
        deployment.check_env()  # the backups are found through it
    folder = chosen_backup(deployment, named)
    facts = verify(folder)
    said, secrets = settle_env(app, folder, take_env)
    if said:  # settle_env wrote the backup's .env: read it anew
        deployment = Deployment(deployment.stack, app)
    media = deployment.media
    previous = beside(media, "before-restore")
    if previous.exists():
        raise StackError(
            f"{previous} is left from a restore that did not finish: it holds the media from "
            "before it. Move it away (or delete it), then restore again"
        )
    site = targets.find(deployment)
    site.start_db()
    rows = tables_with_rows(site)
    media.mkdir(parents=True, exist_ok=True)
    media_there = any(media.iterdir())
    if (rows or media_there) and not replace:
        holds = (
            [f"rows in {', '.join(rows[:5])}" + (" ..." if len(rows) > 5 else "")] if rows else []
        )
        holds += [f"files in {media}"] if media_there else []
        raise StackError(
            f"the deployment already holds data ({'; '.join(holds)}): add --replace to "
            "replace it (it is backed up first), or restore into a fresh deployment"
        )
    print(f"Restoring {folder} (of {facts.get('project')}, {facts.get('created')})", flush=True)
    unchanged = "nothing changed: the site serves as before"
    start = time.monotonic()
    incoming = beside(media, "restoring")
    try:
        incoming, note = unpack_media(folder / MEDIA, media)
        with (folder / DATABASE).open("rb") as dump:
            _db_or_fail(site, PREPARE, "restoring the database (pg_restore)", stdin=dump)
    except BaseException as error:
        shutil.rmtree(incoming, ignore_errors=True)
        site.db(_drop(RESTORING), capture_output=True)
        if isinstance(error, StackError):
            raise StackError(f"{error}; {unchanged}") from None
        raise
    said += note
    if rows or media_there:
        said += [f"Backed up the data it replaces first: {backup(deployment, prune=False)[0]}"]
    if secrets:
        said += take_secrets(app, secrets, media.parent / BACKUPS)
    prepared, stopped = time.monotonic() - start, time.monotonic()
    print("Stopping what writes, switching to the restored data", flush=True)
    site.stop_writers()
    try:
        _db_or_fail(site, SWITCH, "switching to the restored database")
        try:
            swap_media(media, incoming, previous)
            site.start()
        except StackError as error:
            print(f"{error}: putting the data before back", file=sys.stderr, flush=True)
            site.stop_writers()
            swap_media(media, previous, incoming)
            _db_or_fail(site, SWITCH_BACK, "switching back to the database before")
            raise StackError(f"{error}; the data before is back") from None
    except StackError:
        site.start()
        site.db(_drop(RESTORING), capture_output=True)
        shutil.rmtree(incoming, ignore_errors=True)
        with contextlib.suppress(OSError):
            previous.rmdir()  # unless putting the media back failed: then it holds them
        raise
    seconds, stopped = time.monotonic() - start, time.monotonic() - stopped
    _db_or_fail(site, _drop(REPLACED), "removing the database before the restore")
    shutil.rmtree(previous)
    shutil.rmtree(incoming)
    said.append(
        f"Restored {folder} in {seconds:.1f} s ({prepared:.1f} s to unpack and restore beside"
        f" the site, {stopped:.1f} s to switch with what writes stopped); the site is up"
    )
    return said
