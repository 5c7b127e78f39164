"""The report as SARIF 2.1.0, in the shape GitHub code scanning accepts.

Code scanning drops results without a physical location, ranks by ``security-severity`` only
on rules tagged ``security``, deduplicates re-runs by ``partialFingerprints`` and refuses files
beyond its upload limits; each of these is handled here (issue 19).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from leo.__about__ import __version__

if TYPE_CHECKING:
    from leo.models import Finding, Report

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
#: GitHub's security-severity scale (0-10), so code scanning ranks findings like LEO does.
SECURITY_SEVERITY = {"critical": "9.5", "high": "7.5", "medium": "5.0", "low": "2.0", "info": "0.0"}
#: The sub-agents whose rules are security rules (GitHub reads security-severity on no others).
SECURITY_AGENTS = frozenset({"security"})
#: Code scanning keeps at most 5,000 results per run (it accepts 25,000 and shows the top
#: 5,000); LEO keeps the most severe itself and says how many it left out.
MAX_RESULTS = 5000
#: Code scanning refuses a file over 10 MB gzip-compressed. Findings carry hostile text that
#: need not compress, so LEO keeps the file itself under 10 MB: messages are shortened, and
#: when that is not enough the least severe results are left out (and counted).
MAX_BYTES = 10 * 1024 * 1024
MAX_MESSAGE = 1_000
#: Where a change-wide finding goes when no other finding of the report names a file.
MANIFEST = "pyproject.toml"
_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def render(report: Report, *, color: bool = False) -> str:
    found = [(agent.name, f) for agent in report.agents for f in agent.findings]
    ordered = sorted(found, key=lambda af: (_RANK[af[1].severity], not af[1].on_changed_line))
    anchors = _anchors(report)
    seen: dict[str, int] = {}
    located = [(a, f, _result(a, f, anchors, seen)) for a, f in ordered[:MAX_RESULTS]]
    keep = len(located)
    while True:
        text = _document(report, located[:keep], omitted=len(found) - keep)
        size = len(text.encode())
        if size <= MAX_BYTES or keep == 0:
            return text
        keep = min(keep - 1, keep * MAX_BYTES // size * 9 // 10)  # the least severe go first


def _document(
    report: Report, located: list[tuple[str, Finding, dict[str, Any]]], *, omitted: int
) -> str:
    rules: dict[str, dict[str, Any]] = {}
    for agent, f, _ in located:
        security = agent in SECURITY_AGENTS
        rules.setdefault(
            f.rule_id,
            {
                "id": f.rule_id,
                "shortDescription": {"text": f.rule_id},
                "properties": {
                    **({"security-severity": SECURITY_SEVERITY[f.severity]} if security else {}),
                    "tags": sorted({"security", agent}) if security else [agent],
                },
            },
        )
    properties: dict[str, Any] = {"verdict": report.verdict, "confidence": report.confidence}
    if omitted:
        properties["omittedResults"] = omitted
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "LEO",
                        "version": __version__,
                        "rules": list(rules.values()),
                    }
                },
                "automationDetails": {"id": f"leo/{report.head_sha}"},
                "results": [result for _, _, result in located],
                "properties": {**properties, "isolation": report.isolation},
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def _result(
    agent: str, f: Finding, anchors: dict[str, str], seen: dict[str, int]
) -> dict[str, Any]:
    """One SARIF result; ``seen`` numbers findings that share a fingerprint."""
    path = f.path or anchors.get(agent) or anchors.get("") or MANIFEST
    location: dict[str, Any] = {"artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"}}
    if f.path and f.line:
        location["region"] = {
            "startLine": f.line,
            **({"endLine": f.end_line} if f.end_line and f.end_line >= f.line else {}),
        }
    key = _fingerprint(f, path)
    seen[key] = seen.get(key, 0) + 1
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "level": LEVEL[f.severity] if f.on_changed_line else "note",
        "message": {"text": _shortened(f.message + (f" Fix: {f.fix}" if f.fix else ""))},
        "locations": [{"physicalLocation": location}],
        # Without the line, so a finding that moves with unrelated edits stays one alert.
        "partialFingerprints": {"leoFinding/v1": f"{key}:{seen[key]}"},
        "properties": {
            "subAgent": agent,
            "severity": f.severity,
            "onChangedLine": f.on_changed_line,
            **({} if f.path else {"changeWide": True}),
        },
    }
    return result


def _shortened(text: str) -> str:
    if len(text) <= MAX_MESSAGE:
        return text
    return text[:MAX_MESSAGE] + " … (shortened; the JSON report has the whole message)"


def _anchors(report: Report) -> dict[str, str]:
    """The file that stands for a change-wide finding (code scanning drops results without a
    location): the first file its sub-agent (key: its name) named in a finding or analysed,
    else the first any sub-agent (key: ``""``) did."""
    anchors: dict[str, str] = {}
    for agent in report.agents:
        for path in [*(f.path for f in agent.findings if f.path), *agent.analysed.files]:
            if path:
                anchors.setdefault(agent.name, path)
                anchors.setdefault("", path)
    return anchors


def _fingerprint(finding: Finding, path: str) -> str:
    text = "\0".join((finding.rule_id, path, finding.message))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
