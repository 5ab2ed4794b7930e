"""Link the app to its stack with the stack's own scripts/link-app.sh."""

from __future__ import annotations

import sys

from stack_scripts import main_for


def main(argv: list[str] | None = None) -> int:
    return main_for("link-app.sh", argv)


if __name__ == "__main__":
    sys.exit(main())
