"""The report as GitHub-flavoured markdown, for PR comments and job summaries."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from leo.formats import clean

if TYPE_CHECKING:
    from leo.models import Report

ICON = {"PASS": "✅", "FAIL": "❌", "CONDITIONAL_PASS": "⚠️", "ESCALATE": "🛑"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-!|~])")
#: What GitHub turns into a notification or a link however markdown is escaped: ``@someone``
#: and a bare ``https://…`` or ``www.…`` (round-4 red team: a test name or a commit message
#: could ping a team, or offer a link, from LEO's PR comment).
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp)(?=://)|\b(www)(?=\.)")
_JOINER = "\u2060"  # word joiner: invisible, and it breaks the mention or the link


def escape(text: str | None) -> str:
    """Plugin-supplied text made inert in markdown (no links, mentions, HTML or table
    breaks)."""
    text = clean(text).replace("\n", " ")
    text = _AUTOLINK.sub(lambda m: m[0] + _JOINER, _MENTION.sub("@" + _JOINER, text))
    return _MD_SPECIAL.sub(r"\\\1", text)


def render(report: Report, *, color: bool = False) -> str:
    lines = [
        f"## {ICON[report.verdict]} LEO verdict: **{report.verdict}** (confidence {report.confidence})",
        "",
        f"Head `{report.head_sha}` against base `{report.base_sha}`; "
        f"{report.changed_files} changed files; {report.resolution_rounds} conflict-resolution rounds.",
        "",
        *[f"- {escape(r)}" for r in report.reasons],
        *(
            ["", "> **Unisolated:** the change's code ran without LEO's sandbox."]
            if report.isolation == "none"
            else []
        ),
        "",
        "| sub-agent | status | confidence | findings | summary |",
        "|---|---|---|---|---|",
    ]
    for a in report.agents:
        blocking = sum(1 for f in a.findings if f.on_changed_line)
        lines.append(
            f"| {escape(a.name)} | {a.status} | {a.confidence} | {blocking} | {escape(a.summary)} |"
        )
    findings = [(a.name, f) for a in report.agents for f in a.findings if f.on_changed_line]
    if findings:
        lines += [
            "",
            "### Findings",
            "",
            "| severity | sub-agent | where | rule | message |",
            "|---|---|---|---|---|",
        ]
        for name, f in findings:
            where = f"{f.path}:{f.line}" if f.path and f.line else (f.path or "change")
            lines.append(
                f"| {f.severity} | {escape(name)} | {escape(where)} | {escape(f.rule_id)} | {escape(f.message)} |"
            )
    return "\n".join(lines) + "\n"
