"""Complexity findings: functions the change made more complex, modules it made harder to maintain.

Base and head are compared per function (matched by qualified name, or by body for a function
renamed in its file), so a function that was already complex never blocks for being touched,
left alone or simplified; only a new function over the limit, or growth beyond a configurable
step (issue 18).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Literal

from leo import ChangedFile, Finding
from leo_design.functions import Function
from leo_design.settings import DesignSettings

#: A module already near the minimum maintainability that slips under it by less than this many
#: points is not made unmaintainable by the change (click 8.1.8: 20.4 -> 19.3).
MAINTAINABILITY_STEP = 5.0


def touched(function: Function, changed: ChangedFile | None) -> bool:
    """True when the change adds or modifies a line of ``function`` (at the head)."""
    if changed is None:
        return False
    return any(changed.is_changed_line(n) for n in range(function.line, function.end_line + 1))


def complexity_findings(
    path: str,
    base: Sequence[Function] | None,
    head: Sequence[Function],
    changed: ChangedFile | None,
    settings: DesignSettings,
    texts: tuple[str | None, str] = (None, ""),
    *,
    as_code: bool = False,
) -> list[Finding]:
    """Findings for the functions of ``path`` the change made too complex; ``texts`` are the
    file's base and head text, to know a function renamed in place; ``as_code``: a module
    named like a test that the code imports, never test code."""
    old = {f.key: f for f in base or ()}
    now = {f.key: f.complexity for f in head}
    # Functions whose body may have moved: gone from the head, or left with at most half its
    # complexity there (babel 2.19.0 kept ``unquote_string`` as a deprecated wrapper of its body,
    # renamed ``_unquote_string``). One that keeps more kept its body: a copy beside it is new
    # (round-7 red team: ``legacy`` 19 -> 18 made a new ``process`` of 24 "renamed", info).
    gone = [f for f in old.values() if now.get(f.key, -1) <= f.complexity // 2]
    findings = []
    for f in head:
        if touched(f, changed):
            was = old.get(f.key)
            if was is None and f.complexity > settings.max_complexity:
                was = _renamed_from(f, gone, texts)
            finding = _judge(path, f, was, settings)
            if (
                finding is not None
                and not as_code
                and is_test(path, head)
                and finding.severity in ("high", "medium")
            ):
                # radon counts every assert as a branch: a long straight-line test is not
                # complex code (click 8.1.8's test_help_param_priority scored 26).
                finding = finding.model_copy(update={"severity": "low"})
            if finding is not None:
                findings.append(finding)
    return findings


#: How alike a function new to a file by name and one whose body the change took out must be to
#: be one function renamed: difflib's ratio over their bodies' stripped, non-blank lines after the
#: ``def`` line (babel 2.19.0 renamed ``unquote_string`` to ``_unquote_string`` and gave it one
#: more escape; it was "new with complexity 16").
RENAMED_ALIKE = 0.6


def _renamed_from(
    f: Function, gone: list[Function], texts: tuple[str | None, str]
) -> Function | None:
    """The function of ``gone`` (at the base; gone from the head or simpler there) whose body
    ``f`` carries on, renamed: the most alike at ``RENAMED_ALIKE`` or more, taken out of
    ``gone``. A new function that only looks
    like a removed one is then judged by its growth, which still blocks past the step."""
    base_text, head_text = texts
    if base_text is None or not gone:
        return None
    body = _body(head_text.splitlines(), f)
    base_lines = base_text.splitlines()
    best, score = None, RENAMED_ALIKE
    for old in gone:
        matcher = difflib.SequenceMatcher(None, _body(base_lines, old), body, autojunk=False)
        if matcher.real_quick_ratio() >= score and matcher.quick_ratio() >= score:
            ratio = matcher.ratio()
            if ratio >= score:
                best, score = old, ratio
    if best is not None:
        gone.remove(best)
    return best


def _body(lines: list[str], f: Function) -> list[str]:
    return [line.strip() for line in lines[f.line : f.end_line] if line.strip()]


#: Folders whose files are test code by their place.
_TEST_FOLDERS = frozenset({"tests", "test", "testing"})


def is_test(path: str, functions: Sequence[Function]) -> bool:
    """Test code, by the conventions pytest and unittest discover: a tests directory, or a
    ``test_*`` module that holds a test (``test*``, a ``Test*`` class). One that holds none is
    code like any other (round-6 red team: a new ``rule()`` of complexity 25 in the package's
    ``shop/test_rules.py``, which ``shop/__init__`` imports, was low); celery's helpers in its
    ``t/`` test modules stay test code."""
    parts = PurePosixPath(path).parts
    file = parts[-1] if parts else ""
    if _TEST_FOLDERS & set(parts[:-1]):
        return True
    return file.startswith("test_") and any(f.name.lower().startswith("test") for f in functions)


def _judge(
    path: str, f: Function, before: Function | None, settings: DesignSettings
) -> Finding | None:
    """The finding for one touched function that was ``before`` at the base.

    Holds the line as issue 18 words it: a **new** function over the limit, or a changed one
    that grows by more than ``max_complexity_growth`` in this change, blocks; touching a complex
    function never does. A changed function this change carries over the limit by a growth
    within the step (jinja2 3.1.5's ``Parser.parse_primary`` 10 -> 12, werkzeug 3.0.4's
    ``render_traceback_html`` 10 -> 11) is reported ``low``: visible, never a gate. Growth is
    ``high`` only when this change carries the function over ``fail_complexity``; one that was
    already over it at the base grows for a LEAD to judge (tabulate 0.9.0's
    ``_normalize_tabular_data`` 61 -> 72 FAILed a release for a problem it did not create).
    """
    limit, step = settings.max_complexity, settings.max_complexity_growth
    severity: Literal["high", "medium"] = (
        "high" if f.complexity > settings.fail_complexity else "medium"
    )
    if before is None:
        if f.complexity <= limit:
            return None
        message = f"{f.name} is new with cyclomatic complexity {f.complexity} (limit {limit})"
        return _finding("design.complexity", severity, message, path, f)
    was = before.complexity
    if f.complexity < was:
        return None
    name = f.name if before.name == f.name else f"{f.name} (renamed from {before.name})"
    grew = f"{name} grew from cyclomatic complexity {was} to {f.complexity}"
    if f.complexity - was > step:
        if was > settings.fail_complexity:
            severity = "medium"
        return _finding(
            "design.complexity-growth",
            severity if f.complexity > limit else "low",
            f"{grew} (more than {step} in one change)",
            path,
            f,
            fix="move the new branches into helper functions",
        )
    if f.complexity > limit >= was:
        message = (
            f"{name} rose from cyclomatic complexity {was} to {f.complexity} (limit {limit}); "
            f"growth within the step of {step}"
        )
        return _finding("design.complexity", "low", message, path, f)
    if f.complexity > limit:
        if f.complexity == was:  # touched, not grown (tinycss2 1.3.0's 52-branch tokenizer)
            grew = f"{name} kept cyclomatic complexity {was}"
        message = f"{grew}; it was already over the limit of {limit} at the base"
        return _finding("design.complexity", "info", message, path, f, on_change=False)
    return None


def _finding(
    rule: str,
    severity: Literal["high", "medium", "low", "info"],
    message: str,
    path: str,
    f: Function,
    *,
    fix: str = "split the function into smaller ones or simplify its branching",
    on_change: bool = True,
) -> Finding:
    return Finding(
        rule_id=rule,
        severity=severity,
        message=message,
        path=path,
        line=f.line,
        end_line=f.end_line,
        fix=fix,
        on_changed_line=on_change,
    )


def maintainability_findings(
    path: str,
    base: float | None,
    head: float | None,
    settings: DesignSettings,
    functions: Sequence[Function],
    *,
    as_code: bool = False,
) -> list[Finding]:
    """Findings for a Python module whose maintainability index the change lowered. In test
    code (not ``as_code``) at most ``low``, as for complexity: the index counts every ``assert`` as a branch
    (docopt-ng 0.9.0's new 1,100-line ``tests/test_docopt.py`` scored 10.6)."""
    if head is None or (base is not None and head >= base):
        return []
    before = f"{base:.1f}" if base is not None else "none (new file)"
    if head < settings.min_maintainability and (
        base is None
        or (base >= settings.min_maintainability and base - head >= MAINTAINABILITY_STEP)
    ):
        test = not as_code and is_test(path, functions)
        return [
            Finding(
                rule_id="design.maintainability",
                severity="low" if test else "medium",
                message=(
                    f"maintainability index fell to {head:.1f} from {before} "
                    f"(minimum {settings.min_maintainability:g})"
                    + (" [test code: every assert counts as a branch]" if test else "")
                ),
                path=path,
                fix="split the module or its largest functions",
            )
        ]
    if base is not None and base - head > settings.max_maintainability_drop:
        return [
            Finding(
                rule_id="design.maintainability-drop",
                severity="low",
                message=(
                    f"maintainability index dropped by {base - head:.1f} points, "
                    f"from {base:.1f} to {head:.1f} (more than {settings.max_maintainability_drop:g})"
                ),
                path=path,
            )
        ]
    return []
