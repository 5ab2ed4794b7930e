"""How long generating the repos takes, against a one-file copier template (the floor).

Usage: python bench/generate.py [-n PAIRS] [--warmup N] [--copier PATH] [--only pair|stack]

The template is this checkout's working tree (uncommitted work included), committed and
tagged in a temporary clone, as tests/conftest.py's `template` fixture makes it. The
floor is a copier template of one file, a tagged git repository made here too. Each
measured command runs in turn with the floor (A B A B ...), every run into a fresh
destination, and the ratio is taken pair by pair, so a drift of the machine's speed
cancels out. Printed: the median wall seconds of each and the median ratio.

  pair   copier copy --trust --defaults -d repo=app TEMPLATE DST   (app + stack + tasks)
  stack  copier copy --trust --defaults -d repo=stack TEMPLATE DST
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 2.0  # the pair may take at most this many times the floor
GIT_ID = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]


def git(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run(["git", *GIT_ID, *map(str, args)], cwd=cwd, check=True, capture_output=True)


def template_clone(base: Path) -> Path:
    """The working tree, committed and tagged in a clone (as the tests' template fixture)."""
    src = base / "template"
    git("clone", "--quiet", "--no-hardlinks", ROOT, src)
    work = ["--git-dir", src / ".git", "--work-tree", ROOT]
    git(*work, "add", "--all")
    git(*work, "commit", "--quiet", "--allow-empty", "--no-verify", "--message", "working tree")
    git("checkout", "--quiet", "--force", "HEAD", cwd=src)
    git("tag", "99.0.0", cwd=src)
    return src


def floor_template(base: Path) -> Path:
    """A copier template of one file, in a git repository with a tag."""
    src = base / "floor"
    src.mkdir()
    (src / "copier.yml").write_text("name:\n  type: str\n  default: floor\n")
    (src / "README.md.jinja").write_text("# {{ name }}\n")
    git("init", "--quiet", "--initial-branch=main", cwd=src)
    git("add", "--all", cwd=src)
    git("commit", "--quiet", "--no-verify", "--message", "one file", cwd=src)
    git("tag", "1.0.0", cwd=src)
    return src


def timed(command: list[str | Path], runs: Path) -> float:
    """Wall seconds of one run into a fresh destination (made and removed off the clock)."""
    where = Path(tempfile.mkdtemp(dir=runs))
    argv = [str(part) for part in command] + [str(where / "dst")]
    start = time.perf_counter()
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {result.returncode}\n{result.stderr.decode()[-2000:]}")
    shutil.rmtree(where)
    return seconds


def paired(a: list, b: list, runs: Path, pairs: int, warmup: int) -> tuple[float, float, float]:
    """Median seconds of A, of B, and median of the pair-by-pair ratio A/B."""
    for _ in range(warmup):
        timed(a, runs)
        timed(b, runs)
    times_a, times_b = [], []
    for _ in range(pairs):
        times_a.append(timed(a, runs))
        times_b.append(timed(b, runs))
    ratios = [x / y for x, y in zip(times_a, times_b, strict=True)]
    return statistics.median(times_a), statistics.median(times_b), statistics.median(ratios)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--pairs", type=int, default=7, help="counted pairs (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted pairs first (default 1)")
    parser.add_argument("--copier", default=None, help="copier executable (default: the venv's)")
    parser.add_argument("--only", choices=["pair", "stack"], help="measure one of the two")
    args = parser.parse_args(argv)

    copier = args.copier or shutil.which("copier", path=str(Path(sys.executable).parent))
    if not copier:
        sys.exit("no copier next to this Python: pass --copier PATH")
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        base = Path(tmp)
        template, floor = template_clone(base), floor_template(base)
        runs = base / "runs"
        runs.mkdir()
        copy = [copier, "copy", "--trust", "--defaults"]
        cases = {
            "pair": [*copy, "-d", "repo=app", template],
            "stack": [*copy, "-d", "repo=stack", template],
        }
        print(f"{args.pairs} pairs after {args.warmup} warm-up, median wall seconds:")
        print(f"{'case':<6} {'case s':>7} {'floor s':>8} {'ratio':>6}")
        for name, command in cases.items():
            if args.only and name != args.only:
                continue
            a, b, ratio = paired(command, [*copy, floor], runs, args.pairs, args.warmup)
            print(f"{name:<6} {a:7.2f} {b:8.2f} {ratio:5.2f}x")
        print(f"target: pair at most {TARGET:.1f}x the floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
