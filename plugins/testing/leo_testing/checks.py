"""What became of the check a base test failed on: kept, updated, weakened or removed (issue 18).

A release that changes behaviour updates the test that pinned the old behaviour: the failing
``assert x == old`` becomes ``assert x == new`` (itsdangerous 2.2.0's ``test_iter_unsigners``).
A change that hides a bug removes that assertion, or keeps it where it can no longer fail:
truthiness in place of a comparison, a tautology, ``mock.ANY``, ``Exception`` in place of the
exception it expected, a ``try``/``except`` or ``contextlib.suppress`` around it, an ``if False:``
above it. pytest's report names the line the base test failed on; the statement there is looked
for in the head's version of the test.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from leo import parse_expression

Fate = Literal["kept", "updated", "patched", "weakened", "removed"]
#: Calls that are checks: ``assert…`` methods and pytest's helpers.
_CHECK_CALLS = frozenset({"raises", "warns", "fail", "deprecated_call", "approx"})
#: Names that compare equal to anything.
_ANYTHING = frozenset({"ANY", "mock.ANY", "unittest.mock.ANY"})
#: Calls that replace what a test exercises: one the change added can make a kept check pass
#: against a stand-in instead of the code.
_PATCHES = frozenset({"setattr", "setitem", "delattr", "delitem", "patch", "object", "dict",
                      "multiple", "setenv", "syspath_prepend", "chdir"})  # fmt: skip
_MAX_TEXT = 160
#: A name that reads as an exception class (``SelectorSyntaxError``, ``mod.ParseError``).
_EXCEPTION = re.compile(r"(?:\w+\.)*\w*(?:Error|Exception|Warning|Exit|Interrupt)")
#: Exceptions every other one derives from: expecting one of them accepts any failure.
_ANY_EXCEPTION = frozenset({"Exception", "BaseException", "builtins.Exception"})
#: ``== {}`` → ``is None`` is the same comparison with another expected value (packaging 24.0).
_SAME_OP = {"Is": "Eq", "IsNot": "NotEq"}

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class FailedCheck:
    """The statement a base test failed on, and what the change did to it."""

    line: int
    text: str
    """The statement's first line as the base wrote it."""
    fate: Fate
    how: str = ""
    """Why a check counts as weakened (``truthiness``, ``inside try/except``, …)."""

    @property
    def holds(self) -> bool:
        """The check is still there and can still fail: kept, or its expected value updated."""
        return self.fate in ("kept", "updated")


def judge(base: Function, head: Function | None, line: int) -> FailedCheck | None:
    """What the head's version ``head`` of the test ``base`` did to the statement the base
    failed on at ``line``; None when no statement of the test holds that line."""
    stmt = failing_statement(base, line)
    if stmt is None:
        return None
    text = ast.unparse(stmt).splitlines()[0][:_MAX_TEXT]
    if head is None:
        return FailedCheck(stmt.lineno, text, "removed")
    fate, how = _fate(stmt, base, head)
    if fate in ("kept", "updated"):
        added = _patches(head) - _patches(base)
        if added:
            fate, how = "patched", f"`{sorted(added)[0][:_MAX_TEXT]}`"
    return FailedCheck(stmt.lineno, text, fate, how)


def _patches(fn: Function) -> set[str]:
    """The patching calls in a test, decorators included (``monkeypatch.setattr(…)``,
    ``@mock.patch(…)``)."""
    return {ast.unparse(n) for n in ast.walk(fn) if _call_name(n) in _PATCHES}


def failing_statement(fn: Function, line: int) -> ast.stmt | None:
    """The check around ``line`` in ``fn`` (an ``assert``, an ``assert…``/``raises`` call, a
    ``with pytest.raises``), else the innermost statement there."""
    chain = [s for s in _statements(fn.body) if s.lineno <= line <= (s.end_lineno or s.lineno)]
    if not chain:
        return None
    checks = [s for s in chain if _is_check(s)]
    pick = checks or chain
    return min(pick, key=lambda s: (s.end_lineno or s.lineno) - s.lineno)


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue  # a nested helper's statements are not the test's
        yield stmt
        for name in ("body", "orelse", "finalbody"):
            yield from _statements(getattr(stmt, name, []) or [])
        for handler in getattr(stmt, "handlers", []) or []:
            yield from _statements(handler.body)
        for case in getattr(stmt, "cases", []) or []:
            yield from _statements(case.body)


def _call_name(node: ast.AST) -> str:
    if not isinstance(node, ast.Call):
        return ""
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")


def _is_check(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Assert):
        return True
    if isinstance(stmt, ast.Expr):
        name = _call_name(stmt.value)
        return name.lower().startswith("assert") or name in _CHECK_CALLS
    if isinstance(stmt, ast.With | ast.AsyncWith):
        return any(_call_name(i.context_expr) in _CHECK_CALLS for i in stmt.items)
    return False


def _guarded(head: Function) -> dict[int, str]:
    """``id(statement) -> why`` for the head's statements that cannot fail the test."""
    out: dict[int, str] = {}

    def mark(body: list[ast.stmt], why: str) -> None:
        for s in _statements(body):
            out.setdefault(id(s), why)

    for s in _statements(head.body):
        if isinstance(s, ast.Try | ast.TryStar) and s.handlers:
            mark(s.body, "inside try/except")
        elif isinstance(s, ast.With | ast.AsyncWith) and any(
            _call_name(i.context_expr) == "suppress" for i in s.items
        ):
            mark(s.body, "inside contextlib.suppress")
        elif isinstance(s, ast.If | ast.While) and isinstance(s.test, ast.Constant):
            mark(s.body if not s.test.value else s.orelse, "under a condition that never holds")
    return out


def _fate(stmt: ast.stmt, base: Function, head: Function) -> tuple[Fate, str]:
    """Where the failing statement went: the base's and the head's statements are aligned
    (difflib), so a copy of the same check elsewhere in the test (sqlparse's three ``assert res
    == 'select'``) cannot stand in for the one that failed. Aligned unchanged, it is kept; in a
    replaced stretch, the statement there that updates it, else what weakened it; gone, removed."""
    olds, news = list(_statements(base.body)), list(_statements(head.body))
    at = next(i for i, s in enumerate(olds) if s is stmt)
    matcher = difflib.SequenceMatcher(None, _keys(olds), _keys(news), autojunk=False)
    guarded = _guarded(head)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if not i1 <= at < i2:
            continue
        if tag == "equal":
            other = news[j1 + at - i1]
            why = guarded.get(id(other), "")
            if why:
                return "weakened", why
            return ("kept" if ast.unparse(other) == ast.unparse(stmt) else "updated"), ""
        weakened = ""
        for other in news[j1:j2]:
            why = guarded.get(id(other), "")
            if ast.unparse(other) == ast.unparse(stmt):
                if not why:
                    return "kept", ""  # its inputs, the statement before it, changed
                weakened = weakened or why
            elif not _updated(stmt, other, _args(base) | _args(head), _literal_names(head)):
                weakened = weakened or _weaker(stmt, other)
            elif why:
                weakened = weakened or why
            elif _vacuous(other):
                weakened = weakened or "compares with something that always matches"
            elif broader := _broadened(stmt, other):
                weakened = weakened or broader
            else:
                return "updated", ""
        return ("weakened", weakened) if weakened else ("removed", "")
    return "removed", ""


def _keys(stmts: list[ast.stmt]) -> list[str]:
    """The statements as the alignment sees them: a compound statement by its header alone, a
    check together with the statement before it (the same ``assert res == 0`` after other
    inputs is another check)."""
    plain = [
        ast.unparse(s).splitlines()[0] if hasattr(s, "body") else ast.unparse(s) for s in stmts
    ]
    return [
        f"{plain[i - 1]}\n{key}" if i and _is_check(s) else key
        for i, (s, key) in enumerate(zip(stmts, plain, strict=True))
    ]


def _dump(node: ast.AST | None) -> str:
    return ast.unparse(node) if node is not None else ""


def _parts(stmt: ast.stmt) -> tuple[str, str, list[str]] | None:
    """(kind, operator or callee, operands) of a check, for comparing the base's with the head's."""
    if isinstance(stmt, ast.Assert):
        test = stmt.test
        if isinstance(test, ast.Compare):
            ops = " ".join(_SAME_OP.get(type(o).__name__, type(o).__name__) for o in test.ops)
            return "compare", ops, [_dump(test.left), *map(_dump, test.comparators)]
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return "truth", "", [_dump(test.operand)]
        if isinstance(test, ast.Call):
            return "call", _dump(test.func), [*map(_dump, test.args)]
        return "truth", "", [_dump(test)]
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        return "call", _dump(call.func), [*map(_dump, call.args)]
    if isinstance(stmt, ast.With | ast.AsyncWith):
        items = " ".join(_dump(i.context_expr) for i in stmt.items)
        return "with", "", [items, "\n".join(map(ast.unparse, stmt.body))]
    return None


def _updated(
    base: ast.stmt,
    head: ast.stmt,
    params: frozenset[str] = frozenset(),
    literals: frozenset[str] = frozenset(),
) -> bool:
    """The same check on the same subject with its expected value changed (``x == sha1`` →
    ``x == _lazy_sha1``; ``assertEqual(x, 1)`` → ``assertEqual(x, 2)``; ``assert not x`` →
    ``assert x``; ``x == {}`` → ``x is None``), or a ``with pytest.raises`` whose exception or
    body changed. The subject may be wrapped (``x`` → ``list(x)``) or name a renamed parameter
    or local of the test (``field`` → ``field_name``); another subject is another check, even with the
    same expected value (``add(1, 2) == 3`` → ``add(0, 3) == 3``). Written expected value
    first (``assert {…} == d``), the subject is the other side, and the new expected value is
    a literal or a local the head's test binds to one (``literals``: structlog 24.2.0's
    ``expected = {…}; assert expected == d``)."""
    old, new = _parts(base), _parts(head)
    if old is None or new is None:
        return False
    if old[:2] == new[:2] == ("compare", "Eq") and len(old[2]) == len(new[2]) == 2:
        (want, subject), (now_want, now) = old[2], new[2]
        if _literal(want) and not _literal(subject):
            return now == subject and (_literal(now_want) or now_want in literals)
    if old[0] == new[0] == "truth":
        return old[2] == new[2]  # the same operand: the expectation flipped
    if old[:2] != new[:2] or len(old[2]) != len(new[2]) or not old[2]:
        return False
    if old[0] == "with":
        return old[2][0] == new[2][0] or old[2][1] == new[2][1]
    if old[0] == "call" and _exception_swapped(old[2], new[2]):
        return True
    subject, now = old[2][0], new[2][0]
    if _literal(subject) or (old[2][1:] == new[2][1:] and subject == now):
        return False
    return (
        subject == now
        or (subject in now and len(now) > len(subject))
        or _blanked(subject, params) == _blanked(now, params)
    )


def _exception_swapped(old: list[str], new: list[str]) -> bool:
    """One operand of a call check, an exception class, named another and the rest kept:
    ``assert_raises(':before', NotImplementedError)`` → ``…, SelectorSyntaxError)`` (soupsieve
    2.6), ``assertRaises(ValueError, f, 1)`` → ``assertRaises(TypeError, f, 1)``; the call form
    of a ``with pytest.raises`` whose exception changed. Another input is another check."""
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    return len(changed) == 1 and len(old) > 1 and all(map(_exception_name, changed[0]))


def _exception_name(text: str) -> bool:
    """``text`` names an exception class: ``ValueError``, ``errors.SelectorSyntaxError``."""
    return _EXCEPTION.fullmatch(text) is not None


def _args(fn: Function) -> frozenset[str]:
    """The names the test binds: its parameters (fixtures, ``parametrize`` arguments) and its
    local variables (packaging 24.0 renamed ``empty_meta`` to ``meta``); never a module-level
    name such as the function under test."""
    a = fn.args
    params = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]}
    local = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return frozenset(params | local)


def _literal_names(fn: Function) -> frozenset[str]:
    """The locals ``fn`` binds once, to a literal (``expected = {"msg": "message"}``)."""
    bound: dict[str, list[ast.expr]] = {}
    targets: set[int] = set()
    for n in ast.walk(fn):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            bound.setdefault(n.targets[0].id, []).append(n.value)
            targets.add(id(n.targets[0]))
    for n in ast.walk(fn):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and id(n) not in targets:
            bound.setdefault(n.id, []).append(n)  # bound otherwise too: not a literal
    return frozenset(
        name
        for name, values in bound.items()
        if len(values) == 1 and _literal(ast.unparse(values[0]))
    )


def _blanked(text: str, params: frozenset[str]) -> str:
    """``text`` with the test's parameters blanked: ``getattr(m, field)`` ~ ``getattr(m, name)``."""
    try:
        tree = parse_expression(text)
    except SyntaxError:
        return text
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id in params:
            n.id = "_"
    return ast.unparse(tree)


def _literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _vacuous(stmt: ast.stmt) -> bool:
    """A comparison that cannot fail: the same operand on both sides, or ``mock.ANY``."""
    parts = _parts(stmt)
    if parts is None or parts[0] not in ("compare", "call") or len(parts[2]) < 2:
        return False
    operands = parts[2]
    if parts[0] == "call" and not parts[1].rpartition(".")[2].lower().startswith("assert"):
        return False
    return len(set(operands)) == 1 or any(o in _ANYTHING for o in operands)


def _broadened(base: ast.stmt, head: ast.stmt) -> str:
    """Why ``head`` expects any exception where ``base`` expected a named one (``pytest.raises(
    ValueError)`` → ``pytest.raises(Exception)``), or ``""``: it then passes on any failure."""

    def names(stmt: ast.stmt) -> set[str]:
        return {ast.unparse(n) for n in ast.walk(stmt) if isinstance(n, ast.Name | ast.Attribute)}

    old, new = names(base), names(head)
    gone = sorted(n for n in old - new if _exception_name(n) and n not in _ANY_EXCEPTION)
    if gone and (new - old) & _ANY_EXCEPTION:
        return f"expects any exception in place of {gone[0]}"
    return ""


def _weaker(base: ast.stmt, head: ast.stmt) -> str:
    """Why ``head`` is ``base`` made unable to fail, or ``""`` when it is another statement:
    ``assert x == y`` reduced to ``assert x``."""
    old = _parts(base)
    if old is None or old[0] != "compare" or not isinstance(head, ast.Assert):
        return ""
    if isinstance(head.test, ast.Compare):
        return ""
    return "truthiness in place of a comparison" if _dump(head.test) in old[2] else ""
