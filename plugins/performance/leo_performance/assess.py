"""From the runs at base and head to findings: regressions, failures and improvements."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from leo import Finding
from leo_performance.discovery import Benchmark
from leo_performance.measure import IMPORT_PREFIX, Run
from leo_performance.settings import Settings
from leo_performance.stats import Comparison, compare

REGRESSION = "performance.regression"
BORDERLINE = "performance.regression_borderline"
IMPROVEMENT = "performance.improvement"
FAILED = "performance.benchmark_failed"
SKIPPED_AT_HEAD = "performance.benchmark_skipped"
SUITE_FAILED = "performance.suite_failed"
_PARAMS = re.compile(r"\[.*\]$", re.DOTALL)


@dataclass
class Assessment:
    """What the runs show."""

    findings: list[Finding] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Facts that are not findings: new or removed benchmarks, benchmarks failing on both sides."""
    base_ran: bool = True
    head_ran: bool = True

    @property
    def borderline(self) -> list[str]:
        return [c.nodeid for c in self.comparisons if c.verdict == "borderline"]


def human_time(seconds: float) -> str:
    """``0.000123`` -> ``123 µs``."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def location(nodeid: str, benchmarks: Sequence[Benchmark]) -> tuple[str | None, int | None]:
    """The file and ``def`` line of a benchmark node id, when discovery found it."""
    if nodeid.startswith(IMPORT_PREFIX):
        return None, None
    path, _, rest = nodeid.partition("::")
    name = _PARAMS.sub("", rest)
    for b in benchmarks:
        if b.path == path and b.name == name:
            return path, b.line
    return (path or None), None


def comparison_finding(
    c: Comparison, benchmarks: Sequence[Benchmark], settings: Settings, *, confirmed: bool = False
) -> Finding | None:
    """The finding for one comparison, or None when nothing changed."""
    path, line = location(c.nodeid, benchmarks)
    evidence = (
        f"median {human_time(c.base_median)} at base vs {human_time(c.head_median)} at head, "
        f"{settings.confidence:.0%} CI of the ratio {c.ci_low:.2f}-{c.ci_high:.2f}, "
        f"Mann-Whitney p={_p(c.p_slower if c.ratio >= 1 else c.p_faster)}, "
        f"{c.base_rounds}/{c.head_rounds} rounds over {c.runs} interleaved runs per side"
    )
    threshold = f"{settings.min_effect:.0%}"
    if c.verdict == "regression":
        how = " (confirmed by re-measurement)" if confirmed else ""
        return Finding(
            rule_id=REGRESSION,
            severity="high",
            message=f"benchmark {c.nodeid} is {c.ratio:.2f}x slower at head{how}: {evidence}",
            path=path,
            line=line,
            fix=f"find what made it slower than the {threshold} budget, or explain the trade-off",
        )
    if c.verdict == "borderline":
        how = (
            "held when re-measured"
            if confirmed
            else "borderline: re-measured in the conflict-resolution round"
        )
        return Finding(
            rule_id=REGRESSION if confirmed else BORDERLINE,
            severity="high",
            message=f"benchmark {c.nodeid} is {c.ratio:.2f}x slower at head ({how}): {evidence}",
            path=path,
            line=line,
            fix=f"find what made it slower than the {threshold} budget, or explain the trade-off",
        )
    if c.verdict == "improvement":
        return Finding(
            rule_id=IMPROVEMENT,
            severity="info",
            message=f"benchmark {c.nodeid} is {1 / c.ratio:.2f}x faster at head: {evidence}",
            path=path,
            line=line,
        )
    return None


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else "<1e-4"


def _paired(runs: Sequence[Run], nodeid: str) -> tuple[list[list[float]], list[list[float]]]:
    """The rounds of ``nodeid`` in each pair where both sides measured it."""
    by_pair: dict[int, dict[str, list[float]]] = {}
    for r in runs:
        if nodeid in r.samples:
            by_pair.setdefault(r.pair, {})[r.side] = r.samples[nodeid]
    both = [p for _, p in sorted(by_pair.items()) if "base" in p and "head" in p]
    return [p["base"] for p in both], [p["head"] for p in both]


def assess(
    runs: Sequence[Run], benchmarks_at_head: Sequence[Benchmark], settings: Settings
) -> Assessment:
    """Compare every benchmark measured at base with its head runs."""
    base = [r for r in runs if r.side == "base"]
    head = [r for r in runs if r.side == "head"]
    out = Assessment(base_ran=any(r.ran for r in base), head_ran=any(r.ran for r in head))
    if not out.base_ran:
        return out
    base_ids = sorted({n for r in base for n in r.samples})
    head_outcomes = [r.outcomes for r in head]
    for nodeid in base_ids:
        path, line = location(nodeid, benchmarks_at_head)
        failed_at_base = any(r.outcomes.get(nodeid) == "failed" for r in base)
        head_failed = [r for r in head if r.outcomes.get(nodeid) == "failed"]
        if head_failed:
            if failed_at_base:
                out.notes.append(f"{nodeid} fails at base and at head (flaky)")
                continue
            error = next((r.errors[nodeid] for r in head_failed if nodeid in r.errors), "")
            out.findings.append(
                Finding(
                    rule_id=FAILED,
                    severity="high",
                    message=(
                        f"benchmark {nodeid} ran at base but fails at head "
                        f"({len(head_failed)} of {len(head)} runs){_last_line(error)}"
                    ),
                    path=path,
                    line=line,
                    fix="make the benchmark pass again at head",
                )
            )
            continue
        base_runs, head_runs = _paired(runs, nodeid)
        if head_runs:
            c = compare(
                nodeid,
                base_runs,
                head_runs,
                min_effect=settings.min_effect,
                alpha=settings.alpha,
                confidence=settings.confidence,
                resamples=settings.resamples,
                seed=settings.seed,
            )
            out.comparisons.append(c)
            finding = comparison_finding(c, benchmarks_at_head, settings)
            if finding is not None:
                out.findings.append(finding)
        elif any(o.get(nodeid) == "skipped" for o in head_outcomes):
            out.findings.append(
                Finding(
                    rule_id=SKIPPED_AT_HEAD,
                    severity="medium",
                    message=f"benchmark {nodeid} ran at base but is skipped at head, so it was not compared",
                    path=path,
                    line=line,
                    fix="remove the skip, or explain why the benchmark no longer applies",
                )
            )
        elif not out.head_ran:
            continue  # reported below as the whole suite failing
        elif line is not None:
            # Still defined at head, yet never reported: its module or parameters broke.
            error = next(
                (text for r in head for key, text in r.errors.items() if nodeid.startswith(key)),
                "",
            )
            out.findings.append(
                Finding(
                    rule_id=FAILED,
                    severity="high",
                    message=f"benchmark {nodeid} ran at base but was not collected at head{_last_line(error)}",
                    path=path,
                    line=line,
                    fix="fix the collection error of the benchmark's module at head",
                )
            )
        else:
            out.notes.append(f"{nodeid} was removed or renamed at head")
    if not out.head_ran and not any(f.rule_id in (FAILED, SKIPPED_AT_HEAD) for f in out.findings):
        out.findings.append(_suite_failed(head))
    new = sorted({n for r in head for n in r.samples} - set(base_ids))
    out.notes += [f"{n} is new at head (nothing to compare against)" for n in new]
    return out


def _suite_failed(head: Sequence[Run]) -> Finding:
    run = head[0] if head else None
    if run is None:
        why = "it was not run"
    elif run.timed_out:
        why = "it did not finish within run_timeout"
    else:
        why = f"pytest exited with {run.returncode}"
    tail = f": {run.output_tail[-600:]}" if run and run.output_tail else ""
    return Finding(
        rule_id=SUITE_FAILED,
        severity="high",
        message=f"the benchmarks ran at base but none ran at head ({why}){tail}",
        fix="make the benchmark suite run again at head",
    )


def _last_line(text: str) -> str:
    """The exception pytest reported (its ``E`` lines), else the report's last line."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    errors = [ln[1:].strip() for ln in lines if ln.startswith("E ")]
    picked = errors[-1] if errors else (lines[-1] if lines else "")
    return f": {picked[:300]}" if picked else ""


def details(assessment: Assessment, runs: Sequence[Run], settings: Settings) -> dict[str, Any]:
    """The figures behind the result, for the report's ``details``."""
    return {
        "pairs": sum(1 for r in runs if r.side == "head"),
        "min_effect": settings.min_effect,
        "alpha": settings.alpha,
        "confidence": settings.confidence,
        "benchmarks": [c.as_json() for c in assessment.comparisons],
        "borderline": assessment.borderline,
        "notes": assessment.notes,
        "command": list(runs[0].argv) if runs else [],
        "environment": runs[0].environment if runs else "",
    }
