"""Hold the line: a finding blocks only if the change introduced it (issue 18).

A finding on a changed line of a file that existed at the base may be old: the change touched the
line (reformatted it, renamed a variable next to it, moved it) without creating the problem. The
scanners run again on the base version of just those files, and a head finding whose fingerprint
the base already had becomes context (``on_changed_line=False``) instead of blocking.

The fingerprint is the rule, the file (through rename detection) and the finding's code with
whitespace normalised: never the line number, which any edit above it shifts. Counts matter: a
change that adds a second copy of an existing problem introduces one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from leo import Finding

if TYPE_CHECKING:
    from leo import Change
    from leo_security.outcome import ScanOutcome

Fingerprint = tuple[str, str, str]
#: Re-scan runs on the base: (paths below ``root``, ``root``) -> that tool's outcome.
Rescan = Callable[[list[str], Path], Awaitable["ScanOutcome"]]
NOTE = " (pre-existing: the base already had it; not introduced by this change)"


def context(text: str, line: int | None, end_line: int | None) -> str:
    """The finding's lines of ``text`` with all whitespace collapsed."""
    if line is None:
        return ""
    lines = text.splitlines()
    return " ".join(" ".join(lines[line - 1 : (end_line or line)]).split())


def fingerprint(finding: Finding, path: str, text: str) -> Fingerprint:
    """``(rule, path, code)`` of ``finding``; ``path`` is the file's name at the base."""
    return finding.rule_id, path, context(text, finding.line, finding.end_line)


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
    before: Counter[Fingerprint] = Counter()
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
                text = bases[files[f.path]] or b""
                before[fingerprint(f, files[f.path], text.decode("utf-8", "replace"))] += 1
    # Findings in untouched lines are old by definition: they use up the base's copies first,
    # so a change that adds a second copy of an old problem still introduces one.
    for f in findings:
        if not f.on_changed_line and f.path in files:
            text = heads.get(f.path, b"").decode("utf-8", "replace")
            before[fingerprint(f, files[f.path], text)] -= 1
    out, old = [], 0
    for f in findings:
        if f.on_changed_line and f.path in files:
            text = heads.get(f.path, b"").decode("utf-8", "replace")
            key = fingerprint(f, files[f.path], text)
            if before[key] > 0:
                before[key] -= 1
                old += 1
                message = (f.message + NOTE)[:10_000]
                f = f.model_copy(update={"on_changed_line": False, "message": message})
        out.append(f)
    return out, old
