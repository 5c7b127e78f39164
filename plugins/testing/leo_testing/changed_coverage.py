"""Coverage of the changed lines: a coverage report's line data mapped onto the change's hunks.

The report (Cobertura XML from coverage.py or any other tool, or LCOV) says which lines are
executable and which ran; the ``Change`` says which lines were added. A changed Python file
that no test imported is absent from coverage.py's report; its executable lines then come from
coverage.py's own parser, all of them uncovered.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from leo import Change, Finding
from leo_testing.junit import ReportError, clean
from leo_testing.settings import Severity

#: Below this many added executable lines a percentage is noise (3 of 4 lines is 75%): small
#: changes are judged by how many lines no test runs (issue 18).
SMALL_CHANGE_LINES = 20

LineHits = dict[str, dict[int, int]]
"""Repository path -> line -> times it ran."""
_MAX_LINE = 10_000_000


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


def python_statements(source: bytes) -> set[int] | None:
    """Executable lines of a Python file by coverage.py's parser (None if it does not parse)."""
    from coverage.exceptions import CoverageException
    from coverage.python import PythonParser

    try:
        parser = PythonParser(
            text=source.decode("utf-8"), exclude=r"(?i)#\s*pragma[:\s]?\s*no\s*cover"
        )
        parser.parse_source()
    except (CoverageException, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    return set(parser.statements)


@dataclass
class FileCoverage:
    """Added executable lines of one file, and which of them no test ran."""

    path: str
    executable: list[int]
    uncovered: list[int]
    reported: bool
    """False when the file was absent from the report (no test imported it)."""


@dataclass
class ChangedCoverage:
    """Coverage of the change's added executable lines."""

    files: list[FileCoverage] = field(default_factory=list)
    unmeasured: dict[str, str] = field(default_factory=dict)
    """Changed files that could not be measured, with the reason."""

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
    change: Change, hits: LineHits, sources: Mapping[str, bytes | None], omit: Sequence[str]
) -> ChangedCoverage:
    """Map ``hits`` onto the change's added lines; ``sources`` are head contents of changed
    ``.py`` files absent from the report."""
    result = ChangedCoverage()
    for changed in change.files:
        path = changed.path
        if not changed.is_regular or changed.binary or not changed.added_lines:
            continue
        if omitted(path, omit):
            continue
        added = set(changed.added_lines)
        if path in hits:
            lines = hits[path]
            executable = sorted(added & lines.keys())
            uncovered = [n for n in executable if lines[n] == 0]
            result.files.append(FileCoverage(path, executable, uncovered, reported=True))
        elif path.endswith(".py"):
            statements = python_statements(sources.get(path) or b"")
            if statements is None:
                result.unmeasured[path] = "not valid Python, so its executable lines are unknown"
                continue
            executable = sorted(added & statements)
            result.files.append(FileCoverage(path, executable, list(executable), reported=False))
    return result


def unreported_python(change: Change, hits: LineHits, omit: Sequence[str]) -> list[str]:
    """Changed ``.py`` files with added lines that the report does not mention."""
    return [
        f.path
        for f in change.files
        if f.path.endswith(".py")
        and f.is_regular
        and f.added_lines
        and f.path not in hits
        and not omitted(f.path, omit)
    ]


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
