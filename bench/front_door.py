"""Throughput of the stack's Caddy against a bare one (`tls internal`, `reverse_proxy`), both
in front of the same backend.

Usage: python bench/front_door.py [-n REQUESTS] [-c CONCURRENCY] [--rounds N] [-d KEY=VALUE]...
       python bench/front_door.py --keep DIR [-d KEY=VALUE]...   # set up, leave it running
       python bench/front_door.py --at DIR [--side stack|bare --path PATH]   # measure it
       python bench/front_door.py --at DIR --down                # take it down, remove DIR

A demo pair of this checkout's working tree (as bench/generate.py makes it; `-d` passes
copier answers, e.g. the base images), installed with the stack tool and started under a
compose project and DATA_ROOT of its own, on free ports. A second Caddy, from the stack's
Caddy image, joins the deployment's network with nothing but `tls internal` and
`reverse_proxy backend:8000`. A user is signed in (the API's rate limits raised far above
the load) and owns a few notes. Then `ab -k` runs in each Caddy container's network
namespace (nsenter, so Docker's port forwarding is not counted) against https://localhost
on /api/health/ (a PostgreSQL query) and /api/notes/ (signed in), as a browser asks
(Accept-Encoding: gzip, br, zstd), the two Caddies in turn for each round. Printed: each
side's median requests per second, its failed and non-2xx requests (both must be 0), and
the median of the round-by-round ratio stack/bare. Everything is removed afterwards
(containers, volumes, images, the folder) unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The tests' own modules, as pytest finds them (pyproject.toml's pythonpath).
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench"), str(ROOT), str(ROOT / "stack-template")]

from deployments import ADD_USER, API_RATES, CADDY_ROOT_CA, LOGIN, USER  # noqa: E402
from generate import template_clone  # noqa: E402

SLUG = "igny8"
PATHS = ("/api/health/", "/api/notes/")
TARGET = 0.9  # the stack's Caddy should serve at least this share of the bare one's rate
ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # as Chromium asks
BARE = """{
	skip_install_trust
}

localhost {
	tls internal
	reverse_proxy backend:8000
}
"""
NOTES = 5
# After the tests' ADD_USER (deployments.py), which leaves the signed-in user in `user`.
ADD_NOTES = """
from notes.models import Note
for number in range({notes} - Note.objects.filter(author=user).count()):
    Note.objects.create(author=user, title=f"Note {{number}}", body="A short line of text. " * 8)
"""


class Refused(Exception):
    """An expected failure: printed as one `error:` line."""


def run(*args: str | Path, cwd: Path | None = None, check: bool = True) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise Refused(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result.stdout


def check_prerequisites() -> None:
    """What the bench needs on this host, each missing one named with its fix."""
    if not shutil.which("ab"):
        raise Refused("ab is missing: apt-get install apache2-utils")
    if not shutil.which("nsenter"):
        raise Refused("nsenter is missing: apt-get install util-linux")
    if not shutil.which("docker"):
        raise Refused("docker is missing: install Docker Engine with the compose plugin")
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        raise Refused("the Docker engine does not answer (docker info): start it")
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0:
        raise Refused("docker compose is missing: install the compose plugin (v2)")
    if os.geteuid() != 0:
        raise Refused("nsenter into a container's network needs root: run the bench as root")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def set_env(dotenv: Path, values: dict[str, str]) -> None:
    lines = [
        line for line in dotenv.read_text().splitlines() if line.partition("=")[0] not in values
    ]
    dotenv.write_text("\n".join([*lines, *(f"{k}={v}" for k, v in values.items())]) + "\n")


class Bench:
    """A kept deployment and its bare Caddy, described by `state.json` in its folder."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.state: dict = {}
        if (base / "state.json").exists():
            self.state = json.loads((base / "state.json").read_text())

    @property
    def app(self) -> Path:
        return self.base / "app" / SLUG

    def compose(self, *args: str, check: bool = True) -> str:
        return run(
            "docker", "compose", "-f", "docker-compose.app.yml", *args, cwd=self.app, check=check
        )

    def save(self) -> None:
        (self.base / "state.json").write_text(json.dumps(self.state, indent=1) + "\n")

    def set_up(self, answers: list[str], project: str, ports: tuple[int, int]) -> None:
        data = [f"--data={answer}" for answer in answers]
        template = template_clone(self.base)
        self.state = {"project": project}
        self.save()  # from here on, --down knows what to remove
        print(f"generating the pair, building the images, starting {project} ...", flush=True)
        run(
            sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet",
            "--data=repo=app", f"--data=stack_path=../../stack/{SLUG}-stack",
            f"--data=data_root={self.base / 'data'}", *data, template, self.app,
        )  # fmt: skip
        stack = self.base / "stack" / f"{SLUG}-stack"
        http_port, https_port = ports
        set_env(
            self.app / ".env",
            {
                "COMPOSE_PROJECT_NAME": project,
                "HTTP_PORT": str(http_port),
                "HTTPS_PORT": str(https_port),
                "DJANGO_CSRF_TRUSTED_ORIGINS": f"https://localhost:{https_port}",
                **API_RATES,
            },
        )
        run(stack / "install.sh", "--app", self.app, cwd=stack)
        run(stack / "install.sh", cwd=stack)
        self.compose("up", "-d", "--wait")
        caddy = self.compose("ps", "-q", "caddy").strip()
        details = json.loads(run("docker", "inspect", caddy))[0]
        (network,) = details["NetworkSettings"]["Networks"]
        bare_dir = self.base / "bare"
        bare_dir.mkdir()
        (bare_dir / "Caddyfile").write_text(BARE)
        bare = f"{project}-bare-caddy"
        self.state |= {"url": f"https://localhost:{https_port}", "bare": bare}
        self.save()
        run(
            "docker", "run", "-d", "--name", bare, "--network", network,
            "--sysctl", "net.ipv4.ip_unprivileged_port_start=0",
            "-v", f"{bare_dir}:/etc/bare:ro", details["Config"]["Image"],
            "caddy", "run", "--config", "/etc/bare/Caddyfile", "--adapter", "caddyfile",
        )  # fmt: skip
        self.state["cookie"] = self.sign_in()
        self.save()
        for side in ("stack", "bare"):  # both answer, signed in, before anything is counted
            for path in PATHS:
                self.ab(side, path, 20, 1)

    def pid(self, side: str) -> str:
        name = self.state["bare"] if side == "bare" else self.compose("ps", "-q", "caddy").strip()
        return run("docker", "inspect", "-f", "{{.State.Pid}}", name).strip()

    def sign_in(self) -> str:
        """The session's Cookie header: the user (and its notes) made in the backend container,
        then signed in through the stack's Caddy as the React app does."""
        script = ADD_USER.format(email=USER[0], password=USER[1]) + ADD_NOTES.format(notes=NOTES)
        self.compose(
            "exec", "-T", "backend", "python", "/opt/stack/manage.py", "shell", "-c", script
        )
        ca = self.base / "caddy-root.crt"
        self.compose("cp", f"caddy:{CADDY_ROOT_CA}", str(ca))
        context = ssl.create_default_context(cafile=ca)
        cookies: dict[str, str] = {}

        def call(path: str, body: dict | None = None) -> None:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
            if body is not None:
                headers |= {
                    "Content-Type": "application/json",
                    "X-CSRFToken": cookies.get("csrftoken", ""),
                    "Origin": self.state["url"],
                }
            request = urllib.request.Request(
                self.state["url"] + path,
                data=None if body is None else json.dumps(body).encode(),
                headers=headers,
            )
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                for cookie in response.headers.get_all("Set-Cookie") or []:
                    name, _, value = cookie.split(";", 1)[0].partition("=")
                    cookies[name.strip()] = value.strip()

        call("/api/session/")
        call(LOGIN, {"email": USER[0], "password": USER[1]})
        return "; ".join(f"{k}={v}" for k, v in cookies.items())

    def ab(self, side: str, path: str, requests: int, concurrency: int) -> dict[str, float]:
        """One `ab -k` run in the side's Caddy's network namespace: requests per second,
        failed and non-2xx requests."""
        output = run(
            "nsenter", "-t", self.pid(side), "-n",
            "ab", "-k", "-q", "-c", str(concurrency), "-n", str(requests),
            "-H", f"Accept-Encoding: {ACCEPT_ENCODING}", "-H", f"Cookie: {self.state['cookie']}",
            f"https://localhost{path}",
        )  # fmt: skip

        def figure(label: str) -> float:
            found = re.search(rf"^{label}:\s+([\d.]+)", output, re.M)
            return float(found.group(1)) if found else 0.0

        result = {
            "rps": figure("Requests per second"),
            "failed": figure("Failed requests"),
            "non2xx": figure("Non-2xx responses"),
        }
        if figure("Complete requests") != requests or result["failed"] or result["non2xx"]:
            raise Refused(f"{side} {path}: requests failed\n{output}")
        return result

    def rounds(self, rounds: int, requests: int, concurrency: int) -> None:
        print(f"ab -k -c {concurrency} -n {requests}, {rounds} rounds, stack and bare in turn:")
        rates: dict[tuple[str, str], list[float]] = {}
        failed = {"stack": 0.0, "bare": 0.0}
        for number in range(rounds):
            order = ("stack", "bare") if number % 2 == 0 else ("bare", "stack")
            for path in PATHS:
                for side in order:
                    result = self.ab(side, path, requests, concurrency)
                    rates.setdefault((side, path), []).append(result["rps"])
                    failed[side] += result["failed"] + result["non2xx"]
                print(
                    f"  round {number + 1} {path:<13} stack {rates['stack', path][-1]:8.1f}"
                    f"  bare {rates['bare', path][-1]:8.1f}",
                    flush=True,
                )
        print(f"{'path':<13} {'stack req/s':>11} {'bare req/s':>10} {'ratio':>6}")
        for path in PATHS:
            stack, bare = rates["stack", path], rates["bare", path]
            ratio = statistics.median(s / b for s, b in zip(stack, bare, strict=True))
            print(
                f"{path:<13} {statistics.median(stack):11.1f} {statistics.median(bare):10.1f}"
                f" {ratio:5.2f}x"
            )
        print(f"failed or non-2xx: stack {failed['stack']:.0f}, bare {failed['bare']:.0f}")
        print(f"target: the stack's Caddy at least {TARGET:.1f}x the bare one")

    def down(self) -> None:
        """Containers, volumes, images and the folder; what never started is skipped."""
        if self.state.get("bare"):
            run("docker", "rm", "--force", "--volumes", self.state["bare"], check=False)
        if (self.app / "docker-compose.app.yml").exists():
            self.compose(
                "down", "--volumes", "--remove-orphans", "--rmi", "all", "--timeout", "10",
                check=False,
            )  # fmt: skip
        shutil.rmtree(self.base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=2000, help="per ab run (2000)")
    parser.add_argument("-c", "--concurrency", type=int, default=16, help="ab's -c (16)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds counted (5)")
    parser.add_argument("-d", "--data", action="append", default=[], metavar="KEY=VALUE",
                        help="a copier answer, e.g. caddy_image=caddy:2 (repeatable)")  # fmt: skip
    parser.add_argument("--project", help="compose project (default frontdoor-<random>)")
    parser.add_argument("--https-port", type=int, default=0, help="published (default: free)")
    parser.add_argument("--http-port", type=int, default=0, help="published (default: free)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--keep", type=Path, metavar="DIR", help="set up in DIR and keep it")
    where.add_argument("--at", type=Path, metavar="DIR", help="a deployment kept with --keep")
    parser.add_argument("--side", choices=["stack", "bare"], help="with --at: one ab run")
    parser.add_argument("--path", default=PATHS[0], choices=PATHS, help="with --side")
    parser.add_argument("--down", action="store_true", help="with --at: remove it")
    args = parser.parse_args(argv)

    try:
        check_prerequisites()
        if args.at:
            bench = Bench(args.at.resolve())
            if not bench.state:
                raise Refused(f"{args.at} holds no deployment of this bench (made with --keep)")
            if args.down:
                bench.down()
            elif args.side:
                result = bench.ab(args.side, args.path, args.requests, args.concurrency)
                print(f"{args.side} {args.path} {result['rps']:.1f} req/s, 0 failed")
            else:
                bench.rounds(args.rounds, args.requests, args.concurrency)
            return 0
        if args.keep and args.keep.exists() and any(args.keep.iterdir()):
            raise Refused(f"{args.keep} is not empty: choose a new folder")
        base = Path(args.keep or tempfile.mkdtemp(prefix="bench-front-door-")).resolve()
        base.mkdir(parents=True, exist_ok=True)
        bench = Bench(base)
        project = args.project or f"frontdoor-{uuid.uuid4().hex[:8]}"
        ports = (args.http_port or free_port(), args.https_port or free_port())
        try:
            bench.set_up(args.data, project, ports)
            if args.keep:
                me = f"{sys.executable} {Path(__file__).resolve()} --at {base}"
                print(f"kept in {base}; one side once:  {me} --side stack|bare --path PATH")
                print(f"rounds: {me}   remove: {me} --down")
                return 0
            bench.rounds(args.rounds, args.requests, args.concurrency)
        finally:
            if not args.keep:
                bench.down()
    except Refused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
