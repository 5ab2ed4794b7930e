"""The backend's releases: what serves is a copy of the app's code, never the checkout itself.

The store is $DATA_ROOT/<deployment>/releases on the host, /srv/releases here: one folder per
release (`<UTC time>-<digest>`: the code in `app/`, the digest of the checkout it was copied
from and the app's commit it was at, the frontend bundle served with it), and `current`, a link
to the release that serves.
A release is made only of code that can serve: its WSGI application imports, `check --deploy`
finds no error, and no migration is left to apply (a deploy applies them first). So a crash,
a restart or a reboot serves `current`, whatever the checkout holds.

    releases.py deploy    make a release of the checkout, migrate, switch to it (make deploy)
    releases.py serve     at the backend's start: switch to the checkout's code if it can serve
    releases.py rollback  switch to the release before the current one
    releases.py withdraw  switch back from the newest release and remove it (a deploy whose
                          frontend failed to build after the backend switched)
    releases.py current   print the path of the code that serves
    releases.py commit    print the app's commit of the code that serves (Sentry's release)
    releases.py head      print the app's commit the checkout is at

Without a store (a Swarm release image: its code is built in at /app) the code in /app serves,
and SENTRY_RELEASE of the image names its commit.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

CHECKOUT = Path("/app")  # the app's backend, mounted read-only
GIT = Path("/srv/git")  # the app's .git, mounted read-only: which commit the checkout is at
STORE = Path("/srv/releases")
CURRENT = STORE / "current"
STARTED = STORE / "started"
BUNDLE = Path("/srv/www/current")  # the frontend's bundle that serves (its volume, read-only)
MANAGE = "/opt/stack/manage.py"
SKIP = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}

# Run with a release's code on the path: imports the WSGI application, runs `check --deploy`
# (errors fail, warnings are kept quiet), prints the migrations left to apply. With COLLECT in
# the environment and none left, it also collects the static files (a deploy's common case:
# one Django start, not three) and prints collectstatic's summary before them.
CHECK = """
import importlib, io, json, os, sys
package = os.environ["DJANGO_SETTINGS_MODULE"].split(".")[0]
importlib.import_module(package + ".wsgi")
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
call_command("check", deploy=True, stdout=io.StringIO(), stderr=io.StringIO())
executor = MigrationExecutor(connection)
plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
left = [f"{m.app_label}.{m.name}" for m, _ in plan]
if os.environ.get("COLLECT") and not left:
    try:
        call_command("collectstatic", interactive=False, verbosity=1)
    except Exception as error:
        sys.exit(f"collectstatic: {error!r}")
print(json.dumps(left))
"""


class Refused(Exception):
    """The code cannot serve: why, in one paragraph."""


def say(line: str) -> None:
    print(f"[releases] {line}", flush=True)


def digest(folder: Path) -> str:
    """sha256 of the folder's files and links (caches left out)."""
    total = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP)
        for name in sorted(files):
            if name.endswith(".pyc"):
                continue
            path = Path(root, name)
            total.update(str(path.relative_to(folder)).encode() + b"\0")
            if path.is_symlink():
                total.update(b"link:" + os.readlink(path).encode())
            else:
                total.update(path.read_bytes())
            total.update(b"\0")
    return total.hexdigest()


def head_commit(git: Path = GIT) -> str:
    """The commit the app's checkout is at, read from its .git as git reads it (HEAD, then the
    branch's ref, loose or packed); '' when there is none (no .git, or a worktree's file)."""
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[len("ref: ") :]
            loose = git / ref
            if loose.is_file():
                head = loose.read_text().strip()
            else:
                packed = (git / "packed-refs").read_text().splitlines()
                head = next((line.split()[0] for line in packed if line.endswith(f" {ref}")), "")
    except OSError:
        return ""
    return head if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", head) else ""


def commit_of(release: Path) -> str:
    """The app's commit a release was made from ('' if unknown)."""
    record = release / "commit"
    return record.read_text().strip() if record.is_file() else ""


def serving_commit() -> str:
    """The app's commit of the code that serves: the current release's, or without a store
    the one the image names (SENTRY_RELEASE)."""
    serving = current()
    return commit_of(serving) if serving else os.environ.get("SENTRY_RELEASE", "")


def releases() -> list[Path]:
    """The complete releases, oldest first."""
    if not STORE.is_dir():
        return []
    return sorted(
        p for p in STORE.iterdir() if p.is_dir() and not p.is_symlink() and p.name[0] != "."
    )


def current() -> Path | None:
    return CURRENT.resolve() if CURRENT.is_symlink() and CURRENT.resolve().is_dir() else None


@contextlib.contextmanager
def lock() -> Iterator[None]:
    """The store's lock: one change at a time (the backend's start, a deploy, a rollback)."""
    if not os.access(STORE, os.W_OK | os.X_OK):
        sys.exit(
            f"error: the release store {STORE} is missing or not the backend's "
            "($DATA_ROOT/<deployment>/releases): make it with <stack>/install.sh --app <app>"
        )
    with open(STORE / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def copy_checkout(checkout_digest: str, commit: str) -> Path:
    """A new release folder (hidden until complete) with a copy of the checkout at `commit`."""
    name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{checkout_digest[:8]}"
    folder = STORE / f".{name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    shutil.copytree(
        CHECKOUT, folder / "app", symlinks=True, ignore=shutil.ignore_patterns(*SKIP, "*.pyc")
    )
    (folder / "digest").write_text(checkout_digest + "\n")
    (folder / "commit").write_text(commit + "\n")
    return folder


def django(
    release: Path, *args: str, capture: bool = False, **extra: str
) -> subprocess.CompletedProcess:
    """A Python process with the release's code on its path (and as its folder)."""
    env = {**os.environ, "PYTHONPATH": str(release / "app"), **extra}
    return subprocess.run(
        [sys.executable, *args],
        cwd=release / "app",
        env=env,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        text=True,
        check=False,
    )


def pending(release: Path, collect: bool = False) -> list[str]:
    """The migrations the release would apply; Refused when its code cannot serve. With
    `collect` and none to apply, its static files are collected too (their summary said)."""
    result = django(release, "-c", CHECK, capture=True, **({"COLLECT": "1"} if collect else {}))
    if result.returncode != 0:
        error = result.stderr.strip()
        collecting = error.startswith("collectstatic: ")
        failed = "its collectstatic failed" if collecting else "its code does not load"
        raise Refused(f"{failed}:\n{error[-3000:]}")
    *said, left = result.stdout.strip().splitlines()
    if said:
        print("\n".join(said), flush=True)
    return json.loads(left)


def served_bundle() -> str:
    """The name of the frontend bundle that serves now."""
    return os.readlink(BUNDLE).rsplit("/", 1)[-1] if BUNDLE.is_symlink() else ""


def switch(folder: Path) -> Path:
    """Name the release complete, point `current` at it (atomically), keep the newest."""
    # Its bundle is the one the frontend serves beside it (a deploy's, or a start's), recorded
    # when it stops serving (point_at).
    (folder / "bundle").write_text("\n")
    release = folder.with_name(folder.name.lstrip("."))
    folder.rename(release)
    point_at(release)
    prune()
    return release


def point_at(release: Path) -> None:
    """Serve `release` from now on; the release that served keeps the bundle served with it
    (for a rollback to it)."""
    serving, bundle = current(), served_bundle()
    if serving and bundle:
        (serving / "bundle").write_text(bundle + "\n")
    link = STORE / ".current.new"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(release.name)
    link.replace(CURRENT)


def keep() -> int:
    """RELEASE_KEEP (the compose file passes it); 0 keeps them all."""
    value = os.environ.get("RELEASE_KEEP", "")
    if not value.isdigit() or int(value) < 1:
        say(f"RELEASE_KEEP={value!r} is not a number of at least 1: every release is kept")
        return 0
    return int(value)


def prune() -> None:
    serving, count = current(), keep()
    for old in releases()[:-count] if count else []:
        if old != serving:
            shutil.rmtree(old, ignore_errors=True)
            say(f"removed the old release {old.name}")
    for partial in STORE.glob(".2*"):  # left by a start or deploy that was interrupted
        shutil.rmtree(partial, ignore_errors=True)


def serve() -> int:
    """At the backend's start: the checkout's code serves if it can, else `current` does."""
    if not STORE.is_dir():
        return 0
    with lock():
        checkout = digest(CHECKOUT)
        try:
            choose(checkout, head_commit())
        finally:
            started(checkout)
        return 0


def choose(checkout: str, commit: str) -> None:
    """Switch to the checkout's code (at `commit`) if it has no release yet and can serve."""
    serving = current()
    known = {
        ((r / "digest").read_text().strip(), commit_of(r))
        for r in releases()
        if (r / "digest").is_file()
    }
    if serving and (checkout, commit) in known:
        # The checkout's code has a release: the current one, or one rolled back from.
        say(f"serving release {serving.name}")
        return
    folder = copy_checkout(checkout, commit)
    try:
        left = pending(folder)
        if not left or serving is None:
            collect_static(folder, "--verbosity", "0")
    except Refused as why:
        if serving is None:
            say(f"no release yet: serving the checkout's code although {why}")
            switch(folder)
            return
        shutil.rmtree(folder)
        say(f"the checkout's new code cannot serve: {why}")
        say(f"release {serving.name} keeps serving; fix the code and deploy again")
        return
    if left and serving is not None:
        shutil.rmtree(folder)
        say(
            f"the checkout's new code needs migrations ({', '.join(left)}): release "
            f"{serving.name} keeps serving until `make deploy` applies them"
        )
        return
    release = switch(folder)
    say(f"serving release {release.name}, the checkout's code")


def started(checkout: str) -> None:
    """Record what this start serves, for the frontend's start (build.sh), which serves the
    checkout's bundle only beside the checkout's code: `<time> checkout|kept <release>`."""
    serving = current()
    record = serving / "digest" if serving else None
    ours = record is not None and record.is_file() and record.read_text().strip() == checkout
    line = f"{time.time():.0f} {'checkout' if ours else 'kept'} {serving.name if serving else '-'}"
    new = STORE / ".started.new"
    new.write_text(line + "\n")
    new.replace(STARTED)


def collect_static(folder: Path, *options: str) -> None:
    if django(folder, MANAGE, "collectstatic", "--noinput", *options).returncode != 0:
        raise Refused("its collectstatic failed (its output above)")


def deploy() -> int:
    """A release of the checkout, migrated, switched to: `make deploy`, or the first start."""
    if not STORE.is_dir():
        for command in ("migrate", "collectstatic"):
            if subprocess.run([sys.executable, MANAGE, command, "--noinput"]).returncode:
                return 1
        return 0
    with lock():
        serving = current()
        if serving and not os.environ.get("RELEASE_DEPLOY"):
            # The serving release's own migrations: none to apply, unless the database was
            # made anew (a fresh volume, a restore into a new server) under a kept store.
            if django(serving, MANAGE, "migrate", "--noinput").returncode != 0:
                print(f"error: the migrations of release {serving.name}, which serves, failed")
                return 1
            say(f"release {serving.name} serves; new migrations wait for `make deploy`")
            return 0
        before = f"release {serving.name} keeps serving" if serving else "nothing served yet"
        folder = copy_checkout(digest(CHECKOUT), head_commit())
        try:
            left = pending(folder, collect=True)
            if not left:
                say("no migration to apply")
            elif django(folder, MANAGE, "migrate", "--noinput").returncode != 0:
                fail_migrations(folder, left, before)
                shutil.rmtree(folder)
                return 1
            else:
                collect_static(folder)
        except Refused as why:
            shutil.rmtree(folder)
            print(f"error: the new code cannot serve, {why}\n{before}; fix it and deploy again")
            return 1
        release = switch(folder)
        say(f"release {release.name} serves")
        return 0


def fail_migrations(folder: Path, left: list[str], before: str) -> None:
    """Say which migrations were applied before the one that failed (each runs in its own
    transaction on PostgreSQL: they stay applied) and which were not."""
    try:
        still = pending(folder)
    except Refused:
        still = left
    applied = [m for m in left if m not in still]
    print(
        "error: a migration failed (its traceback above). Applied before it, and not "
        f"reversed: {', '.join(applied) or 'none'}; not applied: {', '.join(still) or 'none'}.\n"
        f"{before}: the migrations a release brings must work with the code before them."
    )


def rollback() -> int:
    with lock():
        serving = current()
        older = [r for r in releases() if serving and r.name < serving.name]
        if not older:
            print(f"error: no release before {serving.name if serving else 'this one'} is kept")
            return 1
        point_at(older[-1])
        record = older[-1] / "bundle"
        bundle = record.read_text().strip() if record.exists() else ""
        print(json.dumps({"from": serving.name, "to": older[-1].name, "bundle": bundle}))
        return 0


def withdraw() -> int:
    """The newest release, which serves, is taken back: the one before it serves again, and
    the newest is removed (the frontend of its deploy did not build)."""
    with lock():
        serving, kept = current(), releases()
        if not serving or len(kept) < 2 or kept[-1] != serving:
            print("error: the release that serves is not the newest, or none is before it")
            return 1
        point_at(kept[-2])
        shutil.rmtree(serving)
        say(f"release {serving.name} withdrawn: release {kept[-2].name} serves again")
        return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "current":
        serving = current()
        print(serving / "app" if serving else CHECKOUT)
        return 0
    if command in ("commit", "head"):
        print(serving_commit() if command == "commit" else head_commit())
        return 0
    changes = {"serve": serve, "deploy": deploy, "rollback": rollback, "withdraw": withdraw}
    if command in changes:
        return changes[command]()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
