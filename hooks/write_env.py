"""Create the app's .env (fresh secrets, mode 600) with the stack's own scripts/sync-env.sh.

An existing .env is never overwritten: only keys it lacks are appended.
"""

from __future__ import annotations

import sys

from stack_scripts import main_for


def main(argv: list[str] | None = None) -> int:
    return main_for("sync-env.sh", argv)


if __name__ == "__main__":
    sys.exit(main())
