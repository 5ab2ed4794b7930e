"""How long `make deploy` takes, from the command to the new code and the new bundle served,
and how much memory each container holds at its peak meanwhile.

Usage: python bench/deploy.py [-n RUNS] [--ref REF]   a deployment, RUNS deploys, taken down
       python bench/deploy.py --keep DIR [--ref REF]  a deployment in DIR, left running
       python bench/deploy.py --once DIR              one deploy there (for a whole-process timer)
       python bench/deploy.py --down DIR              that deployment taken down and removed

The deployment is the default pair on the stand-in base images, generated from this
checkout's working tree (or the commit REF), deployed as the stack's README says (the tests'
deployments.py). A deploy is a commit of new frontend and backend code (a line each in
frontend/src/main.tsx and backend/notes/views.py), then `make deploy`, which returns once the
new code answers and the new bundle is served. Printed: each deploy's wall seconds and its
output's timed steps, the median, and the peak memory of each container during the deploys
(the cgroup's usage less its inactive file cache, as `docker stats` counts it, sampled every
0.1 s).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The tests' own modules, as pytest finds them (pyproject.toml's pythonpath).
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench"), str(ROOT), str(ROOT / "stack-template")]

from deployments import deployment_of  # noqa: E402
from generate import git, template_clone  # noqa: E402

APP = Path("data root/app/igny8")  # in DIR: the app's checkout on the "server"


def template_at(base: Path, ref: str | None) -> Path:
    """The template: the working tree, or commit `ref`, tagged 99.0.0 in a clone."""
    if ref is None:
        return template_clone(base)
    src = base / "template"
    git("clone", "--quiet", "--no-hardlinks", ROOT, src)
    git("checkout", "--quiet", "--force", ref, cwd=src)
    git("tag", "99.0.0", cwd=src)
    return src


def deploy_once(app: Path) -> tuple[float, str]:
    """A commit of new code, then `make deploy`: its wall seconds and its output."""
    mark = time.time_ns()
    for path, line in (("frontend/src/main.tsx", "//"), ("backend/notes/views.py", "#")):
        with open(app / path, "a") as source:
            source.write(f"{line} deployed at {mark}\n")
    git("commit", "--quiet", "--all", "--message", f"bench {mark}", cwd=app)
    start = time.perf_counter()
    result = subprocess.run(["make", "deploy"], cwd=app, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"make deploy failed:\n{result.stdout}\n{result.stderr}")
    return seconds, result.stdout


def memory_file(container: str) -> tuple[Path, str] | None:
    """The cgroup (v1 or v2) of a container: its folder and its inactive-file key."""
    for folder, key in (
        (Path("/sys/fs/cgroup/memory/docker", container), "total_inactive_file"),
        (Path(f"/sys/fs/cgroup/system.slice/docker-{container}.scope"), "inactive_file"),
    ):
        if folder.is_dir():
            return folder, key
    return None


def in_use(folder: Path, key: str) -> int:
    usage = folder / "memory.usage_in_bytes"
    total = int((usage if usage.exists() else folder / "memory.current").read_text())
    stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
    return total - int(stat.get(key, 0))


class Peaks:
    """Each container's peak memory while it runs (sampled every 0.1 s)."""

    def __init__(self, app: Path) -> None:
        ids = subprocess.run(
            ["docker", "compose", "ps", "--format", "{{.Service}} {{.ID}}", "--no-trunc"],
            cwd=app, capture_output=True, text=True, check=True,
        ).stdout.split("\n")  # fmt: skip
        self.groups = {
            name: found
            for name, container in (line.split() for line in ids if line.strip())
            if (found := memory_file(container))
        }
        self.peaks = dict.fromkeys(self.groups, 0)
        self.stop = threading.Event()

    def __enter__(self) -> Peaks:
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def _sample(self) -> None:
        while not self.stop.wait(0.1):
            for name, (folder, key) in self.groups.items():
                with contextlib.suppress(OSError, ValueError):  # the container has gone
                    self.peaks[name] = max(self.peaks[name], in_use(folder, key))


def measure(app: Path, runs: int) -> None:
    with Peaks(app) as peaks:
        idle = {name: in_use(*group) for name, group in peaks.groups.items()}
        times = []
        for number in range(runs):
            seconds, output = deploy_once(app)
            times.append(seconds)
            steps = [line for line in output.splitlines() if re.search(r" in [0-9.]+s\b", line)]
            print(f"deploy {number + 1}: {seconds:.2f} s  | " + " | ".join(steps), flush=True)
    print(f"make deploy, median of {runs}: {statistics.median(times):.2f} s")
    for name in sorted(peaks.peaks):
        print(
            f"memory of {name}: {idle[name] / 2**20:.1f} MiB before, "
            f"{peaks.peaks[name] / 2**20:.1f} MiB at the peak of the deploys"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="deploys to time (default 5)")
    parser.add_argument("--ref", help="generate from this commit, not the working tree")
    parser.add_argument("--keep", type=Path, metavar="DIR")
    parser.add_argument("--once", type=Path, metavar="DIR")
    parser.add_argument("--down", type=Path, metavar="DIR")
    args = parser.parse_args()
    if shutil.which("docker") is None:
        sys.exit("error: docker not found: install Docker Engine (bash .ci/provision-docker.sh)")
    kept = args.once or args.down
    if kept and not (kept / APP / ".env").is_file():
        sys.exit(f"error: {kept} holds no deployment of this bench: make one with --keep {kept}")
    if args.once:
        seconds, _ = deploy_once(args.once / APP)
        print(f"{seconds:.2f}")
        return 0
    if args.down:
        subprocess.run(["docker", "compose", "down", "--volumes"], cwd=args.down / APP, check=False)
        shutil.rmtree(args.down)
        return 0
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench deploy "))
    base.mkdir(parents=True, exist_ok=True)
    site = deployment_of(template_at(base, args.ref), base, "bench deploy", app_packages=False)
    deployment = site.__enter__()
    if args.keep:
        print(f"Kept: {deployment.app} ({deployment.url}); python bench/deploy.py --down {base}")
        os._exit(0)  # leaves it running: the context's exit would take it down
    try:
        measure(deployment.app, args.n)
    finally:
        with contextlib.redirect_stdout(io.StringIO()):  # the containers' last logs
            site.__exit__(None, None, None)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
