"""semgrep with LEO's own rules (and a team's), run once over every changed file it covers.

Its start-up costs 3-5 s, so one run per change, never one per file. The version check and
metrics are always off (with them on, every run waits ~100 s on network timeouts here).
"""

from __future__ import annotations

import os
import re
import shutil
from typing import TYPE_CHECKING

from leo import Finding, ToolNotFoundError, run_tool
from leo_security import suppressions
from leo_security.outcome import ScanOutcome, Severity, normalise_path, on_change

if TYPE_CHECKING:
    from collections.abc import Collection
    from pathlib import Path

    from leo import Change
    from leo_security.rules import RuleSet

#: semgrep severity -> LEO severity, when a rule sets no ``metadata.leo-severity``.
SEVERITY: dict[str, Severity] = {
    "CRITICAL": "critical",
    "ERROR": "high",
    "HIGH": "high",
    "WARNING": "medium",
    "MEDIUM": "medium",
    "INFO": "low",
    "LOW": "low",
    "INVENTORY": "info",
    "EXPERIMENT": "info",
}
LEO_SEVERITIES = frozenset({"critical", "high", "medium", "low", "info"})
_NOSEM = re.compile(r"\bnosem(?:grep)?\b(?:\s*:\s*([\w.\-, ]+))?", re.IGNORECASE)
#: Appended to the name of a file scanned as Python whatever its name (``Targets.as_python``).
PYTHON_COPY = ".leo-as-python.py"
ENV = {
    "SEMGREP_ENABLE_VERSION_CHECK": "0",
    "SEMGREP_SEND_METRICS": "off",
}


def suppressed(text: str, line: int, rule_id: str) -> int | None:
    """The line whose ``nosemgrep`` (optionally ``: id, id``) silences ``rule_id`` at ``line``:
    the finding's own line or the one above, as semgrep reads it; None when there is none."""
    lines = text.splitlines()
    for n in (line, line - 1):
        if 1 <= n <= len(lines):
            m = _NOSEM.search(lines[n - 1])
            if m is None or not any(c in lines[n - 1] for c in ("#", "//", "--", "/*")):
                continue
            ids = [i.strip() for i in (m.group(1) or "").split(",") if i.strip()]
            if not ids or any(i == rule_id or i.endswith("." + rule_id) for i in ids):
                return n
    return None


async def scan(
    change: Change,
    root: Path,
    paths: list[str],
    rules: RuleSet,
    contents: dict[str, bytes],
    *,
    whole: bool,
    timeout: float,
    max_bytes: int,
    as_python: Collection[str] = (),
) -> ScanOutcome:
    """Run semgrep once over ``paths`` (written below ``root``) with ``rules``; each of
    ``as_python`` through a copy named as Python (semgrep knows a language by the name only: a
    template built from input in ``render.json``, run with ``runpy``, had been read by bandit
    alone, which does not know that sink)."""
    outcome = ScanOutcome("semgrep")
    if not paths or not rules.files:
        return outcome
    scanned_as = {p: p + PYTHON_COPY if p in as_python else p for p in paths}
    for path, name in scanned_as.items():
        if name != path:
            shutil.copyfile(root.joinpath(*path.split("/")), root.joinpath(*name.split("/")))
    real = {name: path for path, name in scanned_as.items()}
    argv = [
        "semgrep", "scan", "--json", "--quiet",
        "--metrics=off", "--disable-version-check",
        # LEO applies nosemgrep itself, so that it can count what was silenced.
        "--disable-nosem",
        "--no-git-ignore",
        "--timeout", "30", "--timeout-threshold", "3",
        "--max-target-bytes", str(max_bytes),
    ]  # fmt: skip
    for f in rules.files:
        argv += ["--config", str(f)]
    argv += [f"./{p}" for p in scanned_as.values()]
    try:
        out = await run_tool(argv, cwd=root, env={**os.environ, **ENV}, timeout=timeout)
    except ToolNotFoundError as exc:
        outcome.error = str(exc)
        return outcome
    report = outcome.json_report(out, timeout)
    if report is None:
        return outcome
    results = report["results"]
    errors = report.get("errors") or []
    if out.returncode != 0:
        messages = "; ".join(str(e.get("message", e))[:500] for e in errors) or out.stderr_text
        outcome.error = f"semgrep failed (exit {out.returncode}): {messages.strip()[-2000:]}"
        return outcome
    outcome.version = str(report.get("version") or "?")
    scanned = {
        real.get(n, n) for n in map(normalise_path, (report.get("paths") or {}).get("scanned", []))
    }
    for p in paths:
        if p in scanned:
            outcome.analysed.add(p)
        else:
            outcome.failed[p] = "semgrep did not scan it (unrecognised or skipped)"
    for err in errors:
        path = normalise_path(str(err.get("path", "")))
        path = real.get(path, path)
        if path in outcome.analysed and err.get("level") == "error":
            outcome.analysed.discard(path)
            outcome.failed[path] = f"semgrep could not analyse it: {str(err.get('message'))[:300]}"
    for r in results:
        path = normalise_path(r["path"])
        path = real.get(path, path)
        rule_id = rules.rule_of(r["check_id"])
        start, end = r["start"]["line"], r["end"]["line"]
        text = contents.get(path, b"").decode("utf-8", "replace")
        marker = suppressed(text, start, rule_id)
        if marker is not None and not suppressions.by_the_change(
            change, path, marker, *range(start, end + 1)
        ):
            outcome.suppressed += 1  # the base's own suppression keeps working
            continue
        extra = r.get("extra") or {}
        declared = rules.severities.get(rule_id, "")
        severity: Severity = (
            declared  # type: ignore[assignment]
            if declared in LEO_SEVERITIES
            else SEVERITY.get(str(extra.get("severity", "")).upper(), "medium")
        )
        message = " ".join(str(extra.get("message", rule_id)).split())[:2000]
        finding = Finding(
            rule_id=f"security.semgrep.{rule_id}",
            severity=severity,
            message=message,
            path=path,
            line=start,
            end_line=end if end > start else None,
            on_changed_line=on_change(change, path, start, end, whole),
        )
        if marker is not None:
            finding = suppressions.unhonoured(finding, "nosemgrep", marker)
            outcome.unhonoured += 1
        outcome.findings.append(finding)
    return outcome
