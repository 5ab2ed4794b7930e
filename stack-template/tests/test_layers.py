"""The stack tool's modules import each other in layers: no cycle, and no import of the tool's
own modules inside a function (the way a cycle is hidden). `python3 -m tests.test_layers`
prints the import arrows."""

import ast
import sys
import tempfile
import unittest
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "stacktool"


def _imported(node: ast.AST, module: str, modules: set[str]) -> set[str]:
    """The tool's modules an import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        return {n.split(".")[1] for n in names if n.startswith("stacktool.")} & modules
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level == 0 and not (node.module or "").startswith("stacktool"):
        return set()
    base = (node.module or "").split(".")[-1] if node.module else ""
    if base and base != "stacktool":
        return {base} & modules
    return {alias.name for alias in node.names} & modules  # from . import x


def graph(package: Path = PACKAGE) -> tuple[dict[str, set[str]], list[str]]:
    """Each module's imports of the others, and the imports found inside a function."""
    modules = {path.stem for path in package.glob("*.py")} - {"__init__"}
    arrows: dict[str, set[str]] = {module: set() for module in modules}
    hidden: list[str] = []
    for module in sorted(modules):
        tree = ast.parse((package / f"{module}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            found = _imported(node, module, modules) - {module}
            arrows[module] |= found
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    for name in sorted(_imported(node, module, modules)):
                        hidden.append(f"{module}.{function.name} imports {name}")
    return arrows, hidden


def cycles(arrows: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(arrows[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(arrows):
        if module not in index:
            visit(module)
    return found


class LayersTest(unittest.TestCase):
    def test_no_module_of_the_tool_imports_itself_back(self):
        arrows, _ = graph()
        self.assertEqual(cycles(arrows), [])

    def test_no_module_imports_the_tool_inside_a_function(self):
        self.assertEqual(graph()[1], [])

    def test_the_graph_sees_a_cycle_and_a_hidden_import(self):
        arrows = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
        self.assertEqual(cycles(arrows), [["a", "b", "c"]])
        tree = "from . import b\n\ndef f():\n    from .c import g\n"
        folder = Path(tempfile.mkdtemp())
        for name, text in (("a", tree), ("b", "import stacktool.a\n"), ("c", "")):
            (folder / f"{name}.py").write_text(text)
        arrows, hidden = graph(folder)
        self.assertEqual(arrows, {"a": {"b", "c"}, "b": {"a"}, "c": set()})
        self.assertEqual(hidden, ["a.f imports c"])


def main(package: Path = PACKAGE) -> None:
    arrows, hidden = graph(package)
    pairs = sum(len(found) for found in arrows.values())
    print(f"{len(arrows)} modules, {pairs} import arrows")
    for module in sorted(arrows):
        print(f"  {module} -> {', '.join(sorted(arrows[module])) or '-'}")
    print(f"cycles: {cycles(arrows) or 'none'}")
    print(f"imports inside functions: {hidden or 'none'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE)
