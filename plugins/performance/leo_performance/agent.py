"""The ``performance`` sub-agent: benchmark regressions between base and head, without noise."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from leo import Finding, SubAgentResult, Tool
from leo_performance import PerformanceAgent, baseline
from leo_performance.assess import (
    BORDERLINE,
    Assessment,
    assess,
    comparison_finding,
    details,
)
from leo_performance.discovery import Benchmark, discover
from leo_performance.measure import (
    IMPORT_PREFIX,
    PROJECT_FILES,
    Run,
    Side,
    Tampered,
    measure,
)
from leo_performance.settings import Settings

if TYPE_CHECKING:
    from leo import Change, Conflict


class PerformanceChecks(PerformanceAgent):
    """The Performance sub-agent's work (the registered ``PerformanceAgent`` delegates here)."""

    def result(self, findings: Sequence[Finding] = (), **kwargs: Any) -> SubAgentResult:
        """``SubAgent.result``, with the benchmark edits a LEAD must decide as ``decisions``."""
        kwargs.setdefault("decisions", baseline.lead_decisions(findings))
        return super().result(findings, **kwargs)

    async def check(self, change: Change) -> SubAgentResult:
        settings: Settings = self.settings
        at_head = await discover(change, "head")
        at_base = await discover(change, "base")
        if not settings.paths and not settings.import_time:
            if not at_head and not at_base:
                return self.skipped(
                    "no pytest-benchmark benchmarks in the repository "
                    "(no test takes the benchmark fixture)"
                )
            if not at_base:
                return self.skipped(
                    f"{_n(len(at_head), 'benchmark')} new at head; none at base to compare against"
                )
        # Judged from the base: the base's benchmark files are measured on both sides, and
        # what the change did to them is a finding for a LEAD (issue 17).
        touched = baseline.edit_findings(await baseline.edits(change, at_base))
        plain = await baseline.plain_dirs(change, at_base, settings.pythonpath)
        touched += baseline.support_findings(change, at_base, plain)
        touched += baseline.hook_findings(change, settings.pythonpath)
        targets: dict[Side, list[str]] = {
            "base": list(settings.paths) or _files(at_base),
            "head": list(settings.paths) or _files(at_base),
        }
        prepare = baseline.overlay(change, at_base, settings.pythonpath, plain)
        with tempfile.TemporaryDirectory(prefix="leo-performance-") as work:
            try:
                runs = await measure(change, settings, targets, settings.pairs, Path(work), prepare)
            except Tampered as exc:
                return self.result([_tampering(change, exc), *touched], summary=_TAMPERED)
        assessment = assess(runs, at_base, settings)
        if not assessment.base_ran:
            result = self._base_did_not_run(runs, assessment)
            if touched and result.status == "skipped":  # an edit to the benchmarks is never neutral
                return self.result(touched, summary=result.summary)
            return result
        findings = list(assessment.findings) + touched
        info = details(assessment, runs, settings)
        info["base_benchmarks_on_both_sides"] = True
        if settings.remeasure_in_check and assessment.borderline:
            findings, info = await self._remeasure(change, settings, findings, info, at_base)
        return self.result(
            findings,
            summary=_summary(assessment, findings, settings),
            tools=_tools(runs),
            details=info,
        )

    async def resolve_conflict(self, change: Change, conflict: Conflict) -> SubAgentResult | None:
        """Re-measure borderline regressions; only those that hold stay findings."""
        own = conflict.own
        if not any(f.rule_id == BORDERLINE for f in own.findings):
            return None
        settings: Settings = self.settings
        at_base = await discover(change, "base")
        findings, info = await self._remeasure(
            change, settings, list(own.findings), dict(own.details), at_base
        )
        kept = sum(1 for f in findings if f.rule_id.startswith("performance.regression"))
        return self.result(
            findings,
            summary=f"{own.summary}; after re-measuring the borderline regressions, {kept} hold",
            tools=own.tools,
            details=info,
        )

    async def _remeasure(
        self,
        change: Change,
        settings: Settings,
        findings: list[Finding],
        info: dict[str, Any],
        at_base: Sequence[Benchmark],
    ) -> tuple[list[Finding], dict[str, Any]]:
        """Run the borderline benchmarks again (``remeasure_pairs`` pairs) and keep what holds.

        A borderline regression holds when the fresh runs alone again show a significant
        slowdown above ``min_effect`` (``Comparison.holds``); one the fresh runs cannot measure
        stays borderline.
        """
        nodeids = _borderline_ids(info, findings)
        if not nodeids:
            return findings, info
        tests = [n for n in nodeids if not n.startswith(IMPORT_PREFIX)]
        modules = tuple(n[len(IMPORT_PREFIX) :] for n in nodeids if n.startswith(IMPORT_PREFIX))
        again = settings.model_copy(update={"import_time": modules})
        with tempfile.TemporaryDirectory(prefix="leo-performance-") as work:
            runs = await measure(
                change,
                again,
                {"base": tests, "head": tests},
                settings.remeasure_pairs,
                Path(work),
                baseline.overlay(
                    change,
                    at_base,
                    settings.pythonpath,
                    await baseline.plain_dirs(change, at_base, settings.pythonpath),
                ),
            )
        fresh = assess(runs, at_base, settings)
        by_id = {c.nodeid: c for c in fresh.comparisons}
        kept: list[Finding] = [f for f in findings if f.rule_id != BORDERLINE]
        outcome: dict[str, str] = {}
        for nodeid in nodeids:
            c = by_id.get(nodeid)
            if c is None:
                outcome[nodeid] = "not measured again; stays borderline"
                kept += [
                    f
                    for f in findings
                    if f.rule_id == BORDERLINE and f"benchmark {nodeid} " in f.message
                ]
            elif c.holds:
                outcome[nodeid] = f"held ({c.ratio:.2f}x)"
                finding = comparison_finding(c, at_base, settings, confirmed=True)
                if finding is not None:
                    kept.append(finding)
            else:
                outcome[nodeid] = f"did not hold ({c.ratio:.2f}x, {c.verdict})"
        info = {
            **info,
            "borderline": [n for n, o in outcome.items() if o.startswith("not measured")],
            "remeasured": outcome,
            "remeasured_benchmarks": [c.as_json() for c in fresh.comparisons],
        }
        return kept, info

    def _base_did_not_run(self, runs: Sequence[Run], assessment: Assessment) -> SubAgentResult:
        base = next((r for r in runs if r.side == "base"), None)
        why = _why(base)
        if assessment.head_ran:
            return self.skipped(f"the benchmarks do not run at base ({why}); nothing to compare")
        project = base.environment if base else ""
        msg = (
            f"the benchmarks ran neither at base nor at head ({why}); "
            + (f"the project is {project}; " if project else "")
            + "if they need more than the project's declared dependencies, set python or "
            "command in [tool.leo.agents.performance]"
        )
        tail = base.output_tail if base else ""
        return SubAgentResult(
            status="error", confidence=0, summary=msg, error=f"{msg}\n{tail}".strip()
        )


_TAMPERED = "the change's own build planted code in its benchmark environment; nothing was run"


def _tampering(change: Change, exc: Tampered) -> Finding:
    """A change that edits the project's build files gets an environment built by its own
    code, which both sides' runs would use: code it planted there could slow the base or
    speed up the head, and hide a regression."""
    edited = [f.path for f in change.files if f.path in PROJECT_FILES]
    return Finding(
        rule_id="performance.runner_tampering",
        severity="critical",
        message=(
            "the change's build, run to install the project into the benchmark environment, "
            f"left there what would run in both sides' benchmarks: {'; '.join(exc.found)}"
        ),
        path=edited[0] if edited else None,
        fix="a build must only install the project: remove what writes outside it",
    )


def _why(run: Run | None) -> str:
    if run is None:
        return "not run"
    if run.timed_out:
        return "pytest did not finish within run_timeout"
    if run.returncode == 5:
        return "pytest collected no benchmark"
    return f"pytest exited with {run.returncode}"


def _files(benchmarks: Sequence[Benchmark]) -> list[str]:
    return sorted({b.path for b in benchmarks})


def _borderline_ids(info: dict[str, Any], findings: Sequence[Finding]) -> list[str]:
    """Node ids to re-measure: from ``details``, checked against the borderline findings."""
    raw = info.get("borderline")
    ids = [n for n in raw if isinstance(n, str)] if isinstance(raw, list) else []
    messages = [f.message for f in findings if f.rule_id == BORDERLINE]
    return [
        n
        for n in ids
        if n
        and not n.startswith("-")
        and ".." not in PurePosixPath(n.split("::", 1)[0]).parts
        and any(f"benchmark {n} " in m for m in messages)
    ]


def _tools(runs: Sequence[Run]) -> list[Tool]:
    version = next((r.version for r in runs if r.version), "")
    return [Tool(name="pytest-benchmark", version=version or "unknown")]


def _summary(assessment: Assessment, findings: Sequence[Finding], settings: Settings) -> str:
    counts: dict[str, int] = {}
    for c in assessment.comparisons:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    failed = sum(1 for f in findings if f.rule_id.endswith(("_failed", "_skipped")))
    pairs = max((c.runs for c in assessment.comparisons), default=0)
    parts = [
        f"{_n(len(assessment.comparisons), 'benchmark')} compared over {pairs} interleaved "
        "runs per side",
        _n(counts.get("regression", 0), "regression"),
        f"{counts.get('borderline', 0)} borderline",
        _n(counts.get("improvement", 0), "improvement"),
    ]
    if failed:
        parts.append(f"{_n(failed, 'benchmark')} failed or skipped at head")
    if not assessment.head_ran:
        parts.append("the suite did not run at head")
    return ", ".join(parts) + f" (minimum effect {settings.min_effect:.0%})"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
