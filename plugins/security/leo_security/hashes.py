"""Weak-hash findings on a lazy hash constructor: the use decides, not the wrapper (issue 18).

flask 3.0.3 and itsdangerous 2.2.0 replaced ``digest_method = staticmethod(hashlib.sha1)`` by
``staticmethod(_lazy_sha1)``, where ``def _lazy_sha1(string=b""): return hashlib.sha1(string)``
defers the lookup for FIPS builds. bandit (B324) and the ``weak-hash`` rule see a *call* of
``hashlib.sha1`` and flag it; neither flags ``hashlib.sha1`` passed as a value, because only the
use of a digest says whether it is weak for its purpose (SHA-1 as an HMAC digest is not
CWE-327). So a weak-hash finding inside such a wrapper is ``low`` context when the wrapper is only
ever passed as a value: a function whose whole body is ``return hashlib.<name>(<its own
parameters>)``, that no changed Python file calls by name. Called anywhere in the change
(``_lazy_md5(password)``), its finding keeps its severity.
"""

from __future__ import annotations

import ast
import contextlib
from typing import TYPE_CHECKING

from leo import parse_python

if TYPE_CHECKING:
    from leo import Finding

#: Rules that flag a call of a weak hash constructor.
RULES = frozenset({"security.bandit.B324", "security.bandit.B303", "security.semgrep.weak-hash"})
NOTE = (
    " [a hash constructor wrapped for lazy lookup and only passed as a value ({name}), as"
    " `hashlib.sha1` itself would be: low; where it is used decides]"
)


def _parse(data: bytes) -> ast.Module | None:
    with contextlib.suppress(SyntaxError, ValueError, RecursionError, MemoryError):
        return parse_python(data)
    return None


def _wrapper(fn: ast.FunctionDef) -> bool:
    """``def f(a, b=...): [docstring] return hashlib.X(a, b)`` and nothing else."""
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return False
    call = body[0].value
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "hashlib"
    ):
        return False
    params = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)]
    passed = [a.id for a in call.args if isinstance(a, ast.Name)]
    passed += [k.value.id for k in call.keywords if isinstance(k.value, ast.Name)]
    return len(passed) == len(call.args) + len(call.keywords) and sorted(passed) == sorted(params)


def _called(trees: list[ast.Module]) -> set[str]:
    """Every name called directly (``f(...)``) or as an attribute (``m.f(...)``)."""
    out = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Name):
                    out.add(node.func.id)
                elif isinstance(node.func, ast.Attribute):
                    out.add(node.func.attr)
    return out


def calibrate(findings: list[Finding], contents: dict[str, bytes]) -> list[Finding]:
    """``findings`` with weak-hash findings inside never-called lazy constructors made ``low``."""
    hits = {n for n, f in enumerate(findings) if f.rule_id in RULES and f.path and f.line}
    if not hits:
        return findings
    trees = {p: t for p, d in contents.items() if p.endswith(".py") and (t := _parse(d))}
    called = _called(list(trees.values()))
    lowered: dict[int, str] = {}
    for n, f in enumerate(findings):
        tree = trees.get(f.path or "") if n in hits else None
        if tree is None:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.FunctionDef)
                and node.lineno <= (f.line or 0) <= (node.end_lineno or node.lineno)
                and node.name not in called
                and _wrapper(node)
            ):
                lowered[n] = node.name
    return [
        f.model_copy(update={"severity": "low", "message": f.message + NOTE.format(name=name)})
        if (name := lowered.get(n)) and f.severity not in ("low", "info")
        else f
        for n, f in enumerate(findings)
    ]
