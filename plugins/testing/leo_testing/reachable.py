"""Code the test interpreter can never run: lines behind a version or platform guard that is
decidably False for the Python and platform the tests ran on, and modules imported only there.

Releases carry compatibility code for other interpreters (exceptiongroup 1.2.1's backport
module, imported only ``if sys.version_info < (3, 11)``; colorama 0.4.6's Windows-only code
after ``if sys.platform != "win32": return``). No test here can run it, so counting it as
untested asks a LEAD about what no test run on this machine could settle (issue 18). Only the
guards below are decided; anything else is unknown and its lines are counted as usual:

* ``sys.version_info`` compared with a tuple or an int (also ``[0]``, ``[:2]``, ``.major``,
  ``.minor``, ``.micro``), ``sys.platform`` (``==``, ``!=``, ``in``, ``.startswith``),
  ``os.name``, ``platform.system()``, joined by ``and``, ``or`` and ``not``;
* each name only as imported from ``sys``, ``os`` or ``platform`` and never bound again in the
  file (a parameter, an assignment, ``sys.platform = ...``, a function named ``sys``);
* in a ``try``, a statement that certainly raises here: it imports a module only another
  platform's Python has (``msvcrt``, ``fcntl``, …, which the tests' interpreter lacks and
  neither the project nor its environment provides) or reads a ``ctypes`` name defined only on
  Windows (colorama's ``LibraryLoader(ctypes.WinDLL)``). The rest of the ``try`` body and its
  ``else`` never run; the handlers do.
"""

from __future__ import annotations

import ast
import json
import operator
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from leo import Change, LeoError, parse_python, run_git, run_tool

#: Standard modules only some platforms' Pythons have: importing one elsewhere raises.
PLATFORM_MODULES = (
    "msvcrt", "winreg", "_winapi", "winsound", "_overlapped", "nt",
    "fcntl", "termios", "pwd", "grp", "resource", "posix", "tty", "pty", "syslog",
)  # fmt: skip
#: ``ctypes`` names defined only where ``os.name == "nt"`` (ctypes/__init__.py).
_CTYPES_NT = (
    "WinDLL", "OleDLL", "windll", "oledll", "WinError", "FormatError", "GetLastError",
    "get_last_error", "set_last_error", "HRESULT",
)  # fmt: skip
#: The probe of a test interpreter other than LEO's own; ``-I -S``: no site hooks run.
_PROBE = (
    "import importlib.util, json, os, platform, sys; print(json.dumps({'version': "
    "list(sys.version_info), 'platform': sys.platform, 'os_name': os.name, 'system': "
    "platform.system(), 'missing': [m for m in sys.argv[1:] if importlib.util.find_spec(m) is "
    "None]}))"
)
#: What a guard may name: module -> its attributes a guard may read.
_MEMBERS = {
    "sys": ("version_info", "platform"),
    "os": ("name",),
    "platform": ("system",),
    "ctypes": _CTYPES_NT,
}
_VERSION_PARTS = {"major": 0, "minor": 1, "micro": 2}
#: Files whose text may name a module to import (entry points, pytest plugins).
_CONFIG_SUFFIXES = (".toml", ".cfg", ".ini", ".txt")
#: Rounds of "imported only by a module imported only under a guard" followed at most.
_MAX_ROUNDS = 8
_MAX_MODULES = 50
_UNKNOWN = object()


@dataclass(frozen=True)
class Target:
    """The interpreter and platform the tests ran on."""

    version: tuple[Any, ...]
    """``sys.version_info`` as a tuple, e.g. ``(3, 11, 7, "final", 0)``."""
    platform: str
    """``sys.platform``."""
    os_name: str
    """``os.name``."""
    system: str
    """``platform.system()``."""
    missing: frozenset[str] = frozenset()
    """What importing or reading certainly fails here: ``PLATFORM_MODULES`` the interpreter
    lacks, and ``ctypes.WinDLL`` and the like off Windows."""

    def describe(self) -> str:
        return f"Python {'.'.join(str(p) for p in self.version[:3])} / {self.platform}"

    def without(self, names: Iterable[str]) -> Target:
        """This target where modules named ``names`` (the project's own, its environment's)
        may be found after all: importing them is no longer certain to fail."""
        shadowed = set(names)
        kept = {m for m in self.missing if m.split(".")[0] not in shadowed}
        return Target(self.version, self.platform, self.os_name, self.system, frozenset(kept))

    @classmethod
    def here(cls) -> Target:
        import importlib.util
        import os
        import platform

        missing = [m for m in PLATFORM_MODULES if importlib.util.find_spec(m) is None]
        return cls(
            tuple(sys.version_info), sys.platform, os.name, platform.system(),
            _missing(missing, os.name),
        )  # fmt: skip


def _missing(modules: Iterable[str], os_name: str) -> frozenset[str]:
    nt = () if os_name == "nt" else (f"ctypes.{n}" for n in _CTYPES_NT)
    return frozenset([*modules, *nt])


async def probe(python: str) -> Target | None:
    """The ``Target`` of interpreter ``python``, or None when it cannot say (then nothing is
    set aside: the lines are counted)."""
    try:
        if Path(python).resolve() == Path(sys.executable).resolve():
            return Target.here()
        argv = [python, "-I", "-S", "-c", _PROBE, *PLATFORM_MODULES]
        result = await run_tool(argv, timeout=60)
        data = json.loads(result.stdout)
        version = tuple(data["version"])
        fields = (data["platform"], data["os_name"], data["system"])
        missing = set(data["missing"])
    except (LeoError, OSError, ValueError, KeyError, TypeError):
        return None
    if result.returncode != 0 or len(version) != 5 or not all(isinstance(f, str) for f in fields):
        return None
    if not all(isinstance(p, int) for p in version[:3]) or not missing <= set(PLATFORM_MODULES):
        return None
    return Target(version, *fields, _missing(missing, fields[1]))


def shadowing(files: Iterable[str], environment: Path | None) -> set[str]:
    """Top-level names a module of the project (``files``, at any depth) or of the tests'
    environment (its site-packages) may answer to: ``try: import msvcrt`` may find one."""
    names: set[str] = set()
    for path in files:
        p = PurePosixPath(path)
        names |= {*p.parts[:-1], p.name.split(".")[0]}  # a folder may be a namespace package
    if environment is not None:
        for site in environment.glob("lib/python*/site-packages"):
            names |= {entry.name.split(".")[0] for entry in site.iterdir()}
    return names


# --- The guard: which names mean what, and what an expression is worth here -----------------


def _bindings(tree: ast.AST) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Names bound only to ``sys``/``os``/``platform`` (name -> module) and names bound only to
    one of their guard attributes (name -> (module, attribute)). A name bound any other way
    anywhere in the file, and a module whose guard attribute the file assigns, are left out."""
    bound: dict[str, set[object]] = {}
    tainted: set[tuple[str, str]] = set()

    def bind(name: str, what: object) -> None:
        bound.setdefault(name, set()).add(what)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                bind(a.asname or top, a.name if a.asname else top)
        elif isinstance(node, ast.ImportFrom):
            if any(a.name == "*" for a in node.names):
                return {}, {}  # it may bind any name, ``sys`` too
            for a in node.names:
                what = (node.module, a.name) if not node.level else object()
                bind(a.asname or a.name, what)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bind(node.id, object())
        elif isinstance(node, ast.arg):
            bind(node.arg, object())
        elif isinstance(
            node,
            ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.ExceptHandler
            | ast.MatchAs | ast.MatchStar,
        ) and node.name:  # fmt: skip
            bind(node.name, object())
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bind(node.rest, object())
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                bind(name, object())
        elif (
            isinstance(node, ast.Attribute)
            and not isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name)
        ):
            tainted.add((node.value.id, node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "delattr")
            and node.args
            and isinstance(node.args[0], ast.Name)
        ):
            tainted.add((node.args[0].id, "*"))
    modules: dict[str, str] = {}
    members: dict[str, tuple[str, str]] = {}
    for name, whats in bound.items():
        if len(whats) != 1:
            continue
        (what,) = whats
        if isinstance(what, str) and what in _MEMBERS:
            modules[name] = what
        elif isinstance(what, tuple) and what[1] in _MEMBERS.get(what[0], ()):
            members[name] = what
    # ``sys.platform = ...`` through any alias changes it for every name of ``sys``.
    changed = {
        modules[name]
        for name, attr in tainted
        if name in modules and attr in (*_MEMBERS[modules[name]], "*")
    }
    return (
        {n: m for n, m in modules.items() if m not in changed},
        {n: m for n, m in members.items() if m[0] not in changed},
    )


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


class Guards:
    """Decides the guards of one file for one ``Target``: True, False or None (unknown)."""

    def __init__(self, tree: ast.AST, target: Target) -> None:
        self.modules, self.members = _bindings(tree)
        self.target = target

    def member(self, node: ast.expr) -> tuple[str, str] | None:
        """The (module, attribute) ``node`` reads, e.g. ``("sys", "platform")``, if any."""
        if isinstance(node, ast.Name):
            return self.members.get(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = self.modules.get(node.value.id)
            if module is not None and node.attr in _MEMBERS[module]:
                return module, node.attr
        return None

    def value(self, node: ast.expr) -> object:
        """What ``node`` is worth on the target, or ``_UNKNOWN``."""
        t = self.target
        member = self.member(node)
        if member == ("sys", "version_info"):
            return t.version
        if member == ("sys", "platform"):
            return t.platform
        if member == ("os", "name"):
            return t.os_name
        if isinstance(node, ast.Call) and not node.args and not node.keywords:
            return t.system if self.member(node.func) == ("platform", "system") else _UNKNOWN
        if isinstance(node, ast.Constant) and type(node.value) in (int, str):
            return node.value
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = [self.value(e) for e in node.elts]
            literal = all(isinstance(e, ast.Constant) for e in node.elts)
            return tuple(items) if literal and _UNKNOWN not in items else _UNKNOWN
        if isinstance(node, ast.Attribute) and node.attr in _VERSION_PARTS:
            whole = self.value(node.value)
            return whole[_VERSION_PARTS[node.attr]] if whole is t.version else _UNKNOWN
        if isinstance(node, ast.Subscript) and self.value(node.value) is t.version:
            return self._part(node.slice)
        return _UNKNOWN

    def _part(self, index: ast.expr) -> object:
        version = self.target.version
        if isinstance(index, ast.Constant) and type(index.value) is int:
            return version[index.value] if -5 <= index.value < 5 else _UNKNOWN
        if isinstance(index, ast.Slice) and index.step is None:
            ends: list[int | None] = []
            for bound in (index.lower, index.upper):
                if bound is None:
                    ends.append(None)
                elif isinstance(bound, ast.Constant) and type(bound.value) is int:
                    ends.append(int(bound.value))
                else:
                    return _UNKNOWN
            return version[ends[0] : ends[1]]
        return _UNKNOWN

    def decide(self, node: ast.expr) -> bool | None:
        """The truth of guard ``node`` on the target, or None when it is not decidable."""
        if isinstance(node, ast.BoolOp):
            parts = [self.decide(v) for v in node.values]
            stop = isinstance(node.op, ast.Or)  # the value that decides an or / an and
            if stop in parts:
                return stop
            return None if None in parts else not stop
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.decide(node.operand)
            return None if inner is None else not inner
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("startswith", "endswith")
            and len(node.args) == 1
            and not node.keywords
        ):
            text, affix = self.value(node.func.value), self.value(node.args[0])
            if not self._derived(node.func.value) or not isinstance(text, str):
                return None
            if isinstance(affix, str) or (
                isinstance(affix, tuple) and all(isinstance(a, str) for a in affix)
            ):
                return bool(getattr(text, node.func.attr)(affix))
        return None

    def _derived(self, node: ast.expr) -> bool:
        """Does ``node`` read the target (not a literal compared with a literal)?"""
        return not isinstance(node, ast.Constant | ast.Tuple | ast.List | ast.Set)

    def _compare(self, node: ast.Compare) -> bool | None:
        operands = [node.left, *node.comparators]
        if not any(self._derived(o) for o in operands):
            return None
        values = [self.value(o) for o in operands]
        if _UNKNOWN in values:
            return None
        try:
            for op, a, b in zip(node.ops, values, values[1:], strict=False):
                if type(op) not in _COMPARE:
                    return None
                if not _COMPARE[type(op)](a, b):
                    return False
        except TypeError:
            return None
        return True


# --- Lines: the bodies a decided guard never enters --------------------------------------


@dataclass(frozen=True)
class Region:
    """Lines one decided guard keeps the target out of."""

    lines: frozenset[int]
    why: str
    """E.g. ``only runs where `sys.version_info < (3, 11)` (line 12)``."""


def _span(block: Sequence[ast.stmt]) -> frozenset[int]:
    first = min([block[0].lineno, *(d.lineno for d in getattr(block[0], "decorator_list", ()))])
    return frozenset(range(first, (block[-1].end_lineno or block[-1].lineno) + 1))


def _leaves(block: Sequence[ast.stmt]) -> bool:
    return isinstance(block[-1], ast.Return | ast.Raise | ast.Continue | ast.Break)


#: A comparison and its negation, to show ``sys.platform == 'win32'`` for ``not (... != ...)``.
_NEGATED = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt,
            ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In}  # fmt: skip


def _text(node: ast.expr, holds: bool = True) -> str:
    """``node`` as source, or its negation when it must not hold."""
    if not holds:
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _NEGATED:
            node = ast.Compare(node.left, [_NEGATED[type(node.ops[0])]()], node.comparators)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            node = node.operand
        else:
            node = ast.UnaryOp(ast.Not(), node)
    text = ast.unparse(node)
    return text if len(text) <= 120 else text[:117] + "..."


def regions(source: bytes | ast.Module, target: Target) -> list[Region]:
    """The regions of ``source`` (or its syntax tree) no run on ``target`` enters ([] when it
    does not parse)."""
    try:
        tree = source if isinstance(source, ast.Module) else parse_python(source)
    except (SyntaxError, ValueError):
        return []
    guards = Guards(tree, target)
    found: list[Region] = []

    def where(test: ast.expr, holds: bool, line: int) -> str:
        return f"only runs where `{_text(test, holds)}` (line {line})"

    def walk(block: Sequence[ast.stmt]) -> None:
        for i, stmt in enumerate(block):
            if isinstance(stmt, ast.Try | ast.TryStar) and (fails := _fails(stmt.body, guards)):
                n, why = fails
                walk(stmt.body[: n + 1])
                for rest in (stmt.body[n + 1 :], stmt.orelse):
                    if rest:
                        found.append(Region(_span(rest), why))
                for handler in stmt.handlers:
                    walk(handler.body)
                if stmt.finalbody:
                    walk(stmt.finalbody)
                continue
            if not isinstance(stmt, ast.If):
                for name in ("body", "orelse", "finalbody"):
                    if getattr(stmt, name, None):
                        walk(getattr(stmt, name))
                for child in (*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())):
                    walk(child.body)
                continue
            decided = guards.decide(stmt.test)
            if decided is False:
                found.append(Region(_span(stmt.body), where(stmt.test, True, stmt.lineno)))
            else:
                walk(stmt.body)
            if decided is True and stmt.orelse:
                found.append(Region(_span(stmt.orelse), where(stmt.test, False, stmt.lineno)))
            elif stmt.orelse:
                walk(stmt.orelse)
            if decided is True and _leaves(stmt.body) and block[i + 1 :]:
                end = stmt.body[-1]
                why = where(stmt.test, False, stmt.lineno)
                why += f"; line {end.lineno} leaves otherwise"
                found.append(Region(_span(block[i + 1 :]), why))
                return

    walk(tree.body)
    return found


def _fails(body: Sequence[ast.stmt], guards: Guards) -> tuple[int, str] | None:
    """The first statement of a ``try`` body certain to raise on the target, and why."""
    missing = guards.target.missing
    for n, stmt in enumerate(body):
        failing: str | None = None
        if isinstance(stmt, ast.Import):
            failing = next((a.name for a in stmt.names if a.name.split(".")[0] in missing), None)
        elif isinstance(stmt, ast.ImportFrom) and not stmt.level and stmt.module:
            if stmt.module.split(".")[0] in missing:
                failing = stmt.module
            elif stmt.module == "ctypes":
                wanted = (f"ctypes.{a.name}" for a in stmt.names)
                failing = next((m for m in wanted if m in missing), None)
        elif isinstance(stmt, ast.Expr | ast.Assign | ast.AnnAssign | ast.AugAssign):
            for node in _evaluated(stmt.value) if stmt.value is not None else ():
                member = guards.member(node)
                if member and f"{member[0]}.{member[1]}" in missing:
                    failing = f"{member[0]}.{member[1]}"
                    break
        if failing is not None:
            return n, (f"only runs where `{failing}` exists (line {stmt.lineno} raises here)")
    return None


def _evaluated(node: ast.expr) -> Iterable[ast.expr]:
    """``node`` and the parts of it every evaluation of it reaches (not a lambda's body, the
    branch of a conditional, the right of an ``and``)."""
    yield node
    parts: list[ast.expr] = []
    if isinstance(node, ast.Call):
        parts = [node.func, *node.args, *(k.value for k in node.keywords)]
    elif isinstance(node, ast.Attribute | ast.Starred | ast.Await):
        parts = [node.value]
    elif isinstance(node, ast.UnaryOp):
        parts = [node.operand]
    elif isinstance(node, ast.Subscript):
        parts = [node.value, node.slice]
    elif isinstance(node, ast.BinOp):
        parts = [node.left, node.right]
    elif isinstance(node, ast.BoolOp):
        parts = node.values[:1]
    elif isinstance(node, ast.IfExp):
        parts = [node.test]
    elif isinstance(node, ast.Compare):
        parts = [node.left, *node.comparators[:1]]
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        parts = list(node.elts)
    for part in parts:
        yield from _evaluated(part)


def unreachable(
    source: bytes | ast.Module, target: Target, hits: Mapping[int, int]
) -> dict[int, str]:
    """Line -> why the target never runs it. A region any line of which ran (``hits``) is
    dropped whole: coverage saw the guard decided otherwise, and coverage wins."""
    lines: dict[int, str] = {}
    for region in regions(source, target):
        if not any(hits.get(n) for n in region.lines):
            for n in region.lines:
                lines.setdefault(n, region.why)
    return lines


# --- Modules: imported only where the target never goes ---------------------------------


def module_name(path: str, packages: set[str]) -> str | None:
    """The dotted name of the module at ``path``: its folders up to the top package (each with
    an ``__init__.py`` in ``packages``). None for a package's ``__init__``/``__main__``, a
    file outside a package (a script) or a name Python cannot import."""
    p = PurePosixPath(path)
    if p.suffix != ".py" or p.name in ("__init__.py", "__main__.py"):
        return None
    parts = [p.stem]
    folder = p.parent
    while folder != PurePosixPath(".") and str(folder / "__init__.py") in packages:
        parts.insert(0, folder.name)
        folder = folder.parent
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)


def _package_of(path: str, packages: set[str]) -> str | None:
    """The package a file's relative imports start from."""
    p = PurePosixPath(path)
    if p.name == "__init__.py":
        name = module_name(str(p.parent / "x.py"), packages)
        return name.rsplit(".", 1)[0] if name else None
    name = module_name(path, packages)
    return name.rsplit(".", 1)[0] if name else None


def _imported(node: ast.Import | ast.ImportFrom, package: str | None) -> set[str] | None:
    """The modules an import statement may import (None: a relative import not resolvable)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names}
    base = node.module or ""
    if node.level:
        if package is None:
            return None
        parts = package.split(".")
        if node.level - 1 >= len(parts):
            return None
        head = ".".join(parts[: len(parts) - node.level + 1])
        base = f"{head}.{base}" if base else head
    return {base, *(f"{base}.{a.name}" for a in node.names)}


def _sys_modules_key(node: ast.AST) -> ast.expr | None:
    """The string ``node`` reads from ``sys.modules`` as a key (``sys.modules[k]``,
    ``sys.modules.pop(k)``, ``.get(k)``): a test dropping a module, not importing it."""
    owner: ast.expr | None = None
    key: ast.expr | None = None
    if isinstance(node, ast.Subscript):
        owner, key = node.value, node.slice
    elif (
        isinstance(node, ast.Call)
        and node.args
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("pop", "get")
    ):
        owner, key = node.func.value, node.args[0]
    if (
        isinstance(owner, ast.Attribute)
        and owner.attr == "modules"
        and isinstance(owner.value, ast.Name)
        and owner.value.id == "sys"
    ):
        return key
    return None


@dataclass
class _Importer:
    """What one file of the project does with the modules looked for."""

    sites: dict[str, list[int]] = field(default_factory=dict)
    """Module -> lines of the import statements that may import it."""
    unresolved: set[str] = field(default_factory=set)
    """Modules it names in a way that is not a resolved import (a string, a relative import)."""
    unreachable: dict[int, str] = field(default_factory=dict)


def _read_importer(
    path: str, source: bytes, wanted: Mapping[str, str], packages: set[str], target: Target
) -> _Importer:
    """``wanted`` maps each module looked for to its last name."""
    found = _Importer()
    if not path.endswith(".py"):
        text = source.decode("utf-8", "replace")
        found.unresolved = {m for m, last in wanted.items() if re.search(rf"\b{last}\b", text)}
        return found
    try:
        tree = parse_python(source)
    except (SyntaxError, ValueError):
        found.unresolved = set(wanted)
        return found
    package = _package_of(path, packages)
    words = {m: re.compile(rf"\b{last}\b") for m, last in wanted.items()}
    keys: set[int] = set()
    strings: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = _imported(node, package)
            for module, word in words.items():
                if names is None and isinstance(node, ast.ImportFrom):
                    text = " ".join([node.module or "", *(a.name for a in node.names)])
                    if word.search(text):
                        found.unresolved.add(module)
                elif names is not None and module in names:
                    found.sites.setdefault(module, []).append(node.lineno)
        elif isinstance(node, ast.Subscript | ast.Call) and (key := _sys_modules_key(node)):
            keys.add(id(key))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in keys:
            strings.append(node.value)
    found.unresolved |= {m for m, word in words.items() if any(map(word.search, strings))}
    if found.sites:
        found.unreachable = unreachable(tree, target, {})
    return found


async def gated_modules(
    change: Change,
    files: Sequence[str],
    candidates: Iterable[str],
    ran: Mapping[str, bool],
    target: Target,
) -> dict[str, str]:
    """Path -> why, for each of ``candidates`` (changed modules no test imported) that every
    import in the project (``files``, at the head) places where the target never goes: under a
    decided guard, or in a module itself imported only so. A module imported anywhere else, or
    named in a string or a config file (a dynamic import, an entry point) stays ordinary.
    ``ran`` says which files ran any line under coverage."""
    packages = {p for p in files if p.endswith("/__init__.py")}
    names = {p: n for p in files if (n := module_name(p, packages)) is not None}
    paths = {n: p for p, n in names.items()}
    pending = {names[p] for p in candidates if p in names and not ran.get(p)}
    importers: dict[str, _Importer] = {}
    looked: set[str] = set()
    gated: dict[str, str] = {}
    ordinary: set[str] = set()
    for _ in range(_MAX_ROUNDS):
        new = sorted(pending - looked)[:_MAX_MODULES]
        if not new:
            break
        looked |= set(new)
        scanned = await _scan(change, {m: m.rsplit(".", 1)[1] for m in new}, packages, target)
        for path, found in scanned.items():
            known = importers.setdefault(path, found)
            if known is not found:
                known.sites.update(found.sites)
                known.unresolved |= found.unresolved
        # A module imported reachably by a module no test ran may still be gated: follow it.
        for module in new:
            for path, found in importers.items():
                for line in found.sites.get(module, ()):
                    host = names.get(path)
                    if line not in found.unreachable and host is not None and not ran.get(path):
                        pending.add(host)
        if len(pending) > _MAX_MODULES:
            return {}
    changed = True
    while changed:
        changed = False
        for module in sorted(looked - set(gated) - ordinary):
            verdict = _decide(module, importers, names, gated, looked, ordinary)
            if verdict is None:
                continue
            changed = True
            if verdict is False:
                ordinary.add(module)
            else:
                gated[module] = verdict
    return {paths[m]: why for m, why in gated.items() if paths[m] in set(candidates)}


async def _scan(
    change: Change, wanted: Mapping[str, str], packages: set[str], target: Target
) -> dict[str, _Importer]:
    """The project's files at the head that name any of ``wanted``'s last names as a word."""
    argv = ["grep", "-z", "-l", "-I", "-w"]
    for last in sorted(set(wanted.values())):
        argv += ["-e", last]
    globs = ["*.py", *(f"*{s}" for s in _CONFIG_SUFFIXES)]
    found = await run_git(change.repo, *argv, change.head_sha, "--", *globs, check=False)
    hits = [p.split(":", 1)[1] for p in found.stdout.decode("utf-8", "replace").split("\0") if p]
    sources = await change.read_many(hits, "head")
    return {
        path: _read_importer(path, data, wanted, packages, target)
        for path, data in sources.items()
        if data is not None
    }


def _decide(
    module: str,
    importers: Mapping[str, _Importer],
    names: Mapping[str, str],
    gated: Mapping[str, str],
    looked: set[str],
    ordinary: set[str],
) -> str | Literal[False] | None:
    """Why ``module`` is gated, False when it is ordinary, None while it waits on a module."""
    reasons: list[str] = []
    waiting = False
    for path, found in importers.items():
        if names.get(path) == module:
            continue
        if module in found.unresolved:
            return False
        for line in found.sites.get(module, ()):
            host = names.get(path)
            if line in found.unreachable:
                reasons.append(f"{path}:{line} {found.unreachable[line]}")
            elif host in gated:
                reasons.append(f"{path}:{line}, a module itself imported only so")
            elif host in looked and host not in ordinary:
                waiting = True
            else:
                return False
    if waiting:
        return None
    if not reasons:
        return False
    shown = "; ".join(reasons[:4]) + (f"; and {len(reasons) - 4} more" if len(reasons) > 4 else "")
    return (
        f"every import of it in the project lies where the tests' interpreter never goes ({shown})"
    )
