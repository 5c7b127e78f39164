"""Hold the line: a finding blocks only if the change introduced it (issue 18).

A finding on a changed line of a file that existed at the base may be old: the change touched the
line (reformatted it, renamed a variable next to it, moved it) without creating the problem. The
scanners run again on the base version of just those files, and a head finding whose fingerprint
the base already had becomes context (``on_changed_line=False``) instead of blocking.

The fingerprint is the rule, the file (through rename detection), the severity and the finding's
code normalised — for Python the statement's AST without positions, so reformatting (a call split
over lines, a trailing comma, comments) and moving code within the file do not count: never the
line number, which any edit above it shifts. A code-scanner finding whose code the change edited
still matches a base finding of the same rule and severity in the same function (or workflow job):
click 8.1.8 made its pager's ``Popen(cmd, shell=True)`` call ``Popen([which(cmd)], shell=True,
...)``; that is not a new shell. Secrets match only exactly. Counts matter: a change that adds a
second copy of an existing problem, in the same function or anywhere, introduces one.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import difflib
import re
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from leo import Finding, parse_python

if TYPE_CHECKING:
    from leo import Change
    from leo_security.outcome import ScanOutcome

#: Re-scan runs on the base: (paths below ``root``, ``root``) -> that tool's outcome.
Rescan = Callable[[list[str], Path], Awaitable["ScanOutcome"]]
NOTE = " (pre-existing: the base already had it; not introduced by this change)"
SCOPE_NOTE = (
    " (pre-existing: the base already had this finding in {scope}, which the change edited;"
    " not introduced by this change)"
)
#: Rules whose findings may match the base by enclosing scope when their code changed: code
#: scanners. A secret is its value: it matches only exactly.
_SCOPED_RULES = ("security.bandit.", "security.semgrep.", "security.zizmor.")
_JOB = re.compile(r"^  ([A-Za-z_][\w-]*):\s*(#.*)?$")
#: How alike a job's lines must be to its vanished base job to call it a rename.
_JOB_RENAME_SIMILARITY = 0.6


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a finding across a change: never its line number."""

    exact: tuple[str, str, str, str]
    """(rule, base path, severity, normalised code): the same problem in the same code."""
    scope: tuple[str, str, str, str] | None
    """(rule, base path, severity, enclosing function or workflow job), or None at top level."""


def _code_lines(text: str, line: int, end_line: int | None) -> str:
    """The finding's lines with every whitespace character removed (line breaks included)."""
    lines = text.splitlines()
    return "".join("".join(lines[line - 1 : (end_line or line)]).split())


class _Index:
    """One file's statements and scopes, parsed once: Python through ``ast``, workflows by job."""

    def __init__(self, path: str, text: str) -> None:
        self.text = text
        self.tree: ast.Module | None = None
        if path.endswith((".py", ".pyi")):
            with contextlib.suppress(SyntaxError, ValueError, RecursionError, MemoryError):
                self.tree = parse_python(text)
        self.workflow = path.endswith((".yml", ".yaml"))
        self._innermost: dict[int, ast.stmt] | None = None
        self.renamed_jobs: dict[str, str] = {}
        """Head job -> the base job it renamed (workflows only): its findings keep their scope."""

    def code(self, line: int | None, end_line: int | None) -> str:
        """The finding's code, normalised: the innermost statement holding it, as an AST
        without positions (reformatting, comments, quotes and trailing commas do not count);
        a compound statement counts by its header only, so edits to its body do not."""
        if line is None:
            return ""
        if self.workflow:  # zizmor spans a whole job or workflow: its anchor line names it
            return _code_lines(self.text, line, line)
        stmt = self._statement(line)
        if stmt is None:
            return _code_lines(self.text, line, end_line)
        header = copy.copy(stmt)
        for name in ("body", "orelse", "handlers", "finalbody", "cases"):
            if hasattr(header, name):
                setattr(header, name, [])
        return ast.dump(header)

    def scope(self, line: int | None) -> str | None:
        """The qualified name of the function holding ``line`` (Python) or its job (workflow)."""
        if line is None:
            return None
        if self.tree is not None:
            return self._function(line)
        if self.workflow:
            job = self._job(line)
            return self.renamed_jobs.get(job, job) if job else None
        return None

    def jobs(self) -> dict[str, str]:
        """Each workflow job's name and its lines (whitespace removed); {} for other files."""
        if not self.workflow:
            return {}
        out: dict[str, list[str]] = {}
        job = None
        seen_jobs = False
        for text in self.text.splitlines():
            if text and not text[0].isspace() and not text.startswith("#"):
                seen_jobs, job = text.rstrip().startswith("jobs:"), None
                continue
            match = _JOB.match(text) if seen_jobs else None
            if match:
                job = match.group(1)
                out[job] = []
            elif job is not None:
                out[job].append("".join(text.split()))
        return {name: "\n".join(lines) for name, lines in out.items()}

    def _statement(self, line: int) -> ast.stmt | None:
        if self.tree is None:
            return None
        if self._innermost is None:  # once per file: a test module holds hundreds of findings
            self._innermost = {}
            for node in ast.walk(self.tree):  # outer statements come before inner ones
                if isinstance(node, ast.stmt):
                    for n in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                        held = self._innermost.get(n)
                        if held is None or node.lineno >= held.lineno:
                            self._innermost[n] = node
        return self._innermost.get(line)

    def _function(self, line: int) -> str | None:
        assert self.tree is not None
        names: list[str] = []
        found = False
        nodes: list[ast.stmt] = list(self.tree.body)
        while True:
            for node in nodes:
                if node.lineno <= line <= (node.end_lineno or node.lineno) and isinstance(
                    node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
                ):
                    names.append(node.name)
                    found = found or not isinstance(node, ast.ClassDef)
                    nodes = node.body
                    break
            else:
                return ".".join(names) if found else None

    def _job(self, line: int) -> str | None:
        lines = self.text.splitlines()[: max(line, 0)]
        for i in range(len(lines) - 1, -1, -1):
            match = _JOB.match(lines[i])
            if match and any(x.rstrip().startswith("jobs:") for x in lines[:i]):
                return match.group(1)
        return None


def renamed_jobs(base: _Index, head: _Index) -> dict[str, str]:
    """Head job -> base job for each job the change renamed: gone from the base under its old
    name, new at the head, its steps alike (tenacity 8.3.0 renamed its release job ``test`` to
    ``publish`` and bumped its actions' tags: the same job, not a new one)."""
    old, new = base.jobs(), head.jobs()
    gone = {name: text for name, text in old.items() if name not in new}
    out: dict[str, str] = {}
    for name, text in new.items():
        if name in old or not gone:
            continue
        alike = {
            b: difflib.SequenceMatcher(None, was, text, autojunk=False).ratio()
            for b, was in gone.items()
        }
        best = max(alike, key=alike.__getitem__)
        if alike[best] >= _JOB_RENAME_SIMILARITY:
            out[name] = best
            del gone[best]
    return out


def fingerprint(finding: Finding, path: str, index: _Index) -> Fingerprint:
    """The fingerprint of ``finding``; ``path`` is the file's name at the base."""
    rule = finding.rule_id
    exact = (rule, path, finding.severity, index.code(finding.line, finding.end_line))
    where = index.scope(finding.line) if rule.startswith(_SCOPED_RULES) else None
    return Fingerprint(exact, (rule, path, finding.severity, where) if where else None)


def candidates(change: Change, findings: Sequence[Finding]) -> dict[str, str]:
    """Head path -> base path of files holding a blocking finding that existed at the base."""
    out = {}
    for f in findings:
        changed = change.file(f.path) if f.on_changed_line and f.path else None
        if changed is not None and changed.status in ("modified", "renamed", "copied"):
            out[changed.path] = changed.old_path or changed.path
    return out


async def hold_the_line(
    change: Change,
    findings: list[Finding],
    heads: dict[str, bytes],
    scratch: Path,
    rescans: dict[str, Rescan],
) -> tuple[list[Finding], int]:
    """``findings`` with those the base already had turned into context, and their count.

    ``rescans`` maps a finding's rule prefix (``security.bandit.``) to a re-scan of base files.
    A base that cannot be scanned leaves every finding blocking: fail closed.
    """
    files = candidates(change, findings)
    if not files:
        return findings, 0
    bases = await change.read_many(sorted(set(files.values())), "base")
    base_text = {h: (bases.get(b) or b"").decode("utf-8", "replace") for h, b in files.items()}
    base_index = {h: _Index(h, t) for h, t in base_text.items()}
    root = scratch / "base"
    written = []
    for head_path, base_path in files.items():
        data = bases.get(base_path)
        if data is None or b"\0" in data[:8192]:
            continue
        target = root.joinpath(*PurePosixPath(head_path).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(head_path)
    if not written:
        return findings, 0
    base_items: list[Fingerprint] = []
    for prefix, rescan in rescans.items():
        paths = [
            p
            for p in written
            if any(f.rule_id.startswith(prefix) and f.path == p for f in findings)
        ]
        if not paths:
            continue
        outcome = await rescan(paths, root)
        if outcome.error:
            continue
        for f in outcome.findings:
            if f.path in files:
                base_items.append(fingerprint(f, files[f.path], base_index[f.path]))
    head_index = {h: _Index(h, heads.get(h, b"").decode("utf-8", "replace")) for h in files}
    for h, index in head_index.items():
        index.renamed_jobs = renamed_jobs(base_index[h], index)
    keyed = [
        (f, fingerprint(f, files[f.path], head_index[f.path]) if f.path in files else None)
        for f in findings
    ]
    # Findings in untouched lines are old by definition: they use up the base's copies first,
    # so a change that adds a second copy of an old problem still introduces one. Exact code
    # matches first, then the same rule in the same function (whose code the change edited).
    # Each finding takes the first base copy not yet taken, looked up by key, not compared
    # with every base finding in turn: 17,811 findings (redis 8.2.0's count) against 12,000
    # base ones took 32 s pair by pair.
    copies: dict[tuple[bool, object], deque[int]] = {}
    for n, b in enumerate(base_items):
        copies.setdefault((False, b.exact), deque()).append(n)
        if b.scope is not None:
            copies.setdefault((True, b.scope), deque()).append(n)
    taken: set[int] = set()
    order = sorted(range(len(keyed)), key=lambda i: keyed[i][0].on_changed_line)
    matched: dict[int, str] = {}
    for by_scope in (False, True):
        for i in order:
            key = keyed[i][1]
            if i in matched or key is None or (by_scope and key.scope is None):
                continue
            queue = copies.get((by_scope, key.scope if by_scope else key.exact), deque())
            while queue and queue[0] in taken:
                queue.popleft()
            if queue:
                taken.add(queue.popleft())
                scope = key.scope[3] if key.scope else ""
                matched[i] = SCOPE_NOTE.format(scope=f"`{scope}`") if by_scope else NOTE
    out, old = [], 0
    for i, (f, _key) in enumerate(keyed):
        if f.on_changed_line and i in matched:
            old += 1
            message = (f.message + matched[i])[:10_000]
            f = f.model_copy(update={"on_changed_line": False, "message": message})
        out.append(f)
    return out, old
