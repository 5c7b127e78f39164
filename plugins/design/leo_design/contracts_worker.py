"""Child process that evaluates import-linter contracts on a tree and writes the result as JSON.

It runs apart from LEO because import-linter and grimp locate the root packages through the
import system, which must see the head tree without disturbing the other sub-agents' threads,
and so that a timeout can kill it. It is started as a script with ``python -I`` (never as part
of the ``leo_design`` package, so neither LEO nor anything of the tree is imported), and only
the root packages are resolved in the tree, by a meta-path finder; ``sys.path`` is left alone,
so the tree can never shadow a module. Nothing of the tree is executed: custom
``contract_types`` are refused (loading them would import the change's code), and so is a
dotted root package whose parent is a regular package (finding it would run its ``__init__``).

Usage: ``python -I contracts_worker.py CONFIG TREE OUT SEARCH_PATH...``
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: import-linter's built-in contract types, by the names its configuration uses. Registered
#: through public classes because import-linter registers them only inside ``lint_imports``
#: (its private ``_register_contract_types`` went away in 2.17).
BUILT_IN = {
    "forbidden": "importlinter.contracts.forbidden:ForbiddenContract",
    "layers": "importlinter.contracts.layers:LayersContract",
    "independence": "importlinter.contracts.independence:IndependenceContract",
    "protected": "importlinter.contracts.protected:ProtectedContract",
    "acyclic_siblings": "importlinter.contracts.acyclic_siblings:AcyclicSiblingsContract",
}


def evaluate(config: str, tree: Path, search: list[str]) -> dict[str, Any]:
    from importlinter import configuration
    from importlinter.application import use_cases
    from importlinter.application.app_config import settings

    configuration.configure()
    settings.configure(GRAPH_BUILDER=_WithDynamicImports(settings.GRAPH_BUILDER, tree, search))
    options = use_cases.read_user_options(config_filename=config)
    refused = _refuse_custom_types(options)
    _register_built_in_types()
    roots = [str(r) for r in options.session_options.get("root_packages", ())]
    paths = [str(tree / p) if p else str(tree) for p in search]
    _guard(roots, paths)
    sys.meta_path.insert(0, _TreeFinder({r.split(".")[0] for r in roots}, paths))
    result: dict[str, Any] = {"contracts": [], "refused": refused}
    if not options.contracts_options:
        return result
    report = use_cases.create_report(options, cache_dir=None)
    if report.could_not_run:
        problems = {name: str(exc) for name, exc in report.invalid_contract_options.items()}
        return {"error": f"invalid import-linter contract options: {problems}"}
    result["contracts"] = _checks(report, tree, search)
    return result


def _checks(report: Any, tree: Path, search: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "name": contract.name,
            "type": type(contract).__name__,
            "kept": bool(check.kept),
            "warnings": [str(w) for w in check.warnings],
            "routes": [_resolve(route, tree, search) for route in _routes(check.metadata)],
        }
        for contract, check in report.get_contracts_and_checks()
    ]


class _WithDynamicImports:
    """import-linter's graph builder, plus the imports a module of the graph makes by a name
    written in the call: ``importlib.import_module("shop.web")``, ``import_module(".web",
    "shop")``, ``__import__("shop.web")``. grimp reads import statements only, so such a call
    crossed a layer unseen (round-3 red team); a name computed at run time stays unseen."""

    def __init__(self, builder: Any, tree: Path, search: list[str]) -> None:
        self.builder = builder
        self.tree = tree
        self.search = search

    def build(self, **kwargs: Any) -> Any:
        graph = self.builder.build(**kwargs)
        for module in sorted(graph.modules):
            path = _module_file(module, self.tree, self.search)
            if path is None:
                continue
            for line, name, text in _dynamic_imports(self.tree / path, module):
                target = name
                while target and target not in graph.modules:
                    target = target.rpartition(".")[0]
                if target and target != module:
                    graph.add_import(
                        importer=module, imported=target, line_number=line, line_contents=text
                    )
        return graph


_IMPORTERS = frozenset({"import_module", "__import__"})


def _dynamic_imports(path: Path, module: str) -> list[tuple[int, str, str]]:
    """(line, absolute module name, source line) of each import by a literal name in ``path``."""
    import ast

    try:
        source = path.read_bytes()
        # This process parses alone: LEO's syntax lock guards threads of the leo process.
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    lines = source.decode("utf-8", "replace").splitlines()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        name = _literal(node.args[0]) if called in _IMPORTERS else None
        if not name:
            continue
        if name.startswith("."):  # import_module(".web", "shop"): relative to the package given
            anchor = _literal(node.args[1]) if len(node.args) > 1 else package
            dots = len(name) - len(name.lstrip("."))
            parts = (anchor or "").split(".")
            base = ".".join(parts[: len(parts) - dots + 1]) if anchor else ""
            name = f"{base}.{name.lstrip('.')}" if base else ""
        if name:
            text = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else ""
            found.append((node.lineno, name, text))
    return found


def _literal(node: Any, depth: int = 0) -> str | None:
    """The string a constant, or ``+`` of constants, always is."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and depth < 50:
        left, right = _literal(node.left, depth + 1), _literal(node.right, depth + 1)
        return left + right if left is not None and right is not None else None
    return None


def _register_built_in_types() -> None:
    import importlib

    from importlinter.domain.contract import registry

    for name, where in BUILT_IN.items():
        module, _, cls = where.partition(":")
        registry.register(getattr(importlib.import_module(module), cls), name)


def _refuse_custom_types(options: Any) -> list[dict[str, str]]:
    """Drop ``contract_types`` and the contracts using them; return those contracts."""
    options.session_options.pop("contract_types", None)
    kept, refused = [], []
    for contract in options.contracts_options:
        (kept if contract.get("type") in BUILT_IN else refused).append(contract)
    options.contracts_options[:] = kept
    return [{"name": str(c.get("name", "?")), "type": str(c.get("type", "?"))} for c in refused]


class _TreeFinder(importlib.abc.MetaPathFinder):
    """Resolves only the configured root packages, and only inside the tree."""

    def __init__(self, tops: set[str], paths: list[str]) -> None:
        self.tops = tops
        self.paths = paths

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.tops:
            return None  # submodules resolve through their parent's __path__ (in the tree)
        return importlib.machinery.PathFinder.find_spec(fullname, self.paths)


def _guard(roots: list[str], paths: list[str]) -> None:
    for root in roots:
        parts = root.split(".")
        if parts[0] in sys.modules:
            msg = f"root package {root!r} has the name of a module the checker itself uses"
            raise ValueError(msg)
        for n in range(1, len(parts)):
            for p in paths:
                if Path(p, *parts[:n], "__init__.py").exists():
                    msg = (
                        f"root package {root!r} lies inside the regular package "
                        f"{'.'.join(parts[:n])!r}, whose code would have to run to find it"
                    )
                    raise ValueError(msg)


def _links(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list | tuple):
        return []
    return [
        {
            "importer": str(i["importer"]),
            "imported": str(i["imported"]),
            "lines": sorted(int(n) for n in i.get("line_numbers", ()) if isinstance(n, int)),
        }
        for i in items
        if isinstance(i, dict) and "importer" in i and "imported" in i
    ]


def _routes(meta: Any) -> list[dict[str, Any]]:
    """Every import chain in a contract check's metadata, whatever the contract type.

    Layers and independence contracts give ``routes`` of ``{chain, extra_firsts, extra_lasts}``;
    forbidden contracts give ``chains`` (lists of links); both are found by shape.
    """
    found: list[dict[str, Any]] = []
    if isinstance(meta, dict):
        if isinstance(meta.get("chain"), list | tuple):
            extras = _links(meta.get("extra_firsts")) + _links(meta.get("extra_lasts"))
            found.append({"chain": _links(meta["chain"]), "extras": extras})
            return found
        for key, value in meta.items():
            if key == "chains" and isinstance(value, list | tuple):
                found += [{"chain": _links(c), "extras": []} for c in value if _links(c)]
            else:
                found += _routes(value)
    elif isinstance(meta, list | tuple):
        for item in meta:
            found += _routes(item)
    return found


def _resolve(route: dict[str, Any], tree: Path, search: list[str]) -> dict[str, Any]:
    for link in [*route["chain"], *route["extras"]]:
        link["path"] = _module_file(link["importer"], tree, search)
    return route


def _module_file(module: str, tree: Path, search: list[str]) -> str | None:
    parts = module.split(".")
    for root in search:
        base = tree / root if root else tree
        for candidate in (
            base.joinpath(*parts).with_suffix(".py"),
            base.joinpath(*parts, "__init__.py"),
        ):
            if candidate.is_file():
                return candidate.relative_to(tree).as_posix()
    return None


def main(argv: list[str]) -> int:
    config, tree, out, *search = argv
    try:
        result = evaluate(config, Path(tree), search or [""])
    except Exception as exc:  # reported to the sub-agent, which turns it into its error
        result = {"error": f"{type(exc).__name__}: {exc}"}
    Path(out).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
