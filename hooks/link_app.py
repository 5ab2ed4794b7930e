"""Wire the app to its stack with the stack's own tool: the links, then the .env.

copier runs it after `copy` and `update`. On `update` it also runs in throwaway renders of
the old and new template versions; there it does nothing (they are not git repositories,
the real destination always is). The tool is imported from the stack the app links to, so
an app is always linked the way its stack links.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


class HookError(Exception):
    """A failure with a message that names the fix."""


def in_real_destination(operation: str, dst: Path) -> bool:
    return operation == "copy" or (dst / ".git").exists()


def load_stack_tool(stack_dir: Path) -> ModuleType:
    """The stack's `stacktool.cli`, imported from the stack checkout."""
    package = stack_dir / "stacktool"
    if not (package / "__init__.py").is_file():
        raise HookError(
            f"{stack_dir} has no stack tool (stacktool/): it is not a generated stack, or one "
            "older than this app's template. Point stack_path at a <slug>-stack repo, or "
            "update the stack first (copier update in it)."
        )
    for name in [n for n in sys.modules if n == "stacktool" or n.startswith("stacktool.")]:
        del sys.modules[name]  # another stack's tool, imported before in this process
    spec = importlib.util.spec_from_file_location(
        "stacktool", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["stacktool"] = module
    spec.loader.exec_module(module)
    return importlib.import_module("stacktool.cli")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operation", default="copy")
    parser.add_argument("--stack-dir", type=Path, required=True)
    parser.add_argument("--app-dir", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    if not in_real_destination(args.operation, args.app_dir):
        return 0
    try:
        tool = load_stack_tool(args.stack_dir)
    except HookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for command in ("link", "env"):
        code = tool.main([command, str(args.app_dir)])
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
