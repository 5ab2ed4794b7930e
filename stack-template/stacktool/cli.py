"""`./stack COMMAND`: every host-side job of the stack, one subcommand each."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import backup, deploy, docker, dotenv, install, links, lock, npmlock, release, swarm
from .deployment import Deployment, Stack
from .errors import StackError

STACK = Path(__file__).resolve().parent.parent


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
    _backup_commands(commands)
    _swarm_commands(commands)
    return top


def _backup_commands(commands: argparse._SubParsersAction) -> None:
    job = commands.add_parser(
        "backup",
        help="back up the database, the media and .env into $DATA_ROOT/<deployment>/backups",
    )
    job.add_argument("--app", type=Path, metavar="PATH", help="default: the app linked last")
    job.add_argument(
        "--keep",
        type=int,
        metavar="N",
        help="keep the newest N (default: BACKUP_KEEP in .env, else 7)",
    )
    job = commands.add_parser(
        "restore", help="restore a backup (default: the newest) and start again"
    )
    job.add_argument("--app", type=Path, metavar="PATH", help="default: the app linked last")
    job.add_argument(
        "backup", type=Path, nargs="?", metavar="BACKUP", help="a backup, or a folder of them"
    )
    job.add_argument(
        "--replace", action="store_true", help="replace data already there (backed up first)"
    )
    job.add_argument(
        "--env", action="store_true", help="take the backup's secrets where .env has others"
    )


def _swarm_commands(commands: argparse._SubParsersAction) -> None:
    job = commands.add_parser(
        "release", help="build the release images of a committed app version and push them"
    )
    job.add_argument("--app", type=Path, metavar="PATH", help="default: the app linked last")
    job.add_argument("--commit", default="HEAD", metavar="REV", help="default: HEAD")
    job.add_argument("--registry", metavar="HOST[/PATH]", help="default: RELEASE_REGISTRY")
    job.add_argument("--no-push", action="store_true", help="build only")
    top = commands.add_parser("swarm", help="the app on Docker Swarm: deploy, scale, rollback")
    jobs = top.add_subparsers(dest="swarm_command", metavar="JOB", required=True)
    job = jobs.add_parser("deploy", help="migrate, then roll the stack over to a release")
    job.add_argument("--release", metavar="TAG", help="default: the app's HEAD's release")
    job.add_argument("--replicas", type=int, metavar="N", help="backends (default: as now, or 2)")
    job = jobs.add_parser("scale", help="run N backend replicas")
    job.add_argument("replicas", type=int, metavar="N")
    jobs.add_parser("rollback", help="back to the release deployed before this one")
    jobs.add_parser("status", help="the stack's services, replicas and images")
    for job in jobs.choices.values():
        job.add_argument("--app", type=Path, metavar="PATH", help="default: the app linked last")


# The commands that also work on the stack alone, without an app linked.
STACK_ALONE = ("install", "build", "lock")
# The commands that run Docker; `install` does without --app (it builds the images).
DOCKER_COMMANDS = ("build", "deploy", "rollback", "release", "swarm", "backup", "restore")


def prerequisites(stack: Path, args: argparse.Namespace) -> Deployment | None:
    """Before any command writes: its app is an app checkout (never the stack), the app's
    .env is readable, Docker is there if the command needs it. args.app becomes the
    checked app (absolute) where the command names or needs one; returns the deployment
    of the app checked (the facts read for the check, kept for the command)."""
    if getattr(args, "app_option", None) is not None:
        if args.app is not None and args.app != args.app_option:
            raise StackError(f"two apps named, {args.app} and {args.app_option}: name one")
        args.app = args.app_option
    if args.command == "version":
        return None
    deployment = None
    # `install` and `build` without --app work with the app linked last, if any: check it too.
    app = args.app or (None if args.command == "lock" else links.linked_app(stack))
    if app is not None or args.command not in STACK_ALONE:
        checked = links.check_app(stack, links.app_or_linked(stack, app))
        deployment = Deployment(stack, checked)
        deployment.check_env(required=False)  # an error naming the fix if unreadable
        if args.app is not None or args.command not in STACK_ALONE:
            args.app = checked
    if args.command in DOCKER_COMMANDS or (args.command == "install" and args.app is None):
        docker.on_path()
    if deployment is not None and deployment.env_text is not None:
        # The keys the tool writes from others (the CSP's Sentry host), as .env says now; on
        # stderr, as `env --get` prints a value.
        said = dotenv.keep_derived(deployment.app, deployment.env_text)
        if said:
            print(*said, sep="\n", file=sys.stderr)
            deployment = Deployment(stack, deployment.app)
    return deployment


def main(argv: list[str] | None = None, stack: Path = STACK) -> int:
    args = parser().parse_args(argv)
    if args.version:
        args.command = "version"
    elif args.command is None:
        parser().error("name a COMMAND (./stack --help lists them)")
    try:
        deployment = prerequisites(stack, args)
        if args.command == "install":
            said = install.install(stack, args.app)
        elif args.command == "link":
            said = links.link(stack, args.app)
        elif args.command == "env" and args.get:
            if dotenv.is_sensitive(args.get) and not args.secret:
                raise StackError(
                    f"{args.get} is sensitive (a secret in a terminal or a CI log is one no "
                    f"more): add --secret to print it anyway"
                )
            said = [deployment.env_if_any.get(args.get, "")]
        elif args.command == "env":
            said = dotenv.sync(args.app)
        elif args.command == "build":
            said = install.build(stack, args.app)[1]
        elif args.command == "deploy":
            said = deploy.deploy(deployment)
        elif args.command == "rollback":
            said = deploy.rollback(deployment)
        elif args.command == "backup":
            said = backup.backup(deployment, args.keep)
        elif args.command == "restore":
            said = backup.restore(deployment, args.backup, args.replace, args.env)
        elif args.command == "release":
            said = release.build(deployment, args.commit, args.registry, not args.no_push)
        elif args.command == "swarm":
            said = _swarm(deployment, args)
        elif args.command == "lock":
            python = (deployment or Stack(stack)).python_version
            if args.app:
                said = lock.lock_app(stack, args.app, python) + npmlock.lock_app(stack, args.app)
            else:
                said = lock.lock_stack(stack, python)
        else:
            said = [Stack(stack).version]
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for line in said:
        print(line)
    return 0


def _swarm(deployment: Deployment, args: argparse.Namespace) -> list[str]:
    if args.swarm_command == "deploy":
        return swarm.deploy(deployment, args.release, args.replicas)
    if args.swarm_command == "scale":
        return swarm.scale(deployment, args.replicas)
    if args.swarm_command == "rollback":
        return swarm.rollback(deployment)
    return swarm.status(deployment)
