"""The report for a terminal: a table of sub-agents, the findings and the verdict's reasons."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from leo.formats import clean

if TYPE_CHECKING:
    from leo.models import Report

STATUS_STYLE = {
    "passed": "green",
    "warned": "yellow",
    "failed": "red",
    "error": "magenta",
    "timeout": "magenta",
    "skipped": "dim",
}
VERDICT_STYLE = {
    "PASS": "bold green",
    "FAIL": "bold red",
    "CONDITIONAL_PASS": "bold yellow",
    "ESCALATE": "bold magenta",
}


def render(report: Report, *, color: bool = False) -> str:
    out = io.StringIO()
    console = Console(
        file=out, force_terminal=color, no_color=not color, width=110, highlight=False
    )
    table = Table(
        title=f"LEO verification of {report.head_sha[:12]} against {report.base_sha[:12]}"
    )
    for column in ("sub-agent", "status", "confidence", "findings", "time", "summary"):
        table.add_column(column, overflow="fold")
    for agent in report.agents:
        blocking = sum(1 for f in agent.findings if f.on_changed_line)
        table.add_row(
            Text(agent.name),
            Text(
                agent.status + (" (cached)" if agent.cached else ""),
                style=STATUS_STYLE[agent.status],
            ),
            str(agent.confidence),
            f"{blocking}"
            + (
                f" (+{len(agent.findings) - blocking} context)"
                if len(agent.findings) > blocking
                else ""
            ),
            f"{agent.duration_s:.1f}s",
            Text(clean(agent.summary)),
        )
    console.print(table)
    for agent in report.agents:
        findings = [f for f in agent.findings if f.on_changed_line]
        if not findings:
            continue
        console.print(Text(f"\n{agent.name} findings:", style="bold"))
        for f in findings:
            where = f"{f.path}:{f.line}" if f.path and f.line else (f.path or "(change)")
            line = Text("  ")
            line.append(
                f"{f.severity:<8}", style="red" if f.severity in ("critical", "high") else "yellow"
            )
            line.append(f" {clean(where)}  {clean(f.rule_id)}  {clean(f.message)}")
            console.print(line)
    console.print()
    console.print(
        Text(
            f"Verdict: {report.verdict}  (confidence {report.confidence})",
            style=VERDICT_STYLE[report.verdict],
        )
    )
    for reason in report.reasons:
        console.print(Text(f"  - {clean(reason)}"))
    if report.isolation == "none":
        console.print(
            Text("  UNISOLATED: the change's code ran without LEO's sandbox", style="bold red")
        )
    if report.resolution_rounds:
        console.print(Text(f"  conflict-resolution rounds: {report.resolution_rounds}"))
    return out.getvalue()
