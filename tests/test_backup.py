"""Backups, restore and the move to a new server, under the real Docker engine, with the
commands the app's README gives (make backup, make restore, the cron line, the move).

One deployment ("old") gets notes through the API, a superuser and an uploaded file. It is
backed up, taken down with its volumes and its uploads deleted, and restored: the same rows,
bytes and admin login. Refusals change nothing. The move copies only the app's checkout and
a backup to another folder, DATA_ROOT, compose project and volumes, and restores there.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import io
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import tarfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from deployments import (
    Deployment,
    Load,
    deployment_of,
    health,
    is_failure,
    listen_on_free_ports,
    set_env,
    unique_project,
)
from helpers import ENV, readme_blocks, record_timing, run

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SLUG = "igny8"
ADMIN, PASSWORD = "boss@example.com", "a long admin password 42"  # e-mail: the login
NOTES = [{"title": f"note {n}", "body": f"body of note {n}"} for n in range(3)]
UPLOAD = "uploads/photo.bin"
UPLOAD_BYTES = os.urandom(300_000)
COMPOSE = ("docker", "compose", "-f", "docker-compose.app.yml")


@pytest.fixture(scope="module")
def old(template, tmp_path_factory):
    base = tmp_path_factory.mktemp("backup") / "old server"
    with deployment_of(template, base, "backup", SLUG, app_packages=False) as deployment:
        yield deployment


def media_folder(deployment: Deployment) -> Path:
    env = dict(
        line.split("=", 1)
        for line in (deployment.app / ".env").read_text().splitlines()
        if "=" in line
    )
    return Path(env["DATA_ROOT"]) / deployment.project / "media"


def backups_of(deployment: Deployment) -> list[Path]:
    folder = media_folder(deployment).parent / "backups"
    return sorted(p for p in folder.iterdir() if (p / "manifest.json").is_file())


def make(deployment: Deployment, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("make", *args, cwd=deployment.app, env=ENV, check=check)


def notes(deployment: Deployment) -> list[dict]:
    """The notes of the user the tests sign in as, signed in again: a restore replaces the
    sessions with the backup's."""
    deployment.sign_in()
    return sorted(deployment.notes(), key=lambda note: note["id"])


def note_count(deployment: Deployment) -> int:
    query = 'psql -XAtq -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "SELECT count(*) FROM notes_note"'
    return int(deployment.compose("exec", "-T", "db", "sh", "-c", query).stdout)


def served_upload(deployment: Deployment) -> str:
    code, _, content = deployment.fetch(f"/media/{UPLOAD}")
    assert code == 200, f"/media/{UPLOAD}: {code}"
    return hashlib.sha256(content).hexdigest()


def admin_login(deployment: Deployment, password: str) -> bool:
    """Log in to /admin/ as a browser does (CSRF cookie and token); True if it let us in."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=deployment.tls),
        urllib.request.HTTPCookieProcessor(jar),
    )
    login = deployment.url + "/admin/login/?next=/admin/"
    page = opener.open(login, timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = {
        "csrfmiddlewaretoken": token,
        "username": ADMIN,
        "password": password,
        "next": "/admin/",
    }
    request = urllib.request.Request(
        login,
        data=urllib.parse.urlencode(form).encode(),
        headers={"Referer": login, "Origin": deployment.url},
    )
    with opener.open(request, timeout=30) as response:
        return response.url.endswith("/admin/") and "Log out" in response.read().decode()


def fill(deployment: Deployment) -> None:
    for note in NOTES:
        deployment.json("/api/notes/", note, status=201)
    deployment.compose(
        "exec", "-T", "-e", f"DJANGO_SUPERUSER_PASSWORD={PASSWORD}", "backend", "python",
        "/opt/stack/manage.py", "createsuperuser", "--noinput", "--email", ADMIN,
    )  # fmt: skip
    # An upload, written by the backend's user as Django's storage would.
    subprocess.run(
        [*COMPOSE, "exec", "-T", "backend", "sh", "-c",
         f"mkdir -p /srv/media/uploads && cat > /srv/media/{UPLOAD}"],
        input=UPLOAD_BYTES, cwd=deployment.app, check=True,
    )  # fmt: skip


def state(deployment: Deployment) -> tuple:
    """What a refused restore must leave as it was."""
    return (
        notes(deployment),
        served_upload(deployment),
        (deployment.app / ".env").read_bytes(),
        [p.name for p in backups_of(deployment)],
    )


def backed_up(output: str) -> Path:
    return Path(re.search(r"Backed up to (.+?) \(", output).group(1))


def test_round_trip_restores_rows_uploads_and_admin_login(old):
    fill(old)
    before, upload = notes(old), served_upload(old)
    assert upload == hashlib.sha256(UPLOAD_BYTES).hexdigest()
    assert admin_login(old, PASSWORD) and not admin_login(old, "wrong password")

    start = time.monotonic()
    done = make(old, "backup")
    seconds = time.monotonic() - start
    folder = backed_up(done.stdout)
    manifest = json.loads((folder / "manifest.json").read_text())
    files = manifest["files"]
    sizes = ", ".join(f"{name} {file['bytes'] / 1000:.0f} kB" for name, file in files.items())
    record_timing(f"[backup] make backup ({sizes})", seconds)
    print(done.stdout)
    assert folder.parent.parent == media_folder(old).parent
    assert re.fullmatch(r"\d{8}T\d{6}Z", folder.name)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "app.env").stat().st_mode) == 0o600
    assert (folder / "app.env").read_bytes() == (old.app / ".env").read_bytes()
    assert manifest["project"] == old.project
    assert manifest["app_commit"] == run("git", "rev-parse", "HEAD", cwd=old.app).stdout.strip()
    assert manifest["template_version"] == run(old.stack / "install.sh", "--version").stdout.strip()
    for name, file in files.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == file["sha256"]

    old.compose("down", "--volumes")
    for entry in media_folder(old).iterdir():
        shutil.rmtree(entry)
    # Into a fresh deployment that runs: migrations made its tables, with no data in them.
    old.up()
    assert note_count(old) == 0  # (signing in would write data: a user, a session)
    start = time.monotonic()
    done = make(old, "restore")
    record_timing("[backup] make restore (after down -v, up: no data)", time.monotonic() - start)
    print(done.stdout)
    assert "the site is up" in done.stdout
    old.trust_caddy()  # a new Caddy CA: its volume went with down -v

    assert notes(old) == before
    assert served_upload(old) == upload
    owner = (media_folder(old) / UPLOAD).stat()
    assert (owner.st_uid, owner.st_gid) == (10001, 10001)
    assert admin_login(old, PASSWORD)


def test_refused_restores_name_the_fix_and_change_nothing(old, tmp_path):
    newest = backups_of(old)[-1]
    before = state(old)

    refused = make(old, "restore", check=False)
    assert refused.returncode != 0
    assert "already holds data (rows in " in refused.stderr
    assert "users_user" in refused.stderr and "notes_note" in refused.stderr
    assert "add --replace to replace it (it is backed up first)" in refused.stderr

    damaged = tmp_path / "damaged"
    shutil.copytree(newest, damaged)
    dump = bytearray((damaged / "database.dump").read_bytes())
    dump[len(dump) // 2] ^= 0xFF
    (damaged / "database.dump").write_bytes(dump)
    refused = make(old, "restore", f"ARGS=--replace {shlex.quote(str(damaged))}", check=False)
    assert "database.dump does not match its sha256 in manifest.json: the backup is " in (
        refused.stderr
    )
    assert "restore another backup" in refused.stderr

    refused = make(old, "restore", f"ARGS={shlex.quote(str(tmp_path / 'nowhere'))}", check=False)
    assert "not found: name a backup folder" in refused.stderr
    (tmp_path / "empty").mkdir()
    refused = make(old, "restore", f"ARGS={shlex.quote(str(tmp_path / 'empty'))}", check=False)
    assert f"no backup in {tmp_path / 'empty'}: make one with ./stack backup" in refused.stderr

    assert state(old) == before
    assert health(old) is not None

    # Told to replace, as the README says, naming a backup whose path has spaces: what was
    # there is backed up first, then replaced.
    assert " " in str(newest)
    (line,) = readme_blocks(old.app / "README.md", "Backups")[1]
    example = re.fullmatch(r'make restore ARGS=--replace BACKUP="(.+)"', line)[1]
    assert example.endswith("/backups/20261126T033000Z")
    old.json("/api/notes/", {"title": "written after the backup", "body": ""}, status=201)
    start = time.monotonic()
    done = run("bash", "-c", line.replace(example, str(newest)), cwd=old.app, env=ENV)
    record_timing("[backup] make restore --replace (with a backup first)", time.monotonic() - start)
    assert "Backed up the data it replaces first" in done.stdout
    old.trust_caddy()
    assert notes(old) == before[0]
    saved = backups_of(old)[-1]
    assert saved.name > newest.name
    with (saved / "database.dump").open("rb") as dump:  # it holds the note written since
        sql = subprocess.run(
            [*COMPOSE, "exec", "-T", "db", "pg_restore", "--data-only", "--file=-"],
            stdin=dump, cwd=old.app, capture_output=True, check=True,
        ).stdout  # fmt: skip
    assert b"written after the backup" in sql


def tree(folder: Path) -> dict[str, str]:
    """Every path under `folder`: a file's sha256, a link's target, a folder's "dir"."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(folder))] = f"-> {os.readlink(path)}"
        elif path.is_dir():
            found[str(path.relative_to(folder))] = "dir"
        else:
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def databases(deployment: Deployment) -> list[str]:
    query = 'psql -XAtq -U "$POSTGRES_USER" -d template1 -c "SELECT datname FROM pg_database"'
    return sorted(deployment.compose("exec", "-T", "db", "sh", "-c", query).stdout.split())


def with_media(backup: Path, folder: Path, *members: tarfile.TarInfo) -> Path:
    """A copy of `backup` in `folder` whose media.tar also holds `members` (empty files,
    links), its manifest's checksums matching, as a tampered copy would."""
    shutil.copytree(backup, folder)
    with tarfile.open(folder / "media.tar", "a") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isreg() else None)
    return rewrite_manifest(folder)


def rewrite_manifest(folder: Path) -> Path:
    path = folder / "manifest.json"
    content = json.loads(path.read_text())
    for name, file in content["files"].items():
        data = (folder / name).read_bytes()
        file.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    path.write_text(json.dumps(content, indent=2) + "\n")
    return folder


def member(name: str, link: str | None = None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    if link is None:
        info.size = 10
    else:
        info.type, info.linkname = tarfile.SYMTYPE, link
    return info


def test_a_restore_that_fails_leaves_the_site_serving_and_the_data_as_it_was(old, tmp_path):
    """Restores of tampered or damaged backups under load: each ends in one error line,
    no request fails, the rows, media files and databases stay as they were."""
    newest = backups_of(old)[-1]
    backups = newest.parent.name
    cases = {
        "escaping member": with_media(newest, tmp_path / "escaping", member("../escaped.txt")),
        "absolute link": with_media(newest, tmp_path / "absolute", member("pw", "/etc/passwd")),
        "link to a file outside": with_media(
            newest, tmp_path / "outside", member("env", f"../{backups}/{newest.name}/app.env")
        ),
    }
    damaged = tmp_path / "damaged dump"
    shutil.copytree(newest, damaged)
    dump = (damaged / "database.dump").read_bytes()
    (damaged / "database.dump").write_bytes(dump[: len(dump) * 2 // 3])
    cases["damaged dump"] = rewrite_manifest(damaged)

    def everything() -> tuple:  # of the deployment's data (its logs grow under load)
        media = media_folder(old)
        folders = sorted(p.name for p in media.parent.iterdir())
        return state(old), folders, tree(media), tree(media.parent / "backups"), databases(old)

    before = everything()
    results = []
    with Load(old, post_path=None) as load:
        for case, folder in cases.items():
            start = time.monotonic()
            done = make(old, "restore", f"ARGS=--replace {shlex.quote(str(folder))}", check=False)
            seconds = time.monotonic() - start
            errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
            results.append((case, start, done, errors, seconds, health(old)))
        time.sleep(2)
    print(load.summary())
    for number, (case, start, done, errors, seconds, after) in enumerate(results):
        end = results[number + 1][1] if number + 1 < len(results) else float("inf")
        during = [o for o in load.outcomes if start <= o.at < end]
        failed = [o for o in during if is_failure(o)]
        slowest = max(o.seconds for o in during)
        record_timing(f"[backup] refused restore: {case} ({len(failed)} failed)", seconds)
        counts = f"{len(failed)} of {len(during)} requests failed (slowest {slowest:.1f} s)"
        print(f"{case}: exit {done.returncode}, {seconds:.1f} s, {counts}, health: {after}")
        print(f"  {errors}")
        assert done.returncode != 0 and len(errors) == 1, (case, done.stderr)
        assert "Traceback" not in done.stderr, (case, done.stderr)
        assert failed == [] and after is not None, case
    errors = [result[3][0] for result in results]
    assert "../escaped.txt leaves the media folder" in errors[0]
    assert "pw links to the absolute path /etc/passwd" in errors[1]
    assert f"env links outside the media folder (to ../{backups}/" in errors[2]
    assert "restoring the database (pg_restore) failed" in errors[3]
    assert all(error.endswith("nothing changed: the site serves as before") for error in errors)
    assert everything() == before


def test_backup_skips_links_that_leave_the_media_folder_and_restores(old):
    """Links out of the media folder (absolute, relative, to a folder) are left out of the
    backup, named on stderr (cron mails it); the backup restores, a link inside included."""
    media = media_folder(old)
    outside = {"passwd": "/etc/passwd", "keys": "../backups", "up": "../../.."}
    for name, target in {**outside, "alias": UPLOAD}.items():
        (media / name).symlink_to(target)
    try:
        done = make(old, "backup")
    finally:
        for name in outside:
            (media / name).unlink()
    for name, target in outside.items():
        assert f"{name} -> {target}" in done.stderr
    folder = backed_up(done.stdout)
    with tarfile.open(folder / "media.tar") as tar:
        names = tar.getnames()
    assert "alias" in names and not set(outside) & set(names)
    for name in ("database.dump", "media.tar", "manifest.json", "app.env"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name

    # Restored with --env: the .env it changes is kept in the backups folder, not in the app.
    before, env = notes(old), (old.app / ".env").read_bytes()
    set_env(old.app / ".env", DJANGO_SECRET_KEY="changed since the backup")
    with Load(old, post_path=None) as load:
        start = time.monotonic()
        done = make(old, "restore", f"ARGS=--replace --env {shlex.quote(str(folder))}")
        seconds = time.monotonic() - start
        time.sleep(2)
    print(done.stdout, load.summary())
    record_timing(f"[backup] restore --replace ({len(load.failures)} requests failed)", seconds)
    old.trust_caddy()
    assert notes(old) == before
    assert (old.app / ".env").read_bytes() == env
    assert run("git", "status", "--porcelain", "--ignored=no", cwd=old.app).stdout == ""
    (kept,) = folder.parent.glob("*.env-before-restore")
    assert f"the old .env is in {kept}" in done.stdout
    assert "DJANGO_SECRET_KEY=changed since the backup" in kept.read_text()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert (media / "alias").resolve() == media / UPLOAD
    assert served_upload(old) == hashlib.sha256(UPLOAD_BYTES).hexdigest()
    (media / "alias").unlink()


def test_the_readmes_cron_line_backs_up_from_anywhere_keeping_the_newest(old):
    lines = readme_blocks(old.app / "README.md", "Backups")[2]
    path_line, cron_line = lines
    assert path_line.startswith("PATH=") and cron_line.startswith("30 3 * * * ")
    command = cron_line.split(None, 5)[5].replace("/srv/app", str(old.app).replace(" ", "\\ "))
    set_env(old.app / ".env", BACKUP_KEEP="2")
    cron_env = {"PATH": path_line.removeprefix("PATH="), "HOME": "/root", "SHELL": "/bin/sh"}
    for _ in range(3):
        result = subprocess.run(
            ["sh", "-c", command], cwd="/", env=cron_env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        time.sleep(1)  # folders are named by the second
    assert len(backups_of(old)) == 2
    set_env(old.app / ".env", BACKUP_KEEP="7")


def test_move_to_a_new_server_serves_the_same_notes_uploads_and_login(old, tmp_path_factory):
    before, upload = notes(old), served_upload(old)
    steps = []

    def step(name: str, script: str, cwd: Path) -> None:
        start = time.monotonic()
        result = subprocess.run(
            ["bash", "-ec", script], cwd=cwd, env={**os.environ, **ENV}, capture_output=True,
            text=True,
        )  # fmt: skip
        seconds = time.monotonic() - start
        assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
        steps.append((name, seconds))
        record_timing(f"[move] {name}", seconds)

    readme = old.app / "README.md"
    (backup_line,) = readme_blocks(readme, "Moving to a new server")[0]
    copy, install = readme_blocks(readme, "Moving to a new server")[1:3]
    step(backup_line, backup_line, old.app)
    newest = backups_of(old)[-1]

    # The new server: its own folder, DATA_ROOT, compose project, ports and volumes.
    new_base = tmp_path_factory.mktemp("backup") / "new server"
    new_base.mkdir()
    assert copy[0].startswith("old=") and copy[1].startswith("backup=")
    here = [f"old={old.app}".replace(" ", "\\ "), f"backup={newest}".replace(" ", "\\ ")]
    for line in copy[2:]:
        step(line, "\n".join([*here, line]), new_base)
    app = new_base / "app"
    set_env(app / ".env", DATA_ROOT=str(new_base / "data"))
    url = listen_on_free_ports(app, unique_project(SLUG))

    assert install[0] == "cd app" and install[2].startswith("stack=")
    new = Deployment("new", app, app / install[2].removeprefix("stack="), url, new_base / "ca.crt")
    try:
        for line in install[1:]:
            if not line.startswith("stack="):
                step(line, f"{install[2]}\n{line}", app)
        new.trust_caddy()
        total = sum(seconds for _, seconds in steps)
        record_timing(f"[move] all {len(steps)} steps", total)
        print("\n".join(f"{seconds:6.1f}s  {name}" for name, seconds in steps))

        assert new.project != old.project and media_folder(new) != media_folder(old)
        assert notes(new) == before
        assert served_upload(new) == upload
        assert admin_login(new, PASSWORD)
    finally:
        new.down()


POSTGRES_18 = "template-standin/postgres:18"  # built by ensure_standins, as postgres:18 is


def server_version(deployment: Deployment) -> str:
    query = 'psql -XAtq -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "SHOW server_version"'
    return deployment.compose("exec", "-T", "db", "sh", "-c", query).stdout.strip()


def test_postgresql_upgrade_from_17_to_18_as_the_stack_readme_says(template, tmp_path_factory):
    """The stack README's upgrade between majors, command by command, on a deployment with
    notes, an upload and an admin: the same data on PostgreSQL 18, in 18's data folder."""
    base = tmp_path_factory.mktemp("backup") / "upgrade"
    with deployment_of(template, base, "pg-upgrade", SLUG, app_packages=False) as deployment:
        fill(deployment)
        before, upload = notes(deployment), served_upload(deployment)
        assert server_version(deployment).startswith("17.")

        readme = deployment.stack / "README.md"
        backup, update, restore = readme_blocks(
            readme, "Upgrading PostgreSQL to a new major version"
        )
        start = time.monotonic()
        for lines, folder in (
            (backup, deployment.app),
            (update, deployment.stack),
            (restore, deployment.app),
        ):
            for line in lines:
                # The stand-in in place of the official image, which cannot be pulled here.
                line = line.replace("postgres_image=postgres:18", f"postgres_image={POSTGRES_18}")
                run("bash", "-ec", line, cwd=folder, env={**ENV, "app": str(deployment.app)})
        record_timing(
            "[pg upgrade] 17 to 18: backup, update, build, restore", time.monotonic() - start
        )

        assert server_version(deployment).startswith("18.")
        mounts = json.loads(
            run("docker", "inspect", "-f", "{{json .Mounts}}", f"{deployment.project}-db-1").stdout
        )
        assert [m["Destination"] for m in mounts] == ["/var/lib/postgresql"]
        assert notes(deployment) == before
        assert served_upload(deployment) == upload
        assert admin_login(deployment, PASSWORD)
        assert f"image: {POSTGRES_18}" in (deployment.app / ".github/workflows/ci.yml").read_text()
        assert run("git", "status", "--porcelain", cwd=deployment.stack).stdout == ""
