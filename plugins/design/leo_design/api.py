"""Public API compatibility: griffe loads each changed package at base and head and diffs them.

griffe reads the source statically (``allow_inspection=False``), so the code of the change is
never imported or run. Only packages the change touches are loaded: griffe's cost is per package,
not per changed file (TOOLS.md measured 26 s for Django whatever the diff).
"""

from __future__ import annotations

import ast
import builtins
import inspect
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from leo import Change, Finding, is_test_module, parse_expression, parse_python, syntax_lock
from leo_design.functions import PYTHON_SUFFIXES
from leo_design.release import mentions
from leo_design.settings import DesignSettings

#: griffe's breakage kinds -> (LEO rule suffix, severity when undeclared).
KINDS: dict[str, tuple[str, str]] = {
    "OBJECT_REMOVED": ("object-removed", "high"),
    "OBJECT_CHANGED_KIND": ("object-kind", "high"),
    "PARAMETER_REMOVED": ("parameter-removed", "high"),
    "PARAMETER_MOVED": ("parameter-moved", "high"),
    "PARAMETER_CHANGED_KIND": ("parameter-kind", "high"),
    "PARAMETER_CHANGED_DEFAULT": ("parameter-default", "high"),
    "PARAMETER_CHANGED_REQUIRED": ("parameter-required", "high"),
    "PARAMETER_ADDED_REQUIRED": ("parameter-added-required", "high"),
    "RETURN_CHANGED_TYPE": ("return-type", "medium"),
    "ATTRIBUTE_CHANGED_TYPE": ("attribute-type", "medium"),
    "CLASS_REMOVED_BASE": ("base-removed", "medium"),
    # A module constant's value (``__version__``, a default timeout) changes all the time.
    "ATTRIBUTE_CHANGED_VALUE": ("attribute-value", "info"),
}


@dataclass(frozen=True)
class Package:
    """A top-level Python package of the repository."""

    root: str
    """Directory it is imported from, relative to the repository ("" for the root, ``src``)."""
    name: str
    """Its import name."""

    @property
    def path(self) -> str:
        return str(PurePosixPath(self.root or ".") / self.name)


@dataclass(frozen=True)
class Break:
    """One incompatible change of the public API, as griffe saw it."""

    kind: str
    """griffe's ``BreakageKind`` name, e.g. ``OBJECT_REMOVED``."""
    object: str
    """Dotted path of the object, with ``(parameter)`` for parameter breaks."""
    message: str
    """What broke, in one sentence."""
    path: str | None
    """Repository-relative file (at the base for removed objects, else at the head)."""
    line: int | None
    """Line in that file."""


async def touched_packages(change: Change, settings: DesignSettings) -> list[Package]:
    """Packages (at the base: only they have an API to break) holding a changed Python file."""
    paths = _python_paths(change)
    if settings.api_packages:
        wanted = [_package_of(d) for d in settings.api_packages]
        return [pkg for pkg in wanted if any(_inside(p, pkg) for p in paths)]
    is_package = await _package_dirs(change, paths)
    found: dict[str, Package] = {}
    for path in sorted(paths):
        pkg = _top_package(path, is_package)
        if pkg is not None and not _excluded(pkg, settings):
            found[pkg.path] = pkg
    packages = list(found.values())
    # With a src/ layout, a package beside src/ is tooling the wheel does not ship (urllib3's
    # dummyserver, its tests' HTTP server): src/ exists so that only its packages publish.
    if any(pkg.root == "src" for pkg in packages):
        packages = [pkg for pkg in packages if pkg.root != ""]
    return packages


async def _package_dirs(change: Change, paths: set[str]) -> set[str]:
    """The directories above ``paths`` that hold an ``__init__.py`` at the base."""
    dirs = {str(d) for p in paths for d in PurePosixPath(p).parents if str(d) != "."}
    inits = await change.read_many([f"{d}/__init__.py" for d in dirs], side="base")
    return {d for d in dirs if inits.get(f"{d}/__init__.py") is not None}


def _python_paths(change: Change) -> set[str]:
    paths = {p for f in change.files for p in (f.path, f.old_path) if p is not None}
    return {p for p in paths if p.endswith(PYTHON_SUFFIXES)}


def _inside(path: str, package: Package) -> bool:
    return path.startswith(f"{package.path.removeprefix('./')}/")


def _top_package(path: str, is_package: set[str]) -> Package | None:
    """The top-most package above ``path``; None for a top-level module or a script folder."""
    top = None
    for parent in PurePosixPath(path).parents:
        if str(parent) not in is_package:
            break
        top = parent
    return _package_of(str(top)) if top is not None else None


#: Directories whose packages are examples, docs or tooling, never a published API.
NOT_PUBLISHED = frozenset(
    {"examples", "example", "docs", "doc", "tests", "test", "testing", "benchmarks", "scripts"}
)


def _excluded(package: Package, settings: DesignSettings) -> bool:
    return (
        package.name in settings.api_exclude
        or package.name.startswith(("test", "_"))
        or bool(NOT_PUBLISHED & set(PurePosixPath(package.root).parts))
    )


def moved(change: Change, package: Package) -> Package:
    """Where ``package`` lives at the head: the directory most of its renamed files moved to
    (a move to a ``src/`` layout, requests 2.31.0 -> 2.32.3, or back out of one), else where
    it was."""
    prefix = f"{package.path.removeprefix('./')}/"
    targets: dict[str, int] = {}
    for f in change.files:
        if f.old_path and f.old_path.startswith(prefix) and f.path != f.old_path:
            inner = f.old_path.removeprefix(prefix)
            # "/" first: a move out of src/ to the repository root has no directory above it
            if f"/{f.path}".endswith(f"/{package.name}/{inner}"):
                root = f"/{f.path}".removesuffix(f"/{package.name}/{inner}").lstrip("/")
                targets[root] = targets.get(root, 0) + 1
    if not targets:
        return package
    return Package(root=max(sorted(targets), key=targets.__getitem__), name=package.name)


def _package_of(directory: str) -> Package:
    path = PurePosixPath(directory)
    parent = str(path.parent)
    return Package(root="" if parent == "." else parent, name=path.name)


def find_breaks(
    base_tree: Path, head_tree: Path, package: Package, head_package: Package | None = None
) -> tuple[list[Break], list[str]]:
    """Every public API break of ``package`` from ``base_tree`` to ``head_tree`` (where it is
    ``head_package``), and the apparent breaks that are not (each with why); blocking: run it
    on a worker thread."""
    import griffe

    head_package = head_package or package
    for tree, pkg in ((base_tree, package), (head_tree, head_package)):
        _check_size(tree, pkg)
    with syntax_lock:  # griffe parses with ast.parse, and may load modules while it compares
        return _find_breaks(griffe, base_tree, head_tree, package, head_package)


def _find_breaks(
    griffe: Any, base_tree: Path, head_tree: Path, package: Package, head_package: Package
) -> tuple[list[Break], list[str]]:
    preload: list[str] = []
    old = _load(griffe, base_tree, package, preload)
    if old is None:
        return [], []
    new = _load(griffe, head_tree, head_package, preload)
    if new is None:
        removed = Break(
            kind="OBJECT_REMOVED",
            object=package.name,
            message=f"public package {package.name} was removed",
            path=f"{package.path}/__init__.py",
            line=None,
        )
        return [removed], []
    if preload:  # both sides must see the same packages, or wildcard imports differ
        old = _load(griffe, base_tree, package, preload)
    trees = (base_tree, head_tree)
    found = list(griffe.find_breaking_changes(old, new))
    removed = {b.obj.path for b in found if b.kind.name == "OBJECT_REMOVED"}
    breaks, not_breaks = [], []
    for b in found:
        why = _reexport_of(b, removed) or _not_a_break(b, old, new)
        if why:
            not_breaks.append(f"{b.obj.path}: {why}")
        else:
            breaks.append(_describe(b, trees))
    breaks += _made_async(old, new, trees)
    before = _deleted_at_import(base_tree, package)
    for dotted, (path, line) in _deleted_at_import(head_tree, head_package).items():
        if dotted in before or dotted in removed or not _defined_public(old, dotted):
            continue
        breaks.append(
            Break(
                kind="OBJECT_REMOVED",
                object=dotted,
                message=f"public {dotted} is still defined but deleted when its module is "
                f"imported (del {dotted.rsplit('.', 1)[1]})",
                path=path,
                line=line,
            )
        )
    return breaks, not_breaks


def _made_async(old: Any, new: Any, trees: tuple[Path, ...]) -> list[Break]:
    """Public functions and methods made coroutine functions, or back: griffe compares their
    parameters only (round-7 red team: ``def load_config`` made ``async def`` PASSed, and
    every caller now gets a coroutine instead of the config)."""
    found: list[Break] = []
    stack = [old]
    while stack:
        obj = stack.pop()
        for member in obj.members.values():
            if member.is_alias or not member.is_public or _in_test_module(member):
                continue
            if member.is_module or member.is_class:
                stack.append(member)
                continue
            now = _counterpart(new, member.path[len(old.path) + 1 :])
            if not member.is_function or now is None or now.is_alias or not now.is_function:
                continue
            was, became = _call_gives(member), _call_gives(now)
            if was is None or became is None or {was, became} not in _INCOMPATIBLE:
                continue
            found.append(
                Break(
                    kind="OBJECT_CHANGED_KIND",
                    object=member.path,
                    message=f"public function {member.path} returned {_GIVES[was]} and now "
                    f"returns {_GIVES[became]}: its callers break",
                    path=_relative(now, trees),
                    line=now.lineno,
                )
            )
    return found


#: What calling a function gives, by its kind (``_call_gives``).
_GIVES = {
    "coroutine": "a coroutine (async def)",
    "async generator": "an async generator (async def with yield)",
    "generator": "a generator",
    "value": "its value",
}
#: Kinds a caller cannot take one for the other. An async generator function made a plain
#: function is left out: it may return an async iterator (jinja2 3.1.5's ``auto_aiter``).
_INCOMPATIBLE = [
    {"coroutine", "value"},
    {"coroutine", "generator"},
    {"coroutine", "async generator"},
    {"async generator", "generator"},
]
#: Decorators that leave what calling the function gives as it is.
_PLAIN_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "abstractmethod", "abc.abstractmethod"}
)


def _call_gives(func: Any) -> str | None:
    """``coroutine``, ``async generator``, ``generator`` or ``value``; None when a decorator
    may change it (jinja2 3.1.5's ``@async_variant`` makes an ``async def`` serve sync callers)
    or its source cannot be read."""
    if any(str(d.value) not in _PLAIN_DECORATORS for d in func.decorators):
        return None
    try:
        tree = parse_python(Path(func.filepath).read_bytes())
    except (SyntaxError, ValueError, OSError, TypeError):
        return None
    node = next(
        (
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and n.lineno == func.lineno
            and n.name == func.name
        ),
        None,
    )
    if node is None:
        return None
    yields = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own_nodes(node))
    if isinstance(node, ast.AsyncFunctionDef):
        return "async generator" if yields else "coroutine"
    return "generator" if yields else "value"


def _own_nodes(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """The nodes of ``func``'s body, not those of functions, lambdas or classes inside it."""
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))


def _counterpart(new: Any, relative: str) -> Any:
    """The object at ``relative`` in ``new``, or None: gone (reported as removed already)."""
    try:
        return new.get_member(relative)
    except Exception:  # griffe raises KeyError, or cannot resolve an alias on the way
        return None


def _deleted_at_import(tree: Path, package: Package) -> dict[str, tuple[str, int]]:
    """``module.name`` -> (file, line) of each name a module of ``package`` deletes with a
    ``del`` at module level: griffe reads the definition and never the ``del``, so the name
    looks kept though no caller can import it (round-3 red team: ``del legacy_total``)."""
    top = tree / package.root if package.root else tree
    found: dict[str, tuple[str, int]] = {}
    for module in sorted((top / package.name).rglob("*.py")):
        rel = module.relative_to(top).with_suffix("").parts
        dotted = ".".join(rel[:-1] if rel[-1] == "__init__" else rel)
        try:
            body = parse_python(module.read_bytes()).body
        except (OSError, SyntaxError, ValueError):
            continue
        statements = [s for node in body for s in _module_level(node)]
        for stmt in statements:
            if isinstance(stmt, ast.Delete):
                for target in stmt.targets:
                    if isinstance(target, ast.Name) and not target.id.startswith("_"):
                        where = module.relative_to(tree).as_posix()
                        found.setdefault(f"{dotted}.{target.id}", (where, stmt.lineno))
    return found


def _module_level(node: ast.stmt) -> list[ast.stmt]:
    """``node`` and the statements an ``if`` or ``try`` at module level runs with it."""
    out = [node]
    if isinstance(node, ast.If | ast.Try):
        handlers = node.handlers if isinstance(node, ast.Try) else []
        nested = [*node.body, *node.orelse, *(s for h in handlers for s in h.body)]
        out += [s for n in nested for s in _module_level(n)]
    return out


def _defined_public(old: Any, dotted: str) -> bool:
    """True when ``dotted`` is a public object the base's module defines (not an import)."""
    try:
        obj = old.modules_collection[dotted]
    except Exception:  # griffe raises several kinds for paths it cannot resolve
        return False
    return not obj.is_alias and bool(obj.is_public)


def _reexport_of(breakage: Any, removed: set[str]) -> str | None:
    """A removed name that only re-exported another removed one (pyparsing's wildcard imports
    re-export ``exceptions.ExceptionWordUnicode`` in three modules): one removal, named once."""
    obj = breakage.obj
    if breakage.kind.name != "OBJECT_REMOVED" or not obj.is_alias:
        return None
    target = str(obj.target_path)
    return f"the same removal as {target}" if target in removed else None


#: griffe's cost grows with the square of the statements in one body (it finds each attribute's
#: docstring by walking its siblings): 4,000 top-level names took 19 s, 20,000 over two minutes.
MAX_STATEMENTS = 2000


class NotComparable(Exception):
    """The package cannot be compared within a sane time; the message says why."""


def _check_size(tree: Path, package: Package) -> None:
    """Raise ``NotComparable`` when a module of ``package`` has too many top-level statements
    (a generated table of names): one such file must not dominate the run (issue 18)."""
    root = (tree / package.root if package.root else tree) / package.name
    if not root.is_dir():
        return
    for module in sorted(root.rglob("*.py*")):
        if module.suffix not in PYTHON_SUFFIXES or not module.is_file():
            continue
        with module.open("rb") as handle:
            count = sum(1 for line in handle if line[:1].isalpha() or line[:1] == b"_")
        if count > MAX_STATEMENTS:
            where = module.relative_to(tree).as_posix()
            msg = (
                f"{where} has {count} top-level statements (more than {MAX_STATEMENTS}; "
                "griffe's cost grows with their square)"
            )
            raise NotComparable(msg)


def _in_test_module(obj: Any) -> bool:
    """Defined in a module pytest collects (``leo.is_test_module``), whatever its directory is
    called (celery 5.7.0 "removed" ``t.integration.test_dedup_chain_dispatch``). A function of
    the package named ``test_*`` is not exempt: only the module's file name counts."""
    try:
        path = obj.filepath
    except Exception:  # an alias griffe cannot resolve, a namespace package: no file to judge
        return False
    return isinstance(path, Path) and is_test_module(path.name)


def _not_a_break(breakage: Any, old: Any, new: Any) -> str | None:
    """Why an apparent break is none: a private name, a lazy ``__getattr__`` attribute at the
    head, the removal of something the base already deprecated, a name that was never the
    module's API, or a change no caller can see (issue 18)."""
    obj = breakage.obj
    parts = obj.path.split(".")
    kind = breakage.kind.name
    if any(p.startswith("_") and not p.endswith("__") for p in parts):
        return "private name"
    if kind == "OBJECT_REMOVED" and obj.name in _PYTHON2_ONLY:
        return "a special method only Python 2 looked up; Python 3 never calls it"
    if NOT_PUBLISHED & set(parts) or _in_test_module(obj):
        return "test or example code, not a published API"
    undeclared = _left_out_of_all(old, parts)
    if undeclared:
        return undeclared
    if _protocol_only(breakage):
        return "the interpreter calls this special method by position"
    if kind == "PARAMETER_CHANGED_KIND" and _bound_first(breakage):
        return "a method's first parameter is bound by the instance, never passed by name"
    if kind == "CLASS_REMOVED_BASE" and not _removed_bases(breakage):
        return "an explicit `object` base is implied: the class derives from it anyway"
    if kind == "OBJECT_CHANGED_KIND":
        return _same_use(breakage, old)
    if kind == "PARAMETER_CHANGED_DEFAULT":
        return _same_default(breakage, old)
    if kind != "OBJECT_REMOVED":
        return None
    if "*" in obj.name:
        return "wildcard import griffe could not expand"
    not_api = _never_api(obj) or _unimportable(obj)
    if not_api:
        return not_api
    parent = obj.parent
    if parent is not None and _lazy(new, parent.path, obj.name):
        return "still served by the module's __getattr__"
    if _deprecated(obj):
        return "its deprecation was already announced at the base"
    if parent is not None and _global_at_import(new, parent.path, obj.name):
        return "still a module global, assigned by a function the module calls on import"
    return None


def _left_out_of_all(old: Any, parts: list[str]) -> str | None:
    """Why a name was never in the package's declared API: the package's ``__init__`` takes
    every name of a submodule that has no ``__all__`` (``from .util import *``) and publishes,
    in its own ``__all__``, the ones it lists (pyparsing 3.1's ``util.replaced_by_pep8`` and
    ``exceptions.ExceptionWordUnicode``). A submodule with an ``__all__`` of its own, or one the
    package does not star-import, keeps every public-looking name public."""
    published = getattr(old, "exports", None)
    if not published or len(parts) < 3 or parts[0] != old.path:
        return None
    module_path, name = ".".join(parts[:2]), parts[2]
    try:
        module = old.modules_collection[module_path]
        filepath = old.filepath
        if not module.is_module or module.exports is not None or not isinstance(filepath, Path):
            return None
        tree = parse_python(filepath.read_bytes())
    except Exception:  # griffe path errors, unreadable or unparsable file: no evidence
        return None
    starred = any(
        isinstance(node, ast.ImportFrom)
        and [a.name for a in node.names] == ["*"]
        and (node.module == module_path or (node.level == 1 and node.module == parts[1]))
        for node in tree.body
    )
    if not starred or name in {str(e) for e in published}:
        return None
    return (
        f"left out of {old.path}.__all__: the package imports every name of {module_path} and "
        "publishes only those it lists"
    )


def _bound_first(breakage: Any) -> bool:
    """True when the parameter is the first of a method that is not a static method: Python
    binds it (``self``, ``cls``) positionally, so making it positional-only changes nothing
    (blinker 1.8: ``send(self, sender=None, /, ...)``)."""
    function = breakage.obj
    param = breakage.old_value
    parent = function.parent
    if parent is None or not parent.is_class or "staticmethod" in function.labels:
        return False
    params = list(function.parameters)
    return bool(params) and getattr(param, "name", None) == params[0].name


def _removed_bases(breakage: Any) -> list[str]:
    """The bases the class lost, as written in the source; ``object`` is no loss."""
    new = {str(b) for b in breakage.new_value}
    return [
        str(b) for b in breakage.old_value if str(b) not in new and str(b) not in _IMPLIED_BASES
    ]


_IMPLIED_BASES = frozenset({"object", "builtins.object"})

#: typing's constructors of type variables: a type checker's helper, never an object a caller
#: imports to use at run time.
_TYPE_VARIABLES = frozenset({"TypeVar", "ParamSpec", "TypeVarTuple"})


def _never_api(obj: Any) -> str | None:
    """Why a removed module attribute of the base was never the module's API: a type variable,
    a name that exists only for type checkers, or a local name for another package's object
    (blinker 1.7's ``T_callable``, ``AsyncWrapperType`` under ``TYPE_CHECKING``, and
    ``cast = t.cast``)."""
    if obj.is_alias or not obj.is_attribute:
        return None
    value = _expression(obj.value)
    if isinstance(value, ast.Call) and _last_name(value.func) in _TYPE_VARIABLES:
        return "a type variable, a helper for type checkers, not API"
    if _type_checking_only(obj):
        return "defined only under `if TYPE_CHECKING:`, so it never existed at run time"
    foreign = _imported_from_elsewhere(obj, value)
    if foreign:
        return f"a local name for {foreign}, imported from another package"
    return None


def _unimportable(obj: Any) -> str | None:
    """Why a removed object was never anyone's: its module, at the base, could not be imported,
    since a statement every import runs reads a name nothing binds (toml 0.10.1's ``common.py``
    ran ``dict(zip(_escapes, _escapedchars))`` and raised NameError)."""
    module = obj if obj.is_module else getattr(obj, "module", None)
    try:
        filepath = module.filepath
        tree = parse_python(Path(filepath).read_bytes())
    except Exception:  # no module, a namespace package (a list of paths), unreadable
        return None
    name = _unbound_at_import(tree)
    if name is None or _package_names_builtins(module):
        return None
    return (
        f"its module {module.path} could never be imported at the base: its top level reads "
        f"`{name}`, which nothing defines"
    )


def _package_names_builtins(module: Any) -> bool:
    """Whether any module of ``module``'s package names ``builtins`` (or cannot be read): it
    may put there the name ``module`` reads (round-7 red team: ``shop/__init__`` ran
    ``builtins.BASE_RATE = 2`` before importing ``shop.legacy``, which read ``BASE_RATE``, and
    removing ``shop.legacy`` was "never importable" and PASSed)."""
    try:
        root = Path(module.package.filepath).parent
        return any(b"builtins" in path.read_bytes() for path in root.rglob("*.py"))
    except Exception:  # a namespace package (a list of paths), unreadable: it may
        return True


#: Module-level statements that run only under a condition or may swallow the NameError.
_GUARDED = (ast.If, ast.Try, ast.TryStar, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor,
            ast.While, ast.Match)  # fmt: skip


def _unbound_at_import(tree: ast.Module) -> str | None:
    """A name a top-level statement that always runs reads and that nothing in the module binds
    (no import, assignment, definition or parameter anywhere, no star import, not a builtin);
    dunder names and ``_`` (gettext installs it into builtins) are left alone."""
    bound = set(dir(builtins)) | {"_"}
    for node in ast.walk(tree):
        if _binds_unseen(node):
            return None
        if isinstance(node, ast.Import | ast.ImportFrom):
            if any(a.name == "*" for a in node.names):
                return None
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update(node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    for stmt in tree.body:
        if isinstance(stmt, _GUARDED):
            continue
        unbound = [
            node
            for node in _run_at_import(stmt)
            if isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id not in bound
            and not (node.id.startswith("__") and node.id.endswith("__"))
        ]
        if unbound:
            return min(unbound, key=lambda n: (n.lineno, n.col_offset)).id
    return None


#: What binds names the module's text does not show: its namespace as a mapping (``globals()``,
#: ``vars()``, ``locals()``, ``exec``, ``setattr`` on ``sys.modules[__name__]``, a ``__dict__``)
#: or builtins (``builtins.X = …``, gettext's ``install(names=[…])``).
_UNSEEN_CALLS = frozenset({"globals", "vars", "locals", "exec", "setattr"})
_UNSEEN_NAMES = frozenset({"builtins", "__builtins__"})
_UNSEEN_ATTRIBUTES = frozenset({"modules", "__dict__", "install"})


def _binds_unseen(node: ast.AST) -> bool:
    """A node through which the module may bind a name no statement shows (round-6 red team:
    ``globals().update({"GRAM": 1})`` then ``DEFAULT = GRAM`` imports fine, yet read as never
    importable it let a change remove the module's public ``to_grams`` unreported)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in _UNSEEN_CALLS
    if isinstance(node, ast.Name):
        return node.id in _UNSEEN_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in _UNSEEN_ATTRIBUTES
    if isinstance(node, ast.Import | ast.ImportFrom):
        return any(a.name.split(".")[0] in _UNSEEN_NAMES for a in node.names) or (
            isinstance(node, ast.ImportFrom) and node.module in _UNSEEN_NAMES
        )
    return False


def _run_at_import(stmt: ast.stmt) -> list[ast.AST]:
    """The nodes of a top-level statement that importing the module evaluates: not the bodies of
    functions, lambdas and classes (a class body runs, but reads its own names first)."""
    out: list[ast.AST] = []
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            todo += [*node.decorator_list, *node.args.defaults]
            todo += [d for d in node.args.kw_defaults if d is not None]
        elif isinstance(node, ast.ClassDef):
            todo += [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.Lambda):
            todo += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
        elif isinstance(node, ast.AnnAssign):  # its annotation may never be evaluated
            todo += [node.target] + ([node.value] if node.value is not None else [])
        else:
            todo += list(ast.iter_child_nodes(node))
    return out


def _expression(value: Any) -> ast.expr | None:
    """griffe's expression (or source string) of a value as a Python AST, or None."""
    if value is None:
        return None
    try:
        return parse_expression(str(value).strip()).body
    except (SyntaxError, ValueError):
        return None


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _type_checking_only(obj: Any) -> bool:
    """True when ``obj`` is defined in the body of an ``if TYPE_CHECKING:`` (or
    ``typing.TYPE_CHECKING``) block of its module at the base."""
    try:
        filepath, line = obj.filepath, obj.lineno
        if not isinstance(filepath, Path) or line is None:
            return False
        tree = parse_python(filepath.read_bytes())
    except Exception:  # unreadable or unparsable: no evidence
        return False
    return any(
        isinstance(node, ast.If)
        and _last_name(node.test) == "TYPE_CHECKING"
        and node.body[0].lineno <= line <= (node.body[-1].end_lineno or 0)
        for node in ast.walk(tree)
    )


def _imported_from_elsewhere(obj: Any, value: ast.expr | None) -> str | None:
    """``typing.cast`` when ``obj`` is assigned a dotted name rooted at a module the file
    imports from outside its own package (``cast = t.cast`` after ``import typing as t``)."""
    root: ast.expr | None = value
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(value, ast.Attribute) or not isinstance(root, ast.Name):
        return None
    module = obj.parent
    imported = module.members.get(root.id) if module is not None else None
    if imported is None or not imported.is_alias:
        return None
    target = str(imported.target_path)
    package = obj.path.split(".", 1)[0]
    if target.split(".", 1)[0] == package:
        return None
    return f"{target}{ast.unparse(value).removeprefix(root.id)}"


#: Decorators that make a method read as an attribute (griffe knows only the standard ones).
_PROPERTY_LIKE = re.compile(r"(?:property|reify)$")


def _same_use(breakage: Any, old: Any) -> str | None:
    """Why a function or class griffe now sees as an attribute is used as before: a property
    still (blinker 1.8 swapped ``@lazy_property`` for ``@cached_property``), or a compatibility
    alias that wraps the new callable (pyparsing 3.1.2's ``parseString =
    replaced_by_pep8("parseString", parse_string)``; markdown 3.7's deprecated
    ``AbbrPreprocessor = deprecated(...)(AbbrBlockprocessor)``)."""
    new_obj = breakage.obj
    was, now = _word(breakage.old_value), _word(breakage.new_value)
    if now != "attribute" or was not in ("function", "class"):
        return None
    try:
        old_obj = old.modules_collection[new_obj.path]
    except Exception:  # griffe cannot find it at the base: no evidence
        return None
    decorators = [_expression(d.value) for d in getattr(old_obj, "decorators", ())]
    decorator_names = {
        _last_name(d.func if isinstance(d, ast.Call) else d) for d in decorators if d
    }
    if "property" in new_obj.labels and any(
        n and _PROPERTY_LIKE.search(n) for n in decorator_names
    ):
        return "a property before and after: only its decorator changed"
    value = _expression(getattr(new_obj, "value", None))
    if not isinstance(value, ast.Call):
        return None
    calls = [n for n in ast.walk(value) if isinstance(n, ast.Call)]
    wrapped = [a.id for c in calls for a in c.args if isinstance(a, ast.Name)]
    made_by = {_last_name(c.func) for c in calls}
    if was == "function" and (made_by & decorator_names or _callable(new_obj.parent, wrapped)):
        return f"still callable: a compatibility alias made by {ast.unparse(value.func)}(...)"
    if (
        was == "class"
        and _callable(new_obj.parent, wrapped)
        and _DEPRECATED.search(ast.unparse(value))
    ):
        return "a deprecated alias of the renamed class, kept for compatibility"
    return None


def _same_default(breakage: Any, old: Any) -> str | None:
    """Why a default that changed to or from ``None`` gives callers the same value: the side
    whose default is ``None`` begins by putting exactly the other side's default in its place
    (tomlkit 0.12.5: ``array(raw=None)`` with ``if raw is None: raw = "[]"`` became
    ``array(raw="[]")``; python-multipart's ``{}`` default became ``None`` and ``{}`` inside)."""
    name = breakage.old_value.name
    was, now = str(breakage.old_value.default), str(breakage.new_value.default)
    if was == "None":
        side, value, where = old.modules_collection, now, "the base"
    elif now == "None":
        side, value, where = None, was, "the head"
    else:
        return None
    default = _expression(value)
    if side is not None and default is not None and not _made_once(default):
        # the head evaluates it once, when the function is defined: a list every call shares,
        # a time taken at import (round-6 red team: ``cart=None`` made ``[]`` in the base's
        # body became ``cart=[]``, and carts leaked between calls)
        return None
    try:
        function = breakage.obj if side is None else side[breakage.obj.path]
        tree = parse_python(textwrap.dedent(_source(function)))
    except Exception:  # griffe cannot find it at the base, or its lines do not parse alone
        return None
    if default is None or not _replaces_none(tree, name, default):
        return None
    return f"{where} replaced a None {name!r} with {ast.unparse(default)} first thing"


def _made_once(default: ast.expr) -> bool:
    """A default that is the same value whether made once or at each call: a constant, a name,
    an attribute, or a tuple of those (not a list, dict, set, comprehension or call)."""
    if isinstance(default, ast.Tuple):
        return all(_made_once(e) for e in default.elts)
    if isinstance(default, ast.UnaryOp):
        return _made_once(default.operand)
    return isinstance(default, ast.Constant | ast.Name | ast.Attribute)


def _replaces_none(tree: ast.Module, name: str, default: ast.expr) -> bool:
    """Whether the function ``tree`` holds first reads ``name`` in ``if name is None: name =
    default`` (no ``else``, nothing more in the branch)."""
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], _FUNCTIONS) else []
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    first = next((s for s in body if _reads(s, name)), None)
    if not isinstance(first, ast.If) or first.orelse:
        return False
    test, assigned = first.test, first.body
    return (
        isinstance(test, ast.Compare)
        and _is_name(test.left, name)
        and [type(o) for o in test.ops] == [ast.Is]
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
        and len(assigned) == 1
        and isinstance(assigned[0], ast.Assign)
        and [_is_name(t, name) for t in assigned[0].targets] == [True]
        and ast.dump(assigned[0].value) == ast.dump(default)
    )


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _reads(node: ast.AST, name: str) -> bool:
    return any(_is_name(n, name) for n in ast.walk(node) if isinstance(n, ast.expr))


def _callable(scope: Any, names: list[str]) -> bool:
    """True when one of ``names`` is a function or class of ``scope`` (or of its module)."""
    while scope is not None:
        for name in names:
            member = scope.members.get(name)
            if (
                member is not None
                and not member.is_alias
                and (member.is_function or member.is_class)
            ):
                return True
        scope = scope.parent
    return False


#: Special methods only Python 2 called (pyasn1 0.6.1 removed ``__nonzero__``, ``__unicode__``,
#: ``__div__`` and ``__long__`` beside their Python 3 names): no Python 3 caller loses anything.
_PYTHON2_ONLY = frozenset({"__nonzero__", "__unicode__", "__div__", "__rdiv__", "__idiv__",
                           "__long__", "__cmp__", "__coerce__", "__getslice__", "__setslice__",
                           "__delslice__", "__oct__", "__hex__"})  # fmt: skip
#: Special methods that callers also call by name with arguments: their signature is API.
_CALLED_BY_NAME = frozenset({"__init__", "__new__", "__call__", "__init_subclass__"})


def _protocol_only(breakage: Any) -> bool:
    """A parameter renamed or an attribute made a method on a special method the interpreter
    calls positionally (jinja2 3.1.5: ``__getattr__(self, _)`` became ``(self, name)`` and
    ``__getitem__ = __getattr__`` a ``def``): no caller can tell. Removing one still counts."""
    name = breakage.obj.name
    special = name.startswith("__") and name.endswith("__") and name not in _CALLED_BY_NAME
    kind = breakage.kind.name
    return special and (kind.startswith("PARAMETER_") or kind == "OBJECT_CHANGED_KIND")


def _global_at_import(new: Any, module_path: str, name: str) -> bool:
    """True when the head's ``module_path`` calls, at module level, a function that declares
    ``global name`` and assigns it (colorama 0.4.6 moved its module state into
    ``_wipe_internal_state_for_tests()``, called on import): ``module.name`` still exists."""
    try:
        module = new.modules_collection[module_path]
        filepath = module.filepath
        if not isinstance(filepath, Path):
            return False
        tree = parse_python(filepath.read_bytes())
    except Exception:  # griffe path errors, unreadable or unparsable file: no evidence
        return False
    called = {
        node.value.func.id
        for node in tree.body
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
    }
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef) or fn.name not in called:
            continue
        declared = {n for g in fn.body if isinstance(g, ast.Global) for n in g.names}
        assigned = {
            t.id
            for a in fn.body
            if isinstance(a, ast.Assign | ast.AnnAssign)
            for t in (a.targets if isinstance(a, ast.Assign) else [a.target])
            if isinstance(t, ast.Name)
        }
        if name in declared & assigned:
            return True
    return False


def _lazy(new: Any, module_path: str, name: str) -> bool:
    """True when the head's ``module_path`` has a ``__getattr__`` that serves ``name`` (named
    in it, or in ``__all__`` that it consults, as python-dateutil 2.9.0 does)."""
    try:
        module = new.modules_collection[module_path]
        getattr_ = module.members.get("__getattr__")
    except Exception:  # griffe raises several kinds for paths it cannot resolve
        return False
    if getattr_ is None or getattr_.is_alias:
        return False
    text = _source(getattr_)
    if re.search(rf"""["']{re.escape(name)}["']""", text):
        return not _refused(text, name)
    exports = getattr(module, "exports", None) or ()
    return "__all__" in text and name in {str(e) for e in exports}


def _refused(source: str, name: str) -> bool:
    """True when every branch of the ``__getattr__`` in ``source`` that names ``name`` (an
    ``if`` test, a ``case``) only raises: the name is refused, not served (round-3 red team:
    ``if name == "legacy_total": raise AttributeError(...)`` had read as a lazy attribute)."""
    try:
        tree = parse_python(textwrap.dedent(source))
    except (SyntaxError, ValueError):
        return False
    bodies = [
        node.body
        for node in ast.walk(tree)
        if (isinstance(node, ast.If) and _names(node.test, name))
        or (isinstance(node, ast.match_case) and _names(node.pattern, name))
    ]
    return bool(bodies) and all(
        isinstance(body[-1], ast.Raise)
        and not any(isinstance(n, ast.Return) for s in body for n in ast.walk(s))
        for body in bodies
    )


def _names(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Constant) and n.value == name for n in ast.walk(node))


def _deprecated(obj: Any) -> bool:
    """True when the base's source of ``obj`` (its decorators, docstring and body) says it is
    deprecated: removing it completes an announced deprecation."""
    if obj.is_alias:  # a re-export: what it re-exported may be the deprecated thing
        try:
            obj = obj.final_target
        except Exception:  # griffe cannot resolve it: nothing to read
            return False
    if _DEPRECATED.search(_source(obj, above=3)) is None:
        return False
    try:
        filepath, start = obj.filepath, obj.lineno
        text = Path(filepath).read_text(encoding="utf-8", errors="replace")
        tree = parse_python(text)
    except Exception:  # no file, a namespace package, unparsable: the text alone decides
        return True
    lines = text.splitlines()
    if obj.is_module:
        node: ast.AST | None = tree
    else:
        node = next(
            (
                n
                for n in ast.walk(tree)
                if isinstance(n, _DEFINITIONS)
                and start in (n.lineno, *(d.lineno for d in n.decorator_list))
            ),
            None,
        )
        if node is None:  # an attribute or a decorated definition griffe dates otherwise
            return True
    return _DEPRECATED.search(_about_itself(node, lines)) is not None


_DEPRECATED = re.compile(r"deprecat", re.IGNORECASE)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
#: Statements under which a body's code runs only sometimes: a warning there deprecates a
#: parameter or a value, not the function.
_CONDITIONAL = (ast.If, ast.Try, ast.TryStar, ast.For, ast.AsyncFor, ast.While, ast.With,
                ast.AsyncWith, ast.Match)  # fmt: skip


def _about_itself(node: ast.AST, lines: list[str]) -> str:
    """What a definition (or module) says of itself: the comment lines right above it, its
    decorators, its docstring and the statements of its body that always run (a class's own
    and its ``__init__``'s / ``__new__``'s; a module's docstring and top-level calls).
    Round-6 red team: ``refund(..., legacy=False)`` warned "legacy is deprecated" under an
    ``if``, and removing the whole function was "a completed deprecation"."""
    parts: list[str] = []
    name = getattr(node, "name", "")
    params = _parameters(node)
    if isinstance(node, _DEFINITIONS):
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        above = first - 1
        while above >= 1 and lines[above - 1].lstrip().startswith("#"):
            if _deprecates_itself(lines[above - 1].lstrip("# \t"), name, params):
                parts.append(lines[above - 1])
            above -= 1
        parts += [ast.unparse(d) for d in node.decorator_list]
    body: list[ast.stmt] = list(getattr(node, "body", []))
    if isinstance(node, ast.ClassDef):
        body += [
            stmt
            for m in node.body
            if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)
            and m.name in ("__init__", "__new__", "__init_subclass__")
            for stmt in m.body
        ]
    for stmt in body:
        if isinstance(stmt, _CONDITIONAL + _DEFINITIONS):
            continue
        if isinstance(node, ast.Module) and not isinstance(stmt, ast.Expr):
            continue  # a module speaks of itself in its docstring or a warning it always gives
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            if _deprecates_itself(str(stmt.value.value), name, params):  # a docstring
                parts.append(str(stmt.value.value))
        else:
            parts.append(ast.unparse(stmt))
    return "\n".join(parts)


#: A sentence that deprecates what it documents: it starts with the word ("Deprecated: use
#: new_api", "DEPRECATED since 2.0") or makes the definition its subject ("This function is
#: deprecated").
_ITSELF = re.compile(
    r"^[^\w.]*deprecat|\b(?:this|the)\s+(?:function|method|class|module|attribute|property|"
    r"constant|alias|helper|decorator|callable|object|api)\b.*deprecat",
    re.IGNORECASE,
)
#: Sphinx's directive, at the docstring's own indentation (under a parameter it is the
#: parameter's).
_DIRECTIVE = re.compile(r"^\.\.\s+deprecated::", re.MULTILINE)


def _deprecates_itself(text: str, name: str, params: set[str]) -> bool:
    """Does a docstring or comment deprecate the definition it documents, not one of its
    parameters or another name (round-7 red team: "The ``encoding`` argument is deprecated" in
    ``load_config``'s docstring, or "# Replaces the deprecated read_config()" above it, made
    removing ``load_config`` a completed deprecation and PASSed)?"""
    if _DIRECTIVE.search(inspect.cleandoc(text)):
        return True
    own = re.compile(rf"(?<![\w.]){re.escape(name)}\b.*deprecat", re.IGNORECASE) if name else None
    prose = re.sub(r"^\s*\.\.\s+[\w-]+::.*$", "", text, flags=re.MULTILINE)  # nested directives
    for sentence in re.split(r"\n\s*\n|(?<=[.;!?])\s+", prose):
        words = set(re.findall(r"\w+", sentence))
        if words & params:
            continue
        if _ITSELF.search(sentence) or (own is not None and own.search(sentence)):
            return True
    return False


def _parameters(node: ast.AST) -> set[str]:
    """The parameters of a function, or of a class's ``__init__``/``__new__``, but ``self``."""
    functions = [node] if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else []
    if isinstance(node, ast.ClassDef):
        functions = [
            m
            for m in node.body
            if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)
            and m.name in ("__init__", "__new__")
        ]
    args = [a for f in functions for a in (*f.args.posonlyargs, *f.args.args, *f.args.kwonlyargs)]
    return {a.arg for a in args} - {"self", "cls"}


def _source(obj: Any, above: int = 0) -> str:
    """The lines of ``obj`` in its file (griffe keeps no source: ``store_source=False``)."""
    try:
        filepath, start, end = obj.filepath, obj.lineno, obj.endlineno
        if isinstance(filepath, list) or start is None:
            return ""
        if obj.is_module:
            start, end = 1, 60  # a module deprecates itself at its top
        lines = Path(filepath).read_text(encoding="utf-8", errors="replace").splitlines()
    except Exception:  # no file (builtins, unresolvable alias) or unreadable
        return ""
    return "\n".join(lines[max(0, start - 1 - above) : end or start])


def _load(griffe: Any, tree: Path, package: Package, preload: list[str]) -> Any:
    """``package`` as griffe sees it, or None when it is not there; ``preload`` collects the
    other top-level packages that had to be loaded first."""
    search = tree / package.root if package.root else tree
    if not (search / package.name).is_dir():
        return None
    # A package's stubs may re-export another top-level package of the repository (attrs'
    # ``attrs/__init__.pyi`` imports from ``attr``): griffe raises AliasResolutionError while
    # merging the stubs unless that package is loaded first into the same collection (issue 18).
    while True:
        modules = griffe.ModulesCollection()
        try:
            for name in [*preload, package.name]:
                if _importable(search, name):
                    griffe.load(
                        name,
                        search_paths=[search],
                        modules_collection=modules,
                        try_relative_path=False,
                        allow_inspection=False,
                        store_source=False,
                        resolve_aliases=False,
                    )
            return modules[package.name]
        except (ModuleNotFoundError, griffe.LoadingError):
            return None
        except griffe.AliasResolutionError as exc:
            needed = str(exc.alias.target_path).split(".", 1)[0]
            if needed in preload or needed == package.name or not _importable(search, needed):
                raise
            preload.insert(0, needed)


def _importable(search: Path, name: str) -> bool:
    return (search / name).is_dir() or (search / f"{name}.py").is_file()


def _describe(breakage: Any, trees: tuple[Path, ...]) -> Break:
    kind = breakage.kind.name
    obj = breakage.obj
    target = obj.parent if obj.is_alias and obj.parent is not None else obj
    line = obj.alias_lineno if obj.is_alias else obj.lineno
    name = obj.path
    old, new = breakage.old_value, breakage.new_value
    param = getattr(old, "name", None) or getattr(new, "name", None)
    if kind.startswith("PARAMETER_") and param:
        name = f"{obj.path}({param})"
    lost = ", ".join(_removed_bases(breakage)) if kind == "CLASS_REMOVED_BASE" else ""
    what = {
        "OBJECT_REMOVED": f"public {_kind(obj)} {obj.path} was removed or renamed",
        "OBJECT_CHANGED_KIND": f"{obj.path} changed from {_a(old)} to {_a(new)}",
        "PARAMETER_REMOVED": f"parameter {param!r} of {obj.path} was removed or renamed",
        "PARAMETER_MOVED": f"positional parameter {param!r} of {obj.path} moved",
        "PARAMETER_CHANGED_KIND": (
            f"parameter {param!r} of {obj.path} changed from {_pkind(old)} to {_pkind(new)}"
        ),
        "PARAMETER_CHANGED_DEFAULT": (
            f"default of parameter {param!r} of {obj.path} changed "
            f"from {getattr(old, 'default', old)} to {getattr(new, 'default', new)}"
        ),
        "PARAMETER_CHANGED_REQUIRED": f"parameter {param!r} of {obj.path} is now required",
        "PARAMETER_ADDED_REQUIRED": f"{obj.path} gained a required parameter {param!r}",
        "RETURN_CHANGED_TYPE": f"return type of {obj.path} changed from {old} to {new}",
        "ATTRIBUTE_CHANGED_TYPE": f"type of {obj.path} changed from {old} to {new}",
        "ATTRIBUTE_CHANGED_VALUE": f"value of {obj.path} changed from {old} to {new}",
        "CLASS_REMOVED_BASE": f"{obj.path} no longer derives from {lost}",
    }.get(kind, f"{obj.path}: {breakage.kind.value}")
    return Break(kind=kind, object=name, message=what, path=_relative(target, trees), line=line)


def _a(kind: Any) -> str:
    """``a function``, ``an attribute``."""
    word = _word(kind)
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _word(kind: Any) -> str:
    """A griffe ``Kind`` as its word (``function``)."""
    return str(getattr(kind, "value", kind))


def _kind(obj: Any) -> str:
    try:
        return str(obj.kind.value)
    except Exception:  # an alias whose target griffe cannot resolve
        return "object"


def _pkind(param: Any) -> str:
    kind = getattr(param, "kind", None)
    return str(kind.value) if kind is not None else "?"


def _relative(obj: Any, trees: tuple[Path, ...]) -> str | None:
    try:
        filepath = obj.filepath
    except Exception:  # builtins or unresolvable aliases have no file
        return None
    if isinstance(filepath, list):  # a namespace package
        filepath = filepath[0] if filepath else None
    if filepath is None:
        return None
    for tree in trees:
        try:
            return Path(filepath).resolve().relative_to(tree.resolve()).as_posix()
        except ValueError:
            continue
    return None


def api_findings(
    breaks: list[Break], declared: str | None, changelog: str
) -> tuple[list[Finding], list[str]]:
    """Findings for ``breaks``, and the decisions they ask of a LEAD.

    A declared break (version bump or changelog entry) is ``info``. An undeclared one is a
    release decision, not a defect (issue 18): ``medium``, and listed for a LEAD to decide
    (the verdict ESCALATEs) instead of failing the change.
    """
    findings, decisions = [], []
    for b in breaks:
        rule, severity = KINDS.get(b.kind, (b.kind.lower().replace("_", "-"), "high"))
        why = declared or ("a changelog entry" if mentions(changelog, b.object) else None)
        message = b.message
        if why and severity != "info":
            severity = "info"
            message += f" (declared by {why})"
        elif severity == "high":
            severity = "medium"
            decisions.append(f"accept the API break: {b.message}")
        findings.append(
            Finding(
                rule_id=f"design.api.{rule}",
                severity=severity,  # type: ignore[arg-type]
                message=message,
                path=b.path,
                line=b.line or None,
                fix=None
                if severity == "info"
                else "keep the old name or signature (deprecate it), or bump the major version",
            )
        )
    return findings, decisions
