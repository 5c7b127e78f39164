"""Tests judged from the base: the base's tests, with the base's test configuration, run against
the head's code, and compared with what the change's own test run reported.

A change can make its own suite green without fixing anything: delete or skip the failing test,
mark it ``xfail``, deselect it in ``addopts``, or rewrite its assertion. The base pass restores
every test file and every file pytest or coverage read as configuration to its base version
(files the change added there are removed) in the head's worktree, so only the head's code is
new. A test that ran in the base pass and fails there, but that the change's own run no longer
runs or reports passing, is ``testing.test_weakened`` (issue 17).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import difflib
import operator
import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from leo import (
    Change,
    Finding,
    LeoError,
    Severity,
    code_named_like_tests,
    is_test_side,
    parse_python,
    run_git,
)
from leo_testing.checks import FailedCheck, judge
from leo_testing.harness import is_harness_file
from leo_testing.junit import Suite, TestCase

_GIT_TIMEOUT_S = 300
_MAX_NAMED = 50


def base_side_paths(
    change: Change, extra_tests: Sequence[str] = (), code: frozenset[str] = frozenset()
) -> tuple[list[str], list[str]]:
    """(paths to restore from the base, head-only paths to remove) for the base pass.

    ``extra_tests`` are files the head's run collected tests from, whatever their names;
    ``code`` are modules named like tests that the code imports (``code_named_like_tests``):
    the head's, even when they hold a test too (a dummy ``def test_x()`` must not make code
    the base's again).
    """
    extra = set(extra_tests)

    def ours(path: str) -> bool:
        return is_harness_file(path) or (path not in code and (is_test_side(path) or path in extra))

    restore: list[str] = []
    remove: list[str] = []
    for f in change.files:
        old = f.old_path or f.path
        if f.status != "added" and ours(old):
            restore.append(old)
        new_here = f.status == "added" or (f.status in ("renamed", "copied") and f.path != old)
        if new_here and ours(f.path):
            remove.append(f.path)
    return sorted(set(restore)), sorted(set(remove) - set(restore))


async def prepare_base_pass(
    change: Change,
    tree: Path,
    extra_tests: Sequence[str] = (),
    generated: Mapping[str, bytes] | None = None,
) -> list[str]:
    """Turn the head worktree ``tree`` into the base pass's tree; return the paths it changed.

    The tree is first reset to the head commit and cleaned, so nothing the head's own run wrote
    (a planted ``conftest.py``, a stray ``.pth``) reaches the base pass; the files the
    environment's build had ``generated`` there before that run are put back, so both passes
    start from the same tree.
    """
    git = [str(tree), "--literal-pathspecs"]
    for step in (["reset", "--hard", "--quiet"], ["clean", "-ffdxq"]):
        await _git([*git, *step])
    for path, data in (generated or {}).items():
        target = tree.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    await _without_attributes(tree)
    restore, remove = base_side_paths(change, extra_tests, await code_named_like_tests(change))
    for path in remove:
        target = tree.joinpath(*path.split("/"))
        if target.is_symlink() or target.is_file():
            target.unlink()
    if restore:
        stdin = b"".join(p.encode() + b"\0" for p in restore)
        await _git(
            [*git, "checkout", change.base_sha, "--pathspec-from-file=-", "--pathspec-file-nul"],
            stdin=stdin,
        )
    return restore + remove


async def _without_attributes(tree: Path) -> None:
    """Take every ``.gitattributes`` out of ``tree`` and its index. git reads attributes from
    both as it checks files out, so the head's would shape the base's files the base pass
    restores: ``working-tree-encoding=UTF-16LE`` for the base's test file made it unreadable,
    and the failure it would have shown was never seen. No test needs them."""
    found = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        if ".gitattributes" in filenames:
            path = Path(dirpath, ".gitattributes")
            found.append(path.relative_to(tree).as_posix())
            path.unlink()
    if found:
        stdin = b"".join(p.encode() + b"\0" for p in found)
        await _git(
            [str(tree), "--literal-pathspecs", "rm", "--cached", "--quiet", "--ignore-unmatch",
             "--pathspec-from-file=-", "--pathspec-file-nul"],
            stdin=stdin,
        )  # fmt: skip


async def _git(argv: list[str], stdin: bytes | None = None) -> None:
    """``git -C argv[0] argv[1:]`` through LEO's hardened git (the tree held the head's code)."""
    result = await run_git(argv[0], *argv[1:], timeout=_GIT_TIMEOUT_S, stdin=stdin, check=False)
    if result.returncode != 0:
        msg = f"could not prepare the base pass ({' '.join(argv[2:4])}): {result.stderr_text.strip()[:300]}"
        raise LeoError(msg)


@dataclass(frozen=True)
class TestSource:
    """One test function as the base or the head wrote it."""

    __test__ = False  # not a pytest test class

    body: str
    shape: str
    """The body with every name blanked and the constants kept: a test whose helpers were
    renamed keeps its shape."""
    asserts: int
    """``assert`` statements and ``assert…``/``raises``/``warns``/``fail`` calls in it."""
    node: ast.FunctionDef | ast.AsyncFunctionDef | None = field(
        default=None, compare=False, repr=False
    )
    """The function itself, to find the check that failed and what became of it."""


def read_test_functions(source: bytes | None) -> dict[str, TestSource]:
    """Each function of a test module by its qualified name (``TestA::test_b``); {} when it
    does not parse."""
    try:
        tree = parse_python(source or b"")
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, TestSource] = {}

    def visit(nodes: list[ast.stmt], prefix: str) -> None:
        for node in nodes:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}::")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = "\n".join(ast.unparse(n) for n in node.body)
                found[prefix + node.name] = TestSource(
                    body, _shape(node), _count_asserts(node), node
                )

    visit(tree.body, "")
    return found


def _shape(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    blank = copy.deepcopy(node)
    for n in ast.walk(blank):
        if isinstance(n, ast.Name):
            n.id = "_"
        elif isinstance(n, ast.Attribute):
            n.attr = "_"
        elif isinstance(n, ast.arg):
            n.arg = "_"
    return "\n".join(ast.unparse(n) for n in blank.body)


def _count_asserts(node: ast.AST) -> int:
    """The checks in ``node``, leaving out the branches only Python 2 ran (pyasn1 0.6.1 dropped
    ``if sys.version_info[0] < 3: assert unicode(x) == …``, which no Python 3 run executes)."""
    count = 0
    stack = [node]
    while stack:
        n = stack.pop()
        holds = _on_python_3(n.test) if isinstance(n, ast.If) else None
        if isinstance(n, ast.If) and holds is not None:
            stack.extend(n.body if holds else n.orelse)
            continue
        stack.extend(ast.iter_child_nodes(n))
        if isinstance(n, ast.Assert):
            count += 1
        elif isinstance(n, ast.Call):
            f = n.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name.lower().startswith("assert") or name in _CHECKS:
                count += 1
    return count


_CHECKS = frozenset({"raises", "warns", "fail", "deprecated_call", "expect", "check"})
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
            ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}  # fmt: skip


def _on_python_3(test: ast.expr) -> bool | None:
    """Whether ``test`` holds on every Python 3, when its major version alone decides it
    (``sys.version_info[0] < 3``, ``sys.version_info >= (3,)``, ``six.PY2``); else None."""
    text = ast.unparse(test)
    if text in ("PY2", "six.PY2", "PY3", "six.PY3"):
        return text.endswith("PY3")
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or type(test.ops[0]) not in _COMPARE:
        return None
    left, right, op = ast.unparse(test.left), test.comparators[0], _COMPARE[type(test.ops[0])]
    try:
        value = ast.literal_eval(right)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if left in ("sys.version_info[0]", "sys.version_info.major") and isinstance(value, int):
        return bool(op(3, value))
    if left == "sys.version_info" and isinstance(value, tuple) and value:
        if isinstance(value[0], int) and value[0] != 3:
            return bool(op((3,), value[:1]))
        if value == (3,):  # every Python 3 version is longer, so greater
            return bool(op((3, 0), value))
    return None


#: How alike a vanished test and a new one of the same file must be to call it a rename.
_RENAME_SIMILARITY = 0.6


@dataclass(frozen=True)
class Sources:
    """The base's and the head's versions of the test files the comparison looks into."""

    base: dict[str, dict[str, TestSource]]
    head: dict[str, dict[str, TestSource]]


def _split(nodeid: str) -> tuple[str, str, str]:
    """``path::Class::test[params]`` → (path, ``Class::test``, ``[params]``)."""
    path, _, rest = nodeid.partition("::")
    qual, bracket, params = rest.partition("[")
    return path, qual, bracket + params


@dataclass(frozen=True)
class Weakened:
    """A base test the change's own run no longer holds to."""

    nodeid: str
    base_outcome: str
    head_outcome: str | None
    """``passed``/``skipped``/``failed``/``error``, or None when the head's run does not have it."""
    edited: bool
    """True when the change edits the file the test is in."""
    kind: str = "test"
    """``test``; ``module`` for a test module the base pass could not collect; ``renamed`` when
    the head runs it under a new name."""
    asserts: tuple[int, int] | None = None
    """Assertions in the base's and the head's version of the test (or module), when known."""
    detail: str = ""
    """The collection error's first line, or the new name."""
    check: FailedCheck | None = None
    """The statement the base test failed on and what the change did to it, when known."""
    function: str = ""
    """``file::Class::test`` of the test's definition: the variants of one test (parameters,
    subclasses inheriting it) are reported together."""
    error: str = ""
    """The line naming the error a failing base test raised."""
    removed: str = ""
    """What the change removed that the test needed (``module blinker._saferef``), when its
    error names a module or name the change deleted: the test went with its subject."""
    deprecated: str = ""
    """The deprecation warning the change added that the base test failed on (the base's
    ``filterwarnings = error``): the test stopped at the warning, before its assertions."""
    teardown: bool = False
    """The base test errored only in its teardown: a fixture's clean-up, after its checks."""
    allowed: tuple[str, str] | None = None
    """(outcome, error line) of the base test re-run against the head's code with deprecation
    warnings allowed, when it stopped at one; None when it was not re-run."""

    @property
    def updated(self) -> bool:
        """A test updated with the behaviour it checks, not a neutered one: the check it failed
        on is still there with its expected value changed (or, when that line is unknown, the
        rewrite kept at least as many assertions)."""
        if self.check is not None:
            return self.check.holds
        return self.asserts is not None and self.asserts[1] >= self.asserts[0] > 0


def compare(
    base: Suite,
    head: Suite,
    edited_files: set[str],
    renamed: dict[str, str] | None = None,
    sources: Sources | None = None,
) -> list[Weakened]:
    """Base tests that ran in the base pass and that the head's run weakened.

    * failed or errored against the head's code, and at the head missing, skipped (xfail
      included) or passing: the change hides a failure;
    * passed against the head's code, and at the head missing or skipped: the change drops a
      test that still holds (a LEAD decides whether that is intended).

    ``renamed`` maps a test file's base path to its head path, so a moved test is found;
    ``sources`` (the test files at base and head) finds renamed tests and counts assertions.
    A test the change parametrized (``test_x`` at base, ``test_x[asyncio]`` and
    ``test_x[trio]`` at the head; ``test_y[a]`` becoming ``test_y[asyncio-a]``: jinja2 3.1.5)
    is judged by its variants together.
    A module the base pass could not collect is not a test: it is compared as a module.
    """
    renamed = renamed or {}
    sources = sources or Sources({}, {})
    at_head: dict[str, TestCase] = {c.nodeid: c for c in head.cases}
    head_files = {c.file for c in head.cases if c.file}
    variants: dict[str, list[tuple[set[str], str]]] = {}
    for c in head.cases:
        stem, bracket, ids = c.nodeid.partition("[")
        if bracket:
            variants.setdefault(stem, []).append((_ids(ids), c.outcome))
    renumbered = _renumbered_pool(base, head)
    replaced = _replaced_pool(base, head)
    out = []
    for case in base.cases:
        if case.outcome == "skipped":
            continue
        path, sep, rest = case.nodeid.partition("::")
        head_path = renamed.get(path, path)
        edited = bool(case.file) and posixpath.normpath(case.file or "") in edited_files
        if case.collection_error:
            same = at_head.get(f"{head_path}{sep}{rest}")
            if same is not None and same.outcome in ("failed", "error"):
                continue  # the head's run could not collect it either: reported already
            if head_path not in head_files and not edited:
                out.append(Weakened(case.nodeid, case.outcome, None, False, "module",
                                    detail=case.first_error_line(),
                                    error=case.first_error_line()))  # fmt: skip
            elif head_path in head_files:
                out.append(Weakened(case.nodeid, case.outcome, "passed", edited, "module",
                                    _module_asserts(sources, path, head_path),
                                    case.first_error_line()))  # fmt: skip
            else:  # the change dropped the whole module
                out.append(Weakened(case.nodeid, case.outcome, None, edited, "module",
                                    detail=case.first_error_line(),
                                    error=case.first_error_line()))  # fmt: skip
            continue
        now = at_head.get(case.nodeid)
        if now is None and sep and path in renamed:  # a moved test file
            now = at_head.get(f"{head_path}::{rest}")
        kind, new_name = "test", ""
        if now is None and sep:
            new_name, now = _renamed_test(case.nodeid, head_path, at_head, sources)
            kind = "renamed" if now is not None else "test"
        head_outcome: str | None = now.outcome if now is not None else None
        if head_outcome is None and sep:  # the change parametrized the test (further)
            stem, _, ids = f"{head_path}{sep}{rest}".partition("[")
            wanted = _ids(ids)
            split = [o for have, o in variants.get(stem, ()) if wanted <= have]
            head_outcome = _combined(split) if split else None
        if head_outcome is None and sep and path == head_path:
            pool = renumbered.get(_unnumbered(case.nodeid))
            head_outcome = pool.pop() if pool else None
        if head_outcome is None and sep and path == head_path and case.outcome == "passed":
            pool = replaced.get(_id_shape(case.nodeid))
            head_outcome = pool.pop() if pool else None
        if head_outcome in ("failed", "error"):
            continue  # reported as a failing test already
        if case.outcome == "passed" and head_outcome == "passed":
            continue
        asserts = check = None
        _, qual, _ = _split(case.nodeid)
        src = case.file or path
        old_name, old = _function(sources.base.get(src, {}), qual)
        if head_outcome == "passed" and edited:
            head_src = renamed.get(src, src)
            _, new = _function(
                sources.head.get(head_src, {}), _split(new_name)[1] if new_name else old_name
            )
            if old is not None and new is not None:
                asserts = (old.asserts, new.asserts)
                check = _failed_check(case, old, new)
        elif head_outcome is None and case.outcome in ("failed", "error") and old is not None:
            check = _failed_check(case, old, None)
        function = f"{src}::{old_name}" if old is not None else case.nodeid.partition("[")[0]
        out.append(
            Weakened(
                case.nodeid,
                case.outcome,
                head_outcome,
                edited,
                kind,
                asserts,
                new_name,
                check=check,
                function=function,
                error=case.first_error_line() if case.outcome in ("failed", "error") else "",
                teardown=case.outcome == "error" and case.message.startswith("failed on teardown"),
            )
        )
    return out


def _function(tests: Mapping[str, TestSource], qual: str) -> tuple[str, TestSource | None]:
    """The test ``qual`` (``Class::test``) of a file's functions; a test a subclass in another
    file inherits (itsdangerous' ``TestTimedSerializer::test_iter_unsigners``) by its name."""
    if qual in tests:
        return qual, tests[qual]
    name = qual.rpartition("::")[2]
    found = [q for q in tests if q.rpartition("::")[2] == name]
    return (found[0], tests[found[0]]) if len(found) == 1 else (qual, None)


def _failed_check(case: TestCase, old: TestSource, new: TestSource | None) -> FailedCheck | None:
    """What the change did to the statement ``case`` failed on in the base's version ``old``."""
    if case.outcome != "failed" or old.node is None:
        return None
    path, line = case.crash_location()
    if path != case.file or line is None or line == case.line:
        return None  # not located in the test's own body
    return judge(old.node, new.node if new is not None else None, line)


#: pytest's generated id of a parameter it cannot name by value: argument name and position.
_GENERATED_ID = re.compile(r"(?<![^\[-])([A-Za-z_]\w*?)\d+(?=[-\]])")


def _unnumbered(nodeid: str) -> str:
    """``test_x[test_input4-a minute]`` → ``test_x[test_input#-a minute]``."""
    stem, bracket, ids = nodeid.partition("[")
    return stem + bracket + _GENERATED_ID.sub(r"\1#", ids) if bracket else nodeid


def _renumbered_pool(base: Suite, head: Suite) -> dict[str, list[str]]:
    """Head variants with a new node id, by id without generated positions: a parameter list
    the change grew or reordered renumbers ``test_input4`` (humanize 4.10). Each head variant
    answers for one base variant only, so a dropped case is still missing."""
    known = {c.nodeid for c in base.cases}
    pool: dict[str, list[str]] = {}
    for c in head.cases:
        if "[" in c.nodeid and c.nodeid not in known:
            pool.setdefault(_unnumbered(c.nodeid), []).append(c.outcome)
    return pool


def _replaced_pool(base: Suite, head: Suite) -> dict[str, list[str]]:
    """Head variants of a parametrized test whose parameters the change replaced, by test and
    number of parameter ids: humanize 4.10 moved ``test_naturaldate``'s dates from 2019-2021 to
    2009-2011. Only a base variant that passed against the head's code draws from it (nothing
    is hidden), one head variant each, so a shorter parameter list still leaves base variants
    missing; a test parametrized further (``[<lambda>0]`` → ``[asyncio-<lambda>1]``) is not a
    replacement. Variants that answer by renumbering (``_renumbered_pool``) are not drawn twice."""
    known = {c.nodeid for c in base.cases}
    numbered = {_unnumbered(c.nodeid) for c in base.cases}
    pool: dict[str, list[str]] = {}
    for c in head.cases:
        if "[" in c.nodeid and c.nodeid not in known and _unnumbered(c.nodeid) not in numbered:
            pool.setdefault(_id_shape(c.nodeid), []).append(c.outcome)
    return pool


def _id_shape(nodeid: str) -> str:
    """``path::test`` and how many parameter ids its ``[...]`` holds."""
    stem, _, ids = nodeid.partition("[")
    return f"{stem}[{len(ids.removesuffix(']').split('-'))}]"


def _ids(ids: str) -> set[str]:
    """The parameter ids of a node id's ``[...]`` part (``"asyncio-<lambda>0]"``)."""
    return {part for part in ids.removesuffix("]").split("-") if part}


def _combined(outcomes: list[str]) -> str:
    """One outcome for a test the change split into parametrized variants: any failing variant
    is a failure, else it ran if any variant passed, else it was skipped."""
    for outcome in ("error", "failed", "passed"):
        if outcome in outcomes:
            return outcome
    return "skipped"


def _module_asserts(sources: Sources, path: str, head_path: str) -> tuple[int, int] | None:
    old, new = sources.base.get(path), sources.head.get(head_path)
    if old is None or new is None:
        return None
    return sum(t.asserts for t in old.values()), sum(t.asserts for t in new.values())


def _renamed_test(
    nodeid: str, head_path: str, at_head: dict[str, TestCase], sources: Sources
) -> tuple[str, TestCase | None]:
    """The head's test that a vanished base test became: a function new in the same file whose
    body is alike (cachetools 5.4.0's ``test_typed_dict`` → ``test_typedmethod_dict``) or keeps
    every statement of the old one, in the same class or another (typing-extensions 4.12.0 moved
    ``CollectionsAbcTests::test_async_generator`` into a new ``GeneratorTests`` as
    ``test_async_generator_basics``, with more checks).

    A variant whose name the head gave to another test is found only under a new name that runs
    that very variant with a body more alike than the name's new one: beautifulsoup4 4.12.3
    renamed ``test_deeply_nested_document`` to ``..._without_css``, same body and parameters,
    and gave the name to a new test of other fuzz cases."""
    path, qual, params = _split(nodeid)
    old = sources.base.get(path, {}).get(qual)
    head_tests = sources.head.get(head_path, {})
    reused = head_tests.get(qual)
    if old is None or (reused is not None and not params):
        return "", None
    # A new name must beat the reused one, whose own name scores 1/100 (see ``score``).
    best, best_score = None, _alike(old, reused) + 0.01 if reused is not None else 0.0
    for name, new in head_tests.items():
        if name in sources.base.get(path, {}):
            continue
        if reused is not None and f"{head_path}::{name}{params}" not in at_head:
            continue
        alike = _alike(old, new)
        score = alike + _ratio(qual, name) / 100  # of equals, the closer name
        if alike >= _RENAME_SIMILARITY and score > best_score:
            best, best_score = name, score
    if best is None and reused is None:
        head_path, best = _moved_test(path, qual, old, head_path, sources)
    if best is None:
        return "", None
    new_id = f"{head_path}::{best}{params}"
    if new_id in at_head:
        return new_id, at_head[new_id]
    runs = [c for c in at_head.values() if _split(c.nodeid)[:2] == (head_path, best)]
    if runs and all(c.outcome == "passed" for c in runs):
        return new_id, runs[0]
    return "", None


def _moved_test(
    path: str, qual: str, old: TestSource, head_path: str, sources: Sources
) -> tuple[str, str | None]:
    """(head file, name) of the test ``old`` moved to another test file under the same name,
    with its body alike and no fewer checks (structlog 24.2.0 split ``tests/test_processors.py``
    and moved ``TestKeyValueRenderer`` and 8 more classes into ``tests/processors/
    test_renderers.py``); (``head_path``, None) when there is none. A file's own test of that
    name at the base is that file's, not the moved one."""
    for other, tests in sorted(sources.head.items()):
        new = tests.get(qual)
        if other in (path, head_path) or new is None or qual in sources.base.get(other, {}):
            continue
        alike = _alike(old, new)
        if alike >= _RENAME_SIMILARITY and new.asserts >= old.asserts:
            return other, qual
    return head_path, None


def _alike(old: TestSource, new: TestSource) -> float:
    """How alike two tests are: their text, their shape, or 1.0 when ``new`` keeps ``old``."""
    return max(_ratio(old.body, new.body), _ratio(old.shape, new.shape), _kept(old, new))


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _kept(old: TestSource, new: TestSource) -> float:
    """1.0 when every top-level statement of ``old`` (one with a check at least) is in
    ``new``: the test grew; 0.0 otherwise."""
    if old.node is None or new.node is None or not old.asserts:
        return 0.0
    have = [ast.unparse(n) for n in new.node.body]
    return 1.0 if all(ast.unparse(n) in have for n in old.node.body) else 0.0


#: ``No module named 'pkg.mod'``: the module a test imports is gone.
_NO_MODULE = re.compile(r"(?:ModuleNotFound|Import)Error: No module named '([\w.]+)'")
#: ``cannot import name 'x' from 'pkg'`` / ``module 'pkg' has no attribute 'x'``.
_NO_NAME = re.compile(
    r"ImportError: cannot import name '(?P<name>\w+)' from '(?P<module>[\w.]+)'"
    r"|AttributeError: module '(?P<module2>[\w.]+)' has no attribute '(?P<name2>\w+)'"
)
#: ``'Signal' object has no attribute 'x'`` / ``type object 'Signal' has no attribute 'x'``.
_NO_ATTRIBUTE = re.compile(r"AttributeError: .*(?:object|class) .*has no attribute '(\w+)'")


async def subjects_removed(change: Change, weakened: Sequence[Weakened]) -> list[Weakened]:
    """Mark each failing base test that the change deleted along with its subject: its error
    names a module the change deleted (``No module named 'pkg.mod'``, or ``cannot import name
    'mod' from 'pkg'`` for ``from pkg import mod``: pyasn1 0.6.1 deleted ``pyasn1.compat.octets``
    and ``tests/compat/test_octets.py``), or a name the change removed from the module (or, for an
    attribute, from every changed code file) that defined it at base (blinker 1.8.0 deleted the
    private ``blinker._saferef`` and ``tests/test_saferef.py`` with it). Design judges the
    removal itself; a deleted test that failed an assertion is not marked."""
    wanted = {
        w.nodeid
        for w in weakened
        if w.head_outcome is None and w.error and w.base_outcome in ("failed", "error")
    }
    checks = {
        w.nodeid
        for w in weakened
        if w.head_outcome == "passed" and w.check is not None and w.check.fate == "removed"
    }
    modules = {
        w.nodeid
        for w in weakened
        if w.kind == "module" and w.head_outcome == "passed" and w.edited and not w.updated
    }
    if not wanted and not checks and not modules:
        return list(weakened)
    named = await code_named_like_tests(change)
    code = [
        f
        for f in change.files
        if f.path.endswith(".py") and (not is_test_side(f.path) or f.path in named)
    ]
    gone = {f.old_path or f.path for f in code if f.status == "deleted"}
    gone |= {f.old_path for f in code if f.status == "renamed" and f.old_path}
    edited = [f.path for f in code if f.status == "modified"]
    base = await change.read_many(edited, "base")
    head = await change.read_many(edited, "head")
    out = []
    for w in weakened:
        why = _removed_subject(w.error, gone, base, head) if w.nodeid in wanted else ""
        warned = _new_deprecation(w.error, base, head) if w.nodeid in wanted else ""
        if w.nodeid in checks:
            why = _private_attribute_missing(w.error, w.check) or await _private_subject_removed(
                change, w.check, gone, base
            )
        if w.nodeid in modules:
            why = await _module_lost_only_tests_of(change, w, gone, base, head)
        out.append(dataclasses.replace(w, removed=why, deprecated=warned) if why or warned else w)
    return out


async def _module_lost_only_tests_of(
    change: Change,
    w: Weakened,
    gone: set[str],
    base: Mapping[str, bytes | None],
    head: Mapping[str, bytes | None],
) -> str:
    """What the change removed that the base's version of the test module ``w`` imports, when
    every test the module lost (or lost checks from) used it and the rest are kept with all
    their checks (structlog 24.2.0 removed the private ``_utils.until_not_interrupted`` and its
    ``TestUntilNotInterrupted``); ``""`` otherwise."""
    error = w.error or w.detail  # a module's collection error is its detail
    why = _removed_subject(error, gone, base, head)
    match = _NO_NAME.search(error) or _NO_MODULE.search(error)
    path = w.nodeid.split("::", 1)[0]
    if not why or match is None or (f := change.file(path)) is None or f.status != "modified":
        return ""
    groups = match.groupdict()
    name = groups.get("name") or groups.get("name2") or match[1].rpartition(".")[2]
    old = read_test_functions((await change.read_many([path], "base")).get(path))
    new = read_test_functions((await change.read_many([path], "head")).get(path))
    word = re.compile(rf"\b{re.escape(name)}\b")
    for qual, test in old.items():
        if word.search(test.body):
            continue  # a test of the removed subject: it went with it
        kept = new.get(qual)
        if kept is None or kept.asserts < test.asserts:
            return ""
    return why if old else ""


#: ``obj._name``: an implementation detail a check looks into.
_PRIVATE_ATTRIBUTE = re.compile(r"\.(_[A-Za-z]\w*)\b")


def _private_attribute_missing(error: str, check: FailedCheck | None) -> str:
    """The private attribute the deleted ``check`` itself looked into and the object the head's
    code gave it no longer has (``'generator' object has no attribute '_cache'``: more-itertools
    10.3 made ``ichunked``'s chunks generators), or ``""``. The failure was raised on the
    check's own line, so only the internals it inspected changed; a missing public attribute, or
    a private one the check does not name (the code broke inside), stays the LEAD's decision."""
    match = _NO_ATTRIBUTE.search(error)
    if match is None or check is None or match[1].startswith("__"):
        return ""
    if match[1] not in _PRIVATE_ATTRIBUTE.findall(check.text):
        return ""
    return f"the private {match[1]} it looked into ({match[0].removeprefix('AttributeError: ')})"


async def _private_subject_removed(
    change: Change, check: FailedCheck | None, gone: set[str], base: Mapping[str, bytes | None]
) -> str:
    """The private attributes the deleted ``check`` looked into, when the change took every one
    of them out of the code, or ``""``. A check on behaviour, or on a private name any code
    file at head still mentions, stays the LEAD's decision (more-itertools 10.3 deleted
    ``assertEqual(len(first_chunk._cache), 0)`` with ``ichunked``'s ``_cache``, but
    ``peekable`` keeps one: which object the check looked into is not known statically)."""
    names = sorted({n for n in _PRIVATE_ATTRIBUTE.findall(check.text if check else "")
                    if not n.startswith("__")})  # fmt: skip
    if not names:
        return ""
    old = dict(base) | await change.read_many(sorted(gone), "base")
    for name in names:
        word = re.compile(rf"\b{re.escape(name)}\b")
        had = [p for p, data in old.items() if word.search(_text(data))]
        if not had:
            return ""
        found = await run_git(
            change.repo, "grep", "-l", "-w", "-F", "-e", name, change.head_sha, "--", "*.py",
            timeout=60, check=False,
        )  # fmt: skip
        if found.returncode == 0:
            still = [p.partition(":")[2] for p in found.stdout_text.splitlines()]
            if any(not is_test_side(p) for p in still):
                return ""
        elif found.returncode != 1:
            return ""  # unknown is not "removed"
    listed = ", ".join(names)
    return f"the private {listed} it looked into, which the change removed from {had[0]}"


#: ``DeprecationWarning: The global 'x' signal is deprecated …`` raised as an error.
_DEPRECATION = re.compile(r"(?:Pending)?DeprecationWarning: (.{12,})")


def stopped_at_deprecation(error: str) -> bool:
    """Did a test fail on a deprecation warning raised as an error (``filterwarnings = error``)?"""
    return _DEPRECATION.search(error) is not None


def _new_deprecation(
    error: str, base: Mapping[str, bytes | None], head: Mapping[str, bytes | None]
) -> str:
    """The warning ``error`` names when the change's edits to the code added it (blinker 1.8.0
    deprecated the global ``receiver_connected``), or ``""``."""
    match = _DEPRECATION.search(error)
    if match is None:
        return ""
    words = re.findall(r"\w+", match[1])[:6]  # the source may split the text over lines
    if len(words) < 3:
        return ""
    said = re.compile(r"\W+".join(map(re.escape, words)))
    new = any(said.search(_text(data)) for data in head.values())
    old = any(said.search(_text(data)) for data in base.values())
    return match[0][:200] if new and not old else ""


def _module_files(module: str, paths: Iterable[str]) -> list[str]:
    """The paths (under any source folder: ``src/``) that hold the module ``module``."""
    tails = (module.replace(".", "/") + ".py", module.replace(".", "/") + "/__init__.py")
    return [p for p in paths if any(p == t or p.endswith("/" + t) for t in tails)]


def _removed_subject(
    error: str, gone: set[str], base: Mapping[str, bytes | None], head: Mapping[str, bytes | None]
) -> str:
    """What the change removed that ``error`` names, or ``""``."""
    if match := _NO_MODULE.search(error):
        files = _module_files(match[1], gone)
        return f"module {match[1]} ({files[0]}), which the change deleted" if files else ""
    if match := _NO_NAME.search(error):
        module, name = match["module"] or match["module2"], match["name"] or match["name2"]
        if files := _module_files(f"{module}.{name}", gone):  # ``from pkg import submodule``
            return f"module {module}.{name} ({files[0]}), which the change deleted"
        files = _module_files(module, head)  # a module the change edited
        word = re.compile(rf"\b{re.escape(name)}\b")
        if files and all(
            word.search(_text(base.get(f))) and not word.search(_text(head.get(f))) for f in files
        ):
            return f"{module}.{name}, which the change removed from {files[0]}"
        return ""
    if match := _NO_ATTRIBUTE.search(error):
        name = re.escape(match[1])
        defined = re.compile(rf"(?m)^\s*(?:async\s+)?(?:def|class)\s+{name}\b|\b{name}\s*[:=]")
        had = [p for p, data in base.items() if defined.search(_text(data))]
        word = re.compile(rf"\b{name}\b")
        if had and not any(word.search(_text(data)) for data in head.values()):
            return f"{match[1]}, which the change removed from {had[0]}"
    return ""


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def weakened_findings(
    weakened: Sequence[Weakened],
    updated_tests: str = "context",
    failing_before: frozenset[str] = frozenset(),
) -> list[Finding]:
    """``testing.test_weakened``: high when it hides a failure, medium for a LEAD to decide,
    low (context, never gating) for a test the change updated along with the behaviour, or one
    that also failed against the base's own code (``failing_before``: the change hides no
    failure it introduced). The variants of one test judged alike (its parameters, the
    subclasses that inherit it) are one finding naming them all.

    ``updated_tests = "lead"`` makes an updated test a LEAD's decision too.
    """
    groups: dict[tuple[object, ...], list[Weakened]] = {}
    for w in weakened:
        before = w.base_outcome in ("failed", "error") and w.nodeid in failing_before
        fate = w.check.fate if w.check is not None else None
        alike = (w.function or w.nodeid, w.base_outcome, w.head_outcome, w.kind, w.edited,
                 fate, w.asserts, w.removed, w.deprecated, w.teardown, w.allowed and w.allowed[0],
                 before)  # fmt: skip
        groups.setdefault(alike, []).append(w)
    findings = []
    for key, members in list(groups.items())[:_MAX_NAMED]:
        w, before = members[0], bool(key[-1])
        more = _more(members)
        path = w.nodeid.split("::", 1)[0] if "::" in w.nodeid else None
        if before:
            findings.append(
                Finding(
                    rule_id="testing.test_weakened",
                    severity="low",
                    message=f"{w.nodeid}{more} {w.base_outcome} against the head's code in the "
                    "base's version, and against the base's own code too: a failure the change "
                    "did not introduce, which its own run no longer reports",
                    path=path,
                    on_changed_line=False,
                )
            )
            continue
        message, severity = _describe(w, updated_tests, more)
        findings.append(
            Finding(
                rule_id="testing.test_weakened",
                severity=severity,
                message=message,
                path=path,
                fix="restore the test, or fix the code so the base's test passes",
            )
        )
    if len(groups) > _MAX_NAMED:
        left = sum(len(m) for m in list(groups.values())[_MAX_NAMED:])
        findings.append(
            Finding(
                rule_id="testing.test_weakened",
                severity="high",
                message=f"{left} more base tests were weakened (not named)",
            )
        )
    return findings


def _more(members: Sequence[Weakened]) -> str:
    """`` (and N variants: a, b, …)`` naming the other variants of a test judged alike."""
    if len(members) < 2:
        return ""
    names = ", ".join(m.nodeid for m in members[1:6]) + (", …" if len(members) > 6 else "")
    return f" (and {len(members) - 1} variant(s) judged alike: {names})"


def _check_text(c: FailedCheck) -> str:
    return f"line {c.line}: `{c.text}`"


def _describe(w: Weakened, updated_tests: str, more: str = "") -> tuple[str, Severity]:
    """The finding's message and severity for one weakened test (and its ``more`` variants)."""
    counts = f" (assertions {w.asserts[0]} at base, {w.asserts[1]} at head)" if w.asserts else ""
    updated: Severity = "medium" if updated_tests == "lead" else "low"
    if w.kind == "module":
        path = w.nodeid.split("::", 1)[0]
        why = f"{path}: the base's version could not be collected against the head's code ({w.detail})"
        if w.head_outcome is None and w.removed:
            return (
                f"{why}, and the change deleted it with its subject, {w.removed}: the test could "
                "not outlive what it tested; Design judges the removal",
                "low",
            )
        if w.head_outcome is None:
            return f"{why}, and the change's own run has no test from it", "high"
        if w.removed and w.head_outcome == "passed":
            return (
                f"{why}; the change deleted the module's tests of what it removed ({w.removed}) "
                f"and kept every other test with all its checks{counts}; Design judges the removal",
                "low",
            )
        if not w.edited:  # the same file imports at the head: the base's configuration differs
            return f"{why}; the change's own run collected the same file", "low"
        if w.updated:
            return (
                f"{why}; the change rewrote the module and its own run passes it{counts}",
                updated,
            )
        return f"{why}; the change rewrote the module with fewer assertions{counts}", "medium"
    at_head = {
        None: "the change's own run no longer runs it (deleted, renamed, deselected or not collected)",
        "skipped": "the change's own run skips it (skip or xfail)",
        "passed": "the change's own run reports it passing"
        + (f" as {w.detail}" if w.kind == "renamed" else "")
        + (" after the change edited it" if w.edited else ""),
    }[w.head_outcome]
    name = f"{w.nodeid}{more}"
    if w.removed and w.head_outcome == "passed" and w.check is not None:
        return (
            f"{name} {w.base_outcome} against the head's code in the base's version (it failed "
            f"on {_check_text(w.check)}); the change deleted that check with its subject, "
            f"{w.removed}, and its own run passes the rest of the test{counts}: an "
            "implementation detail, not behaviour",
            "low",
        )
    if w.removed:
        return (
            f"{name} {w.base_outcome} against the head's code in the base's version ({w.error}) "
            f"and the change deleted it with its subject, {w.removed}: the test could not "
            "outlive what it tested; Design judges the removal",
            "low",
        )
    if w.deprecated and w.head_outcome is None:
        stopped = (
            f"{name} {w.base_outcome} against the head's code in the base's version on a "
            f"deprecation the change added ({w.deprecated}), before reaching its assertions, "
            "and the change deleted it"
        )
        outcome, error = w.allowed or ("", "")
        if outcome == "passed":
            return (
                f"{stopped}; re-run with deprecation warnings allowed, it passes: the deprecated "
                "feature still does what the test checked",
                "low",
            )
        if outcome in ("failed", "error") and not stopped_at_deprecation(error):
            return (
                f"{stopped}; re-run with deprecation warnings allowed, it still {outcome} "
                f"({error}): the deprecated feature is broken and its test deleted",
                "high",
            )
        return f"{stopped}: a LEAD decides whether the deprecated feature may go untested", "medium"
    if w.base_outcome in ("failed", "error"):
        failed_on = f" (it failed on {_check_text(w.check)})" if w.check else ""
        message = f"{name} {w.base_outcome} against the head's code in the base's version{failed_on}; {at_head}{counts}"
    else:
        message = f"{name} passes against the head's code in the base's version, but {at_head}"
    if w.kind == "renamed" and w.base_outcome == "passed":
        return message, "low"
    if w.teardown and w.head_outcome == "skipped":  # urllib3 2.2.2's test_chunked_specified
        return (
            f"{message}; it errored in its teardown, after its own checks (a fixture's "
            "clean-up against the change's test harness): a LEAD decides",
            "medium",
        )
    if w.head_outcome == "passed" and w.edited:  # rewritten: intended, or neutered?
        return _rewritten(w, message, updated)
    if w.base_outcome in ("failed", "error"):
        return message, "high"
    return message, "medium"


def _rewritten(w: Weakened, message: str, updated: Severity) -> tuple[str, Severity]:
    """A failing base test the change edited until it passed: judged by what became of the
    check it failed on, else by its assertions' count."""
    c = w.check
    if c is None:
        if w.updated:
            return message + "; it was updated along with the behaviour it checks", updated
        return message, "medium"
    said: dict[str, tuple[str, Severity]] = {
        "kept": ("that check is kept as it was (its inputs changed): updated along with the "
                 "behaviour it checks", updated),
        "updated": ("that check is kept with a new expected value: updated along with the "
                    "behaviour it checks", updated),
        "weakened": (f"that check can no longer fail ({c.how}): the change neutered the test "
                     "that caught the failure", "high"),
        "removed": ("the change deleted that check: a LEAD decides whether the behaviour it "
                    "pinned was meant to change", "medium"),
        "patched": (f"that check is kept, but the change added a patch to the test ({c.how}): "
                    "a LEAD decides whether it now checks a stand-in instead of the code",
                    "medium"),
    }  # fmt: skip
    text, severity = said[c.fate]
    return f"{message}; {text}", severity
