"""No private name crosses a module boundary inside LEO (issue 21): a ``_name`` is its module's
own business, so moving or renaming it never breaks another module."""

from __future__ import annotations

import ast
from pathlib import Path

LEO = Path(__file__).resolve().parent.parent / "leo"


def _module_of(path: Path) -> str:
    parts = path.relative_to(LEO.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = here.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def crossings(text: str, here: str, is_package: bool = False) -> list[str]:
    """``from leo.x import _y`` and ``x._y`` where ``x`` is another LEO module, in module
    ``here`` whose source is ``text``."""
    tree = ast.parse(text)
    package = here if is_package else here.rpartition(".")[0]
    modules: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(node, here, is_package)
            if not source.startswith("leo"):
                continue
            for alias in node.names:
                # A package's private modules (leo.cli._options) serve that package's modules.
                if _private(alias.name) and source != package:
                    found.append(f"{here}:{node.lineno} imports {source}.{alias.name}")
                modules[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("leo"):
                    modules[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            found.append(f"{here}:{node.lineno} uses {modules[node.value.id]}.{node.attr}")
    return found


def test_no_private_name_crosses_a_module_boundary_in_leo():
    found = [
        crossing
        for path in sorted(LEO.rglob("*.py"))
        for crossing in crossings(
            path.read_text(encoding="utf-8"), _module_of(path), path.name == "__init__.py"
        )
    ]
    assert found == []


def test_the_check_sees_a_crossing_and_allows_a_packages_private_module():
    text = (
        "from . import chain\nfrom leo.bundle.create import _x\nfrom .chain import _y\n"
        "chain._plain(1)\nfrom leo.cli._options import plugin_option\n"
    )
    assert crossings(text, "leo.store.sample") == [
        "leo.store.sample:2 imports leo.bundle.create._x",
        "leo.store.sample:3 imports leo.store.chain._y",
        "leo.store.sample:4 uses leo.store.chain._plain",
    ]
    assert crossings("from leo.cli import _options\n", "leo.cli.verify") == []
