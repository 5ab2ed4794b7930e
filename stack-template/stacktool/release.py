"""`./stack release`: the release images of one committed version of the app, for a swarm.

Built from the stack and a clean export of the app at that commit (`git archive`: an
uncommitted change never ships), with the app's links resolved to copies of the stack's files:

- backend: the stack's backend image with the app's backend at /app and its packages;
- web: Caddy serving the frontend's bundle (built from the export) and Django's static files;
- caddy: the front Caddy, the stack's own image (it holds nothing of the app).

backend and web are tagged <app commit>-<stack version>, caddy <stack version>, and all three
are pushed to the registry RELEASE_REGISTRY of the app's .env (or --registry).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import docker, dotenv, images, links, lock, npmlock
from .archive import extract as unpack
from .deployment import Deployment
from .errors import StackError


def registry(env: dict[str, str], option: str | None = None) -> str:
    """Where release images go: --registry, else RELEASE_REGISTRY of the app's .env."""
    found = (option or env.get("RELEASE_REGISTRY", "")).strip().rstrip("/")
    if not found:
        raise StackError(
            "no registry for release images: set RELEASE_REGISTRY in the app's .env "
            "(e.g. RELEASE_REGISTRY=registry.example.com/team), or pass --registry"
        )
    if "://" in found or not re.fullmatch(r"[a-z0-9.:/_-]+", found):
        raise StackError(
            f"RELEASE_REGISTRY={found!r}: give host[:port][/path] in lower case, without "
            "https://, e.g. registry.example.com/team or localhost:5000"
        )
    return found


def _tag_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:60]


def stack_tag(version: str) -> str:
    """The tag of the stack's own images: its template version."""
    return _tag_part(version)


def tag(version: str, commit: str) -> str:
    """The tag of a release: the app commit (12 digits) and the stack version."""
    return f"{commit[:12]}-{stack_tag(version)}"


def image_names(deployment: Deployment, where: str, release: str) -> dict[str, str]:
    """The name of each release image (images.IMAGES) in the registry `where`."""
    stack = stack_tag(deployment.version)
    return {
        name: f"{where}/{deployment.slug}-{name}:{release if image.per_release else stack}"
        for name, image in images.IMAGES.items()
        if image.release
    }


def _build(name: str, tag: str, stack: Path, *options: str) -> None:
    """Build the release image `name` (its stage, from its folder: images.IMAGES) as `tag`."""
    image = images.IMAGES[name]
    docker.shown(
        f"Building {tag}",
        "build", "--target", str(image.release), *options, *images.uid_arg(name),
        "--tag", tag, str(stack / image.folder),
    )  # fmt: skip


def commit_of(app: Path, revision: str = "HEAD") -> str:
    result = subprocess.run(
        ["git", "-C", str(app), "rev-parse", "--verify", "--quiet", revision + "^{commit}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(
            f"no commit {revision!r} in {app}: a release is built from a committed version "
            "of the app (git commit first, or name one with --commit)"
        )
    return result.stdout.strip()


def export(stack: Path, app: Path, commit: str, folder: Path) -> Path:
    """The app's files at `commit` in `folder`, with a copy of the stack's file at each link."""
    archive = folder / "app.tar"
    with archive.open("wb") as out:
        result = subprocess.run(
            ["git", "-C", str(app), "archive", "--format=tar", commit],
            stdout=out,
            stderr=subprocess.PIPE,
            check=False,
        )
    if result.returncode != 0:
        raise StackError(f"git archive of {commit} failed: {result.stderr.decode()[-500:]}")
    tree = folder / "app"
    unpack(archive, tree, f"the app at commit {commit[:12]}")
    archive.unlink()
    for in_app, in_stack in links.read_manifest(stack):
        source, target = stack / in_stack, tree / in_app
        if target.exists() or target.is_symlink() or not source.exists():
            continue  # committed in the app (its own file wins), or not in this stack
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    return tree


def _check_locks(stack: Path, tree: Path, commit: str) -> None:
    stale = []
    if (tree / lock.APP_REQUIREMENTS).is_file() and not lock.app_lock_is_current(tree):
        stale.append(lock.APP_LOCK)
    if (tree / npmlock.LISTING).is_file() and not npmlock.is_current(tree):
        stale.append(npmlock.APP_LOCK)
    if stale:
        raise StackError(
            f"commit {commit[:12]} has no current {' and '.join(stale)}: run "
            f"{stack / 'stack'} lock --app APP, commit the lock, and release that commit"
        )


def build_settings(tree: Path, env: dict[str, str], folder: Path) -> dict[str, str]:
    """What Django's settings read while the release is built (collectstatic): the commit's
    .env.example, each empty generated secret a placeholder (none is used, none reaches the
    image), written to folder/build.env; returns those values."""
    example = tree / ".env.example"
    values = dotenv.read(example) if example.is_file() else {}
    values.setdefault("DJANGO_SETTINGS_MODULE", env.get("DJANGO_SETTINGS_MODULE", ""))
    for key, value in values.items():
        if not value and key in dotenv.GENERATED:
            values[key] = "placeholder-of-the-release-build"
    folder.mkdir()
    lines = [f"{key}={value}" for key, value in values.items()]
    (folder / "build.env").write_text("\n".join(lines) + "\n")
    return values


def _size(image: str) -> str:
    found = docker.inspect(image)
    size = found[0]["Size"] if found else 0
    return f"{size / 1e6:.0f} MB"


def build(
    deployment: Deployment,
    revision: str = "HEAD",
    where: str | None = None,
    push: bool = True,
) -> list[str]:
    """Build (and push) the release images of the app at `revision`; return what to say."""
    stack, app, env = deployment.stack, deployment.app, deployment.env_if_any
    where = registry(env, where)
    docker.check()
    commit = commit_of(app, revision)
    release = tag(deployment.version, commit)
    names = image_names(deployment, where, release)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stack-release-") as tmp:
        folder = Path(tmp)
        tree = export(stack, app, commit, folder)
        _check_locks(stack, tree, commit)
        settings = build_settings(tree, env, folder / "settings")
        (folder / "contexts").mkdir()
        contexts = images.app_contexts(stack, tree, folder / "contexts", deployment.python_version)
        _build(
            "backend", names["backend"], stack,
            "--build-context", f"app={contexts['backend']}",
            "--build-context", f"code={tree / 'backend'}",
            "--build-context", f"settings={folder / 'settings'}",
            "--build-arg",
            f"DJANGO_SETTINGS_MODULE={settings.get('DJANGO_SETTINGS_MODULE', '')}",
            "--build-arg", f"SENTRY_RELEASE={commit}",
        )  # fmt: skip
        # The bundle web serves: the frontend image's `bundle` stage, written to a folder.
        docker.shown(
            "Building the frontend's bundle",
            "build", "--target", "bundle",
            "--build-context", f"app={contexts['frontend']}",
            "--build-context", f"code={tree / 'frontend'}",
            # Sentry in the bundle when .env names a DSN, reporting as the app's commit.
            "--build-arg", f"VITE_SENTRY_DSN={env.get('VITE_SENTRY_DSN', '')}",
            "--build-arg", f"VITE_SENTRY_RELEASE={commit}",
            "--output", f"type=local,dest={folder / 'bundle'}",
            str(stack / images.IMAGES["frontend"].folder),
        )  # fmt: skip
        _build(
            "web", names["web"], stack,
            "--build-context", f"bundle={folder / 'bundle'}",
            "--build-context", f"backend=docker-image://{names['backend']}",
        )  # fmt: skip
        _build("caddy", names["caddy"], stack)
    built = time.monotonic() - start
    said = [f"Built release {release} (app commit {commit[:12]}) in {built:.1f} s:"]
    said += [f"  {name} ({_size(name)})" for name in names.values()]
    if push:
        for name in names.values():
            docker.shown(f"Pushing {name}", "push", "--quiet", name)
        said.append(f"Pushed to {where} in {time.monotonic() - start - built:.1f} s")
    said.append(f"Deploy it: {stack / 'stack'} swarm deploy --app {app} --release {release}")
    return said
