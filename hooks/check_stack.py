"""Before an app's `copier update` writes anything: its stack must be where the app links.

Without it the update would render the new files and then fail in the link task, leaving
the app half-updated. The stack is at stack_path of the app's answers, or at the one given
with `-d stack_path=NEW`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml  # comes with copier


def answers(app: Path) -> dict:
    return yaml.safe_load((app / ".copier-answers.yml").read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-path", default="", help="the one given with -d, if any")
    parser.add_argument("--app-dir", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    recorded = answers(args.app_dir)
    if recorded.get("repo") != "app":
        return 0
    path = args.stack_path or str(recorded.get("stack_path") or "")
    if (args.app_dir / path / ".copier-answers.yml").is_file():
        return 0
    print(
        f"error: no stack at stack_path {path} ({os.path.abspath(args.app_dir / path)}); nothing "
        "was changed. Move the stack back, or update with -d stack_path=NEW (relative to the app).",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
