"""Coverage of the changed lines: a coverage report's line data mapped onto the change's hunks.

The report (Cobertura XML from coverage.py or any other tool, or LCOV) says which lines are
executable and which ran; the ``Change`` says which lines were added. A changed Python file
that no test imported is absent from coverage.py's report; its executable lines then come from
coverage.py's own parser, all of them uncovered.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from leo import Change, Finding, Hunk, parse_python
from leo_testing.junit import ReportError, clean
from leo_testing.settings import Severity

#: Below this many added executable lines a percentage is noise (3 of 4 lines is 75%): small
#: changes are judged by how many lines no test runs (issue 18).
SMALL_CHANGE_LINES = 20

LineHits = dict[str, dict[int, int]]
"""Repository path -> line -> times it ran."""
_MAX_LINE = 10_000_000
#: Folders of a repository that hold programs run by hand, not code a test imports (colorama's
#: demos/, wcwidth's bin/, pluggy's scripts/); measured anyway when they are a package.
NOT_PACKAGE_DIRS = frozenset(
    {"bin", "scripts", "script", "demos", "demo", "examples", "example", "tools", "tasks",
     "benchmarks", "benchmark", "bench", "ci", ".github"}
)  # fmt: skip
#: A package's ``__main__.py`` runs as ``python -m package``: a program, which tests run in a
#: subprocess coverage does not follow (chardet 5.2.0's); measured when a test did run it.
RUN_AS_PROGRAM = "a package's __main__.py, run as a program (python -m), which no test ran"
#: coverage.py's own default exclusion (a ``# pragma: no cover`` comment).
PRAGMA = r"#\s*(pragma|PRAGMA)[:\s]?\s*(no|NO)\s*(cover|COVER)"
DEFAULT_EXCLUDE = (
    PRAGMA,
    r"^\s*(((async )?def .*?)?[\])]+(\s*->.*?)?:\s*)?\.\.\.\s*(#|$)",
    r"^\s*if (typing\.)?TYPE_CHECKING:",
)


def _repo_path(name: str, sources: Sequence[str], root: Path) -> str | None:
    """``name`` as a path relative to ``root`` (POSIX), or None when it lies outside."""
    root_text = os.path.normpath(str(root))
    candidates = [name] if os.path.isabs(name) else [os.path.join(s, name) for s in sources]
    candidates.append(os.path.join(root_text, name))
    for candidate in candidates:
        full = os.path.normpath(
            candidate if os.path.isabs(candidate) else os.path.join(root_text, candidate)
        )
        if full == root_text or not full.startswith(root_text + os.sep):
            continue
        return Path(os.path.relpath(full, root_text)).as_posix()
    return None


def parse_cobertura(data: bytes, root: Path) -> LineHits:
    """Line hits from Cobertura XML (coverage.py's ``--cov-report=xml``), parsed defused."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        doc = fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        msg = f"the coverage report is not well-formed, safe XML ({type(exc).__name__})"
        raise ReportError(msg) from None
    if doc.tag != "coverage":
        msg = f"the coverage report's root is <{clean(doc.tag, 50)}>, not Cobertura's <coverage>"
        raise ReportError(msg)
    sources = [(s.text or "").strip() for s in doc.iter("source") if (s.text or "").strip()]
    hits: LineHits = {}
    for cls in doc.iter("class"):
        path = _repo_path(cls.get("filename") or "", sources, root)
        if path is None:
            continue
        lines = hits.setdefault(path, {})
        for line in cls.iter("line"):
            number, count = line.get("number", ""), line.get("hits", "")
            if number.isdigit() and count.isdigit() and 0 < int(number) < _MAX_LINE:
                lines[int(number)] = max(lines.get(int(number), 0), int(count))
    return hits


def parse_lcov(data: bytes, root: Path) -> LineHits:
    """Line hits from an LCOV tracefile (``SF:`` / ``DA:line,hits`` / ``end_of_record``)."""
    hits: LineHits = {}
    current: dict[int, int] | None = None
    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("SF:"):
            path = _repo_path(line[3:], [], root)
            current = hits.setdefault(path, {}) if path is not None else None
        elif line.startswith("DA:") and current is not None:
            parts = line[3:].split(",")
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].lstrip("-").isdigit():
                number, count = int(parts[0]), max(int(parts[1]), 0)
                if 0 < number < _MAX_LINE:
                    current[number] = max(current.get(number, 0), count)
        elif line == "end_of_record":
            current = None
    return hits


def parse_report(data: bytes, root: Path) -> LineHits:
    """Cobertura XML or LCOV, told apart by content."""
    head = data.lstrip()[:200]
    if head.startswith(b"<"):
        return parse_cobertura(data, root)
    if b"SF:" in data[:65536] or head.startswith((b"TN:", b"SF:")):
        return parse_lcov(data, root)
    msg = "the coverage report is neither Cobertura XML nor LCOV"
    raise ReportError(msg)


def python_statements(source: bytes, exclude: Sequence[str] = (PRAGMA,)) -> set[int] | None:
    """Executable lines of a Python file by coverage.py's parser with the ``exclude`` regexes
    (None if it does not parse)."""
    from coverage.exceptions import CoverageException
    from coverage.python import PythonParser

    pattern = "|".join(f"(?:{e})" for e in exclude) if exclude else None
    try:
        parser = PythonParser(text=source.decode("utf-8"), exclude=pattern)
        parser.parse_source()
    except (CoverageException, SyntaxError, UnicodeDecodeError, ValueError, re.error):
        return None
    return set(parser.statements)


# --- What is measured: the project's importable code, as the base's coverage settings say ----


@dataclass(frozen=True)
class CoverageConfig:
    """The coverage.py settings that decide which lines count, read from one side's files."""

    source: tuple[str, ...] = ()
    omit: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE

    @classmethod
    def from_options(cls, options: Mapping[str, tuple[str, ...]]) -> CoverageConfig:
        """From ``section.key`` options (``harness.coverage_options``)."""

        def listed(key: str) -> tuple[str, ...]:
            return tuple(p.strip() for e in options.get(key, ()) for p in e.split(",") if p.strip())

        exclude = options.get("report.exclude_lines") or DEFAULT_EXCLUDE
        return cls(
            source=listed("run.source") + listed("run.source_pkgs"),
            omit=listed("run.omit") + listed("report.omit"),
            exclude=tuple(exclude) + tuple(options.get("report.exclude_also", ())),
        )


def not_measured(path: str, config: CoverageConfig, packages: set[str]) -> str | None:
    """Why ``path`` lies outside the code the project's tests measure, or None when it is inside.

    ``config`` is the base's (a change cannot shrink what is measured by editing it);
    ``packages`` are the folders with an ``__init__.py`` at the base or the head."""
    parts = path.split("/")
    if config.source:
        roots = {
            s.removeprefix("./").strip("/").replace(".", "/")
            for s in config.source
            if s.removeprefix("./").strip("/") not in ("", ".")
        }
        if len(roots) == len(config.source) and not any(
            path.startswith(f"{r}/")
            or path.startswith(f"src/{r}/")
            or path in (f"{r}.py", f"src/{r}.py")
            for r in roots
        ):
            return f"outside the base's coverage source ({', '.join(config.source[:5])})"
    for pattern in config.omit:
        if omitted(path, [pattern.removeprefix("./"), pattern.removeprefix("*/")]):
            return f"omitted by the base's coverage settings ({pattern})"
    top = parts[1] if parts[0] == "src" and len(parts) > 2 else parts[0]
    if len(parts) > 1 and top in NOT_PACKAGE_DIRS and top not in packages:
        return f"in {top}/, a folder of programs run by hand, not a package a test imports"
    return None


def package_dirs(paths: Sequence[str]) -> list[str]:
    """The ``__init__.py`` files whose presence makes a changed file's top folder a package."""
    out = []
    for path in paths:
        parts = path.split("/")
        top = parts[:2] if parts[0] == "src" and len(parts) > 2 else parts[:1]
        if len(parts) > len(top):
            out.append("/".join([*top, "__init__.py"]))
    return sorted(set(out))


# --- Lines a change excluded: a ``# pragma: no cover`` or exclusion it added counts anyway ----


def excluded_by_change(
    source: bytes, added: set[int], base: CoverageConfig, head: CoverageConfig
) -> set[int]:
    """Added lines the head's exclusions hide that the base's rules, with the pragmas the change
    added removed, count: the change cannot shrink its own denominator (issue 17)."""
    lines = source.split(b"\n")
    pragma = re.compile(PRAGMA.encode())
    neutral = b"\n".join(
        pragma.sub(b"#", line) if n in added else line for n, line in enumerate(lines, 1)
    )
    by_base = python_statements(neutral, base.exclude)
    by_head = python_statements(source, head.exclude)
    if by_base is None or by_head is None:
        return set()
    return (by_base - by_head) & added - never_run(source)


def never_run(source: bytes) -> set[int]:
    """Lines no test can run whatever the coverage settings: ``@overload`` stubs, which the
    final definition replaces, and ``if TYPE_CHECKING:`` blocks (pyjwt 2.9.0 marked its new
    overloads ``# pragma: no cover``; that pragma hides nothing). Only ``typing``'s (or
    ``typing_extensions``') own names count: a home-made ``overload`` or ``TYPE_CHECKING =
    True`` runs its code, so a pragma on it still counts."""
    try:
        tree = parse_python(source)
    except (SyntaxError, ValueError):
        return set()
    typing = _typing_names(tree)
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            typing(d) == "overload" for d in node.decorator_list
        ):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines.update(range(start, (node.end_lineno or node.lineno) + 1))
        elif isinstance(node, ast.If) and typing(node.test) == "TYPE_CHECKING":
            lines.update(range(node.lineno, (node.body[-1].end_lineno or node.lineno) + 1))
    return lines


_TYPING = ("typing", "typing_extensions")


def _typing_names(tree: ast.Module) -> Callable[[ast.expr], str]:
    """Which of ``typing``'s ``overload``/``TYPE_CHECKING`` an expression of ``tree`` names
    (``""`` for anything else): imported from ``typing`` and never bound again in the file."""
    names: dict[str, str] = {}
    modules: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in _TYPING:
            for a in node.names:
                if a.name in ("overload", "TYPE_CHECKING"):
                    names[a.asname or a.name] = a.name
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name in _TYPING}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)

    def name(node: ast.expr) -> str:
        if isinstance(node, ast.Name) and node.id not in bound:
            return names.get(node.id, "")
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr in ("overload", "TYPE_CHECKING")
        ):
            return node.attr
        return ""

    return name


# --- Hold the line: uncovered code no test ran at the base either is pre-existing debt ------

MODULE = "<module>"


@dataclass(frozen=True)
class Scopes:
    """The functions of one Python file: each line's innermost function, and their bodies."""

    bodies: dict[str, tuple[tuple[int, int], ...]]
    """Qualified name -> first and last line of each body by that name (``@overload``s)."""
    code: dict[int, str]
    """Line -> its code without comments and spacing (for a line changed only in those)."""
    statements: dict[int, tuple[str, tuple[int, int]]] = field(default_factory=dict)
    """Line -> the simple statement on it, as ``statement_keys`` writes it, and its first and
    last line (for a statement only reflowed or reworded into ``msg = …; raise E(msg)``)."""

    def of(self, line: int) -> str:
        inside = [
            (a, name) for name, spans in self.bodies.items() for a, b in spans if a <= line <= b
        ]
        return max(inside)[1] if inside else MODULE

    def ran(self, scope: str, hits: Mapping[int, int]) -> bool:
        """Did any line of ``scope`` run (the module's own lines for ``MODULE``)?"""
        if scope != MODULE:
            spans = self.bodies[scope]
            return any(count and a <= n <= b for n, count in hits.items() for a, b in spans)
        return any(count and self.of(n) == MODULE for n, count in hits.items())


def _message_raise(assign: ast.stmt, after: ast.stmt) -> ast.Raise | None:
    """``msg = <text>`` then ``raise E(msg)`` (ruff's EM101/EM102 fix) as ``raise E(<text>)``,
    or None when the two statements are not that pair."""
    if not (
        isinstance(assign, ast.Assign)
        and len(assign.targets) == 1
        and isinstance(name := assign.targets[0], ast.Name)
        and isinstance(after, ast.Raise)
        and isinstance(call := after.exc, ast.Call)
    ):
        return None
    uses = [n for n in ast.walk(after) if isinstance(n, ast.Name) and n.id == name.id]
    if len(uses) != 1 or uses[0] not in call.args:
        return None
    args = [assign.value if arg is uses[0] else arg for arg in call.args]
    return ast.Raise(exc=ast.Call(call.func, args, call.keywords), cause=after.cause)


def statement_keys(block: Sequence[ast.stmt]) -> list[tuple[str, tuple[int, int]]]:
    """The simple statements of ``block``, each as its AST without positions (so a reflowed
    statement keeps its key) and its first and last line; a ``msg = …; raise E(msg)`` pair is
    one statement, keyed as the ``raise E(…)`` it rewrote."""
    keys: list[tuple[str, tuple[int, int]]] = []
    skip = False
    for stmt, after in zip(block, [*block[1:], None], strict=False):
        if skip:
            skip = False
            continue
        if any(isinstance(getattr(stmt, f, None), list) for f in ("body", "handlers", "cases")):
            continue  # a compound statement: its lines are judged by their own statements
        pair = _message_raise(stmt, after) if after is not None else None
        last = (after if pair is not None else stmt).end_lineno or stmt.lineno
        keys.append((ast.dump(pair or stmt), (stmt.lineno, last)))
        skip = pair is not None
    return keys


def scopes(source: bytes | None) -> Scopes | None:
    """The ``Scopes`` of ``source``, or None when it is not Python."""
    import ast
    import io
    import tokenize

    if source is None:
        return None
    try:
        tree = parse_python(source)
        tokens = list(tokenize.tokenize(io.BytesIO(source).readline))
    except (SyntaxError, ValueError, tokenize.TokenError):
        return None
    bodies: dict[str, tuple[tuple[int, int], ...]] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                span = (child.body[0].lineno, child.end_lineno or child.lineno)
                bodies[name] = (*bodies.get(name, ()), span)
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    statements: dict[int, tuple[str, tuple[int, int]]] = {}
    for node in ast.walk(tree):
        for block in (getattr(node, f, None) for f in ("body", "orelse", "finalbody")):
            if isinstance(block, list):
                for key, (first, last) in statement_keys(block):
                    statements.update({n: (key, (first, last)) for n in range(first, last + 1)})
    code: dict[int, list[str]] = {}
    for tok in tokens:
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER):  # fmt: skip
            code.setdefault(tok.start[0], []).append(tok.string)
    return Scopes(bodies, {n: " ".join(parts) for n, parts in code.items()}, statements)


def wants_base_run(change: Change, report: bytes | None, root: Path, omit: Sequence[str]) -> bool:
    """Is a coverage run at the base worth its time? Only when the head's report leaves an
    added line of a ``.py`` file the base already had unrun (or the file unreported)."""
    if report is None:
        return False
    try:
        hits = parse_report(report, root)
    except ReportError:
        return False
    for f in change.files:
        if (
            f.status == "added"
            or not f.path.endswith(".py")
            or not f.is_regular
            or not f.added_lines
            or omitted(f.path, omit)
        ):
            continue
        lines = hits.get(f.path)
        if lines is None or any(lines.get(n) == 0 for n in f.added_lines):
            return True
    return False


def imported_early(scopes: Scopes, hits: Mapping[int, int]) -> bool:
    """Was the module imported before coverage started? Its functions ran under coverage and
    none of its own lines did, though importing runs them (its ``def`` lines at least): pytest
    imports pluggy, and any module a pytest plugin imports, before pytest-cov starts."""
    return any(hits.values()) and not scopes.ran(MODULE, hits)


@dataclass(frozen=True)
class BaseEvidence:
    """What the base's own tests ran of the base's own code (a coverage run at the base)."""

    hits: LineHits
    sources: Mapping[str, bytes | None]
    """Base contents of the changed files, by base path."""


def replaced_lines(hunks: Sequence[Hunk]) -> dict[int, int]:
    """Head line -> the base line it replaced, one for one, in hunks that replaced as many lines
    as they removed (a comment edited on each of them)."""
    return {
        h.new_start + i: h.old_start + i
        for h in hunks
        if h.old_lines == h.new_lines
        for i in range(h.new_lines)
    }


def debt(
    line: int,
    head: Scopes,
    head_hits: Mapping[int, int],
    base: Scopes | None,
    base_hits: Mapping[int, int],
    replaced: Mapping[int, int] | None = None,
) -> str | None:
    """Why uncovered ``line`` is pre-existing debt, or None when it is the change's.

    Debt is a line whose code the change altered only in comments or spacing and that the base's
    tests did not run either, or a line in a function (or module body) that existed at the base
    and that no test ran at the base nor at the head. ``replaced`` (``replaced_lines``) pairs a
    head line with the base line it replaced."""
    if base is None:
        return None
    scope = head.of(line)
    text = head.code.get(line)
    # The base line this one replaced has the same code and did not run: parso 0.8.4 narrowed a
    # ``# type: ignore`` on one of two ``return module_node`` of Grammar.parse, and the other ran.
    old = (replaced or {}).get(line)
    edited = "the same code, unrun at the base too (the change edited only comments or spacing)"
    if old is not None and text and base.code.get(old) == text and base.of(old) == scope:
        return None if base_hits.get(old) else edited
    same = [n for n, t in base.code.items() if t == text and base.of(n) == scope]
    # As many copies at the head as at the base, none run at the base: only comments or
    # spacing changed (platformdirs 4.2.1 added lint comments to its Windows-only imports).
    if text and same and not any(base_hits.get(n) for n in same):
        copies = sum(1 for n, t in head.code.items() if t == text and head.of(n) == scope)
        if copies <= len(same):
            return edited
    # The same statement reflowed over other lines, or its message moved into ``msg`` (ruff's
    # EM101/EM102 fix; prettytable 3.10.0 rewrote 30 unrun raises so): as many copies, none run.
    if line in head.statements:
        key = head.statements[line][0]
        spans = {span for k, span in base.statements.values() if k == key}
        twins = [span for span in spans if base.of(span[0]) == scope]
        ran = any(base_hits.get(n) for a, b in twins for n in range(a, b + 1))
        copies = {s for k, s in head.statements.values() if k == key and head.of(s[0]) == scope}
        if twins and not ran and len(copies) <= len(twins):
            return "the same statement, unrun at the base too (the change only reworded its form)"
    exists = scope == MODULE or scope in base.bodies
    if exists and not base.ran(scope, base_hits) and not head.ran(scope, head_hits):
        where = (
            "the module's own code (run on import; a module imported before coverage started, "
            "as pytest imports pluggy, shows none)"
            if scope == MODULE
            else f"{scope}()"
        )
        return f"{where} ran in no test at the base either"
    return None


@dataclass
class FileCoverage:
    """Added executable lines of one file, and which of them no test ran."""

    path: str
    executable: list[int]
    uncovered: list[int]
    reported: bool
    """False when the file was absent from the report (no test imported it)."""
    excluded: list[int] = field(default_factory=list)
    """Added lines only the change's own exclusions hid (counted, and uncovered unless run)."""
    debt: dict[int, str] = field(default_factory=dict)
    """Uncovered added lines the base's tests did not run either, with why: not judged."""
    early: list[int] = field(default_factory=list)
    """Module-level added lines of a module imported before coverage started: not measurable."""
    gated: dict[int, str] = field(default_factory=dict)
    """Uncovered added lines the tests' interpreter or platform can never run, with the guard
    (``reachable``): not measurable here."""


@dataclass
class ChangedCoverage:
    """Coverage of the change's added executable lines."""

    files: list[FileCoverage] = field(default_factory=list)
    unmeasured: dict[str, str] = field(default_factory=dict)
    """Changed files that could not be measured, with the reason."""
    outside: dict[str, str] = field(default_factory=dict)
    """Changed files outside the code the tests measure (demos, scripts), with the reason."""

    @property
    def executable(self) -> int:
        return sum(len(f.executable) for f in self.files)

    @property
    def covered(self) -> int:
        return self.executable - sum(len(f.uncovered) for f in self.files)

    @property
    def percent(self) -> float | None:
        """Covered share of the added executable lines, or None when there are none."""
        return round(100.0 * self.covered / self.executable, 1) if self.executable else None


def ranges(lines: Sequence[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    spans: list[list[int]] = []
    for n in sorted(lines):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def omitted(path: str, patterns: Sequence[str]) -> bool:
    """True when ``path`` matches one of ``patterns`` (fnmatch; ``*`` also matches ``/``)."""
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def measure(
    change: Change,
    hits: LineHits,
    sources: Mapping[str, bytes | None],
    omit: Sequence[str],
    *,
    base_config: CoverageConfig | None = None,
    head_config: CoverageConfig | None = None,
    packages: frozenset[str] = frozenset(),
    base: BaseEvidence | None = None,
    gated: Mapping[str, Mapping[int, str]] | None = None,
    code: frozenset[str] = frozenset(),
) -> ChangedCoverage:
    """Map ``hits`` onto the change's added lines; ``sources`` are the head contents of the
    changed ``.py`` files. Files outside what the base's coverage settings measure are set
    aside, lines the change itself excluded count, with ``base`` an uncovered line that
    the base's tests did not run either is debt, not the change's, and an uncovered line in
    ``gated`` (path -> line -> why) cannot run on the tests' interpreter and is left out.
    ``code`` (modules named like tests that the code imports) count whatever ``omit`` says."""
    base_config = base_config or CoverageConfig()
    head_config = head_config or CoverageConfig()
    result = ChangedCoverage()
    for changed in change.files:
        path = changed.path
        if not changed.is_regular or changed.binary or not changed.added_lines:
            continue
        if omitted(path, omit) and path not in code:
            continue
        why = not_measured(path, base_config, set(packages))
        ran = any(hits.get(path, {}).values())  # coverage lists a source file it never ran
        if why is None and not ran and PurePosixPath(path).name == "__main__.py":
            why = RUN_AS_PROGRAM
        if why is not None:
            if path.endswith(".py") or path in hits:
                result.outside[path] = why
            continue
        added = set(changed.added_lines)
        source = sources.get(path)
        lines = hits.get(path, {})
        if path in hits:
            executable = added & lines.keys()
        elif path.endswith(".py"):
            statements = python_statements(source or b"", head_config.exclude)
            if statements is None:
                result.unmeasured[path] = "not valid Python, so its executable lines are unknown"
                continue
            executable = added & statements
        else:
            continue
        excluded: set[int] = set()
        if path.endswith(".py") and source is not None:
            excluded = excluded_by_change(source, added, base_config, head_config) - executable
        executable |= excluded
        unreachable = (gated or {}).get(path, {})
        aside = {n: unreachable[n] for n in executable if n in unreachable and not lines.get(n)}
        executable -= aside.keys()
        uncovered = [n for n in sorted(executable) if not lines.get(n)]
        debts: dict[int, str] = {}
        head_scopes = scopes(source) if uncovered and path.endswith(".py") else None
        early: list[int] = []
        if head_scopes is not None and imported_early(head_scopes, lines):
            early = [n for n in uncovered if head_scopes.of(n) == MODULE]
        if base is not None and head_scopes is not None:
            old = changed.old_path or path
            base_scopes = scopes(base.sources.get(old))
            replaced = replaced_lines(changed.hunks)
            for n in uncovered:
                reason = debt(n, head_scopes, lines, base_scopes, base.hits.get(old, {}), replaced)
                if reason is not None and n not in early:
                    debts[n] = reason
        result.files.append(
            FileCoverage(
                path,
                [n for n in sorted(executable) if n not in debts and n not in early],
                [n for n in uncovered if n not in debts and n not in early],
                reported=path in hits,
                excluded=sorted(excluded),
                debt=debts,
                early=early,
                gated=dict(sorted(aside.items())),
            )
        )
    return result


def judge(
    measured: ChangedCoverage, threshold: float, severity: Severity
) -> tuple[list[Finding], str]:
    """The findings for ``measured``, and what to add to the summary.

    A change of ``SMALL_CHANGE_LINES`` added executable lines or more is judged by its
    percentage. A smaller one is judged by count: it may leave its share at the threshold
    uncovered, and at least one line (six 1.17.0 covered 3 of 4), listed as ``low`` findings
    that never gate; more, or none of its lines run at all, is ``severity``.
    """
    percent = measured.percent
    if percent is None:
        return [], ""
    uncovered = measured.executable - measured.covered
    if measured.executable >= SMALL_CHANGE_LINES:
        if percent >= threshold:
            return [], ""
        why = (
            f"{percent:g}% of the change's {measured.executable} added executable lines are "
            f"covered, below the {threshold:g}% threshold"
        )
        return _findings(measured, severity, why), f", below {threshold:g}%"
    allowed = max(1, int(measured.executable * (100 - threshold) / 100))
    if not uncovered:
        return [], ""
    if uncovered <= allowed and measured.covered:
        why = (
            f"{uncovered} of the change's {measured.executable} added executable lines are not "
            f"covered (a change this small may leave {allowed})"
        )
        return _findings(measured, "low", why), ""
    why = (
        f"{uncovered} of the change's {measured.executable} added executable lines are not "
        f"covered (a change this small may leave {allowed} if it covers any)"
    )
    return _findings(measured, severity, why), f", {uncovered} uncovered lines"


def _findings(measured: ChangedCoverage, severity: Severity, why: str) -> list[Finding]:
    findings = []
    for f in measured.files:
        if not f.uncovered:
            continue
        imported = "" if f.reported else " (no test imported this file)"
        hidden = [n for n in f.excluded if n in f.uncovered]
        if hidden:
            imported += (
                f" (lines {ranges(hidden)} only because the change excluded them from coverage, "
                "with a `# pragma: no cover` or its coverage settings, which do not count)"
            )
        findings.append(
            Finding(
                rule_id="testing.coverage.changed_lines",
                severity=severity,
                message=(
                    f"added lines {ranges(f.uncovered)} of {f.path} are not run by any "
                    f"test{imported}; {why}"
                ),
                path=f.path,
                line=f.uncovered[0],
                end_line=f.uncovered[-1],
                fix="add tests that exercise these lines",
            )
        )
    return findings


def context_findings(measured: ChangedCoverage, target: str = "") -> list[Finding]:
    """``low`` findings that list what was not judged: uncovered lines the base's tests did not
    run either (pre-existing debt), lines only another interpreter or platform runs (the tests
    ran on ``target``), and changed files outside the code the tests measure."""
    findings = []
    on = f" ({target})" if target else ""
    for f in measured.files:
        if not f.debt:
            continue
        lines = sorted(f.debt)
        findings.append(
            Finding(
                rule_id="testing.coverage.changed_lines",
                severity="low",
                message=f"added lines {ranges(lines)} of {f.path} are not run by any test, nor "
                f"were they at the base (pre-existing, not the change's): {f.debt[lines[0]]}",
                path=f.path,
                line=lines[0],
                end_line=lines[-1],
                fix="add tests that exercise these lines",
            )
        )
    for f in measured.files:
        if f.early:
            findings.append(
                Finding(
                    rule_id="testing.coverage.not_measured",
                    severity="low",
                    message=f"added module-level lines {ranges(f.early)} of {f.path} cannot be "
                    "measured: the module was imported before coverage started (its functions "
                    "ran under coverage, none of its own lines did; pytest imports pluggy, and what "
                    "a pytest plugin imports, first); its functions are measured as usual",
                    path=f.path,
                    line=f.early[0],
                    end_line=f.early[-1],
                )
            )
    for f in measured.files:
        if f.gated:
            lines = sorted(f.gated)
            guards = list(dict.fromkeys(f.gated.values()))
            why = "; ".join(guards[:3]) + (f"; and {len(guards) - 3} more" if guards[3:] else "")
            findings.append(
                Finding(
                    rule_id="testing.coverage.not_measured",
                    severity="low",
                    message=f"added lines {ranges(lines)} of {f.path} cannot run on the "
                    f"interpreter and platform the tests ran on{on}, so changed-line coverage "
                    f"leaves them out: {why}",
                    path=f.path,
                    line=lines[0],
                    end_line=lines[-1],
                    fix="run the tests on the interpreter or platform these lines are for",
                )
            )
    if measured.outside:
        paths = sorted(measured.outside)
        listed = "; ".join(f"{p}: {measured.outside[p]}" for p in paths[:10])
        findings.append(
            Finding(
                rule_id="testing.coverage.not_measured",
                severity="low",
                message=f"{len(paths)} changed file(s) lie outside the code the project's tests "
                f"measure, so changed-line coverage leaves them out ({listed})",
                path=paths[0],
            )
        )
    return findings
