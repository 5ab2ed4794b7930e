"""`./stack COMMAND`: every host-side job of the stack, one subcommand each."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import backup, deploy, dotenv, images, links, lock, npmlock, swarm
from .errors import StackError

STACK = Path(__file__).resolve().parent.parent


def data_folders(stack: Path, app: Path) -> list[Path]:
    """The host folders a deployment of the app keeps its data in: DATA_ROOT/<name>/..., with
    DATA_ROOT from the app's .env (the one place it is set; compose reads it there too) and
    <name> the compose project (COMPOSE_PROJECT_NAME there, else the slug, as in compose)."""
    env = dotenv.read_env(app)
    root = env.get("DATA_ROOT", "")
    if not os.path.isabs(root) or ".." in Path(root).parts:
        raise StackError(
            f"DATA_ROOT={root!r} in {app / dotenv.ENV}: give an absolute path without '..', "
            "e.g. DATA_ROOT=/data"
        )
    name = images.project(stack, env, str(app / dotenv.ENV))
    return [Path(root) / name / folder for folder in ("media", "logs", "releases")]


def create_data_folders(stack: Path, app: Path) -> list[str]:
    said = []
    for folder in data_folders(stack, app):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if folder.stat().st_uid != images.BACKEND_UID:
                os.chown(folder, images.BACKEND_UID, images.BACKEND_UID)
        except PermissionError:
            uid = images.BACKEND_UID
            raise StackError(
                f"cannot give {folder} to the backend's user (uid {uid}): run ./install.sh as "
                f"root, or create it yourself (sudo install -d -o {uid} -g {uid} {folder}); "
                f"DATA_ROOT is set in {app / dotenv.ENV}"
            ) from None
        said.append(f"Data folder: {folder}")
    return said


def build(stack: Path, app: Path | None) -> tuple[Path | None, list[str]]:
    """Check Docker, then build the images with the packages of `app`, by default the app
    linked last; return that app and what to tell the user."""
    images.check_docker()
    app = app or links.linked_app(stack)
    return app, [f"Built {' '.join(images.build(stack, app))}"]


def install(stack: Path, app: Path | None) -> list[str]:
    """With an app: link it and sync its .env. Without: check Docker, build the images
    with the packages of the app linked last, and create that app's data folders."""
    if app is not None:
        said = links.link(stack, app) + dotenv.sync(app)
        try:
            return said + create_data_folders(stack, app)
        except StackError as error:  # linking works anywhere; the folders matter on a server
            return [*said, f"note: {error}"]
    linked, said = build(stack, None)
    if linked:
        return said + create_data_folders(stack, linked)
    return [*said, "No app linked yet: link one with ./install.sh --app PATH"]


class _Commands(argparse._SubParsersAction):
    """Subcommands whose --help opens with their one-line help."""

    def add_parser(self, name: str, **options) -> argparse.ArgumentParser:
        if "help" in options:
            options.setdefault("description", options["help"][:1].upper() + options["help"][1:])
        return super().add_parser(name, **options)


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **options) -> None:
        super().__init__(*args, **options)
        self.register("action", "parsers", _Commands)


def _app_options(job: argparse.ArgumentParser) -> None:
    """APP or --app PATH: the app checkout (the positional form is the older one)."""
    job.add_argument("app", type=Path, nargs="?", metavar="APP", help="the same as --app")
    job.add_argument(
        "--app", type=Path, dest="app_option", metavar="PATH", help="default: the app linked last"
    )


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="stack", description="The stack's host-side jobs. install.sh runs `install`.")
    top.add_argument("--version", action="store_true", help="print the template version")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    job = commands.add_parser(
        "install",
        help="build the images and create the data folders; with --app, link an app and "
        "create or complete its .env",
    )
    job.add_argument("--app", type=Path, metavar="PATH", help="the app checkout to link")
    job = commands.add_parser("link", help="link an app checkout to this stack (links.txt)")
    _app_options(job)
    job = commands.add_parser("env", help="create APP/.env from .env.example, or add missing keys")
    _app_options(job)
    job.add_argument(
        "--get", metavar="KEY", help="only print KEY's value in APP/.env (nothing if unset)"
    )
    job.add_argument(
        "--secret",
        action="store_true",
        help="with --get: print a sensitive key's value too (it would land in logs)",
    )
    job = commands.add_parser("build", help="build the images (with the app's own packages)")
    job.add_argument("--app", type=Path, metavar="PATH", help="default: the app linked last")
    job = commands.add_parser(
        "deploy", help="deploy the app's new code: migrate, reload, rebuild, no request failed"
    )
    job.add_argument("--app", type=Path, metavar="PATH", help="default: the app linked last")
    job = commands.add_parser(
        "rollback", help="serve the release before, code and bundle (migrations stay applied)"
    )
    job.add_argument("--app", type=Path, metavar="PATH", help="default: the app linked last")
    job = commands.add_parser(
        "lock", help="pin and hash the backend's packages: the stack's, or with --app the app's"
    )
    job.add_argument(
        "--app",
        type=Path,
        metavar="PATH",
        help="write PATH/backend/requirements-app.lock and PATH/frontend/package-app.lock.json",
    )
    commands.add_parser("version", help="print the template version of this stack")
    backup.add_commands(commands)
    swarm.add_commands(commands)
    return top


# The commands that also work on the stack alone, without an app linked.
STACK_ALONE = ("install", "build", "lock")


def prerequisites(stack: Path, args: argparse.Namespace) -> None:
    """Before any command writes: its app is an app checkout (never the stack), the app's
    .env is readable, Docker is there if the command needs it. args.app becomes the
    checked app (absolute) where the command names or needs one."""
    if getattr(args, "app_option", None) is not None:
        if args.app is not None and args.app != args.app_option:
            raise StackError(f"two apps named, {args.app} and {args.app_option}: name one")
        args.app = args.app_option
    if args.command == "version":
        return
    # `install` and `build` without --app work with the app linked last, if any: check it too.
    app = args.app or (None if args.command == "lock" else links.linked_app(stack))
    if app is not None or args.command not in STACK_ALONE:
        checked = links.check_app(stack, links.app_or_linked(stack, app))
        dotenv.read_env(checked, required=False)  # an error naming the fix if unreadable
        if args.app is not None or args.command not in STACK_ALONE:
            args.app = checked
    # The commands that run Docker; `install` does without --app (it builds the images).
    if args.command in ("build", "deploy", "rollback", "release", "swarm", *backup.COMMANDS) or (
        args.command == "install" and args.app is None
    ):
        images.docker_on_path()


def main(argv: list[str] | None = None, stack: Path = STACK) -> int:
    args = parser().parse_args(argv)
    if args.version:
        args.command = "version"
    elif args.command is None:
        parser().error("name a COMMAND (./stack --help lists them)")
    try:
        prerequisites(stack, args)
        if args.command == "install":
            said = install(stack, args.app)
        elif args.command == "link":
            said = links.link(stack, args.app)
        elif args.command == "env" and args.get:
            if dotenv.is_sensitive(args.get) and not args.secret:
                raise StackError(
                    f"{args.get} is sensitive (a secret in a terminal or a CI log is one no "
                    f"more): add --secret to print it anyway"
                )
            said = [dotenv.read_env(args.app, required=False).get(args.get, "")]
        elif args.command == "env":
            said = dotenv.sync(args.app)
        elif args.command == "build":
            said = build(stack, args.app)[1]
        elif args.command == "deploy":
            said = deploy.deploy(stack, args.app)
        elif args.command == "rollback":
            said = deploy.rollback(stack, args.app)
        elif args.command in backup.COMMANDS:
            said = backup.run(stack, args)
        elif args.command in ("release", "swarm"):
            said = swarm.run(stack, args)
        elif args.command == "lock":
            if args.app:
                said = lock.lock_app(stack, args.app) + npmlock.lock_app(stack, args.app)
            else:
                said = lock.lock_stack(stack)
        else:
            said = [images.version(stack)]
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for line in said:
        print(line)
    return 0
