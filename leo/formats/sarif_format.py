"""The report as SARIF 2.1.0, the format GitHub code scanning accepts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from leo.__about__ import __version__

if TYPE_CHECKING:
    from leo.models import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
#: GitHub's security-severity scale (0-10), so code scanning ranks findings like LEO does.
SECURITY_SEVERITY = {"critical": "9.5", "high": "7.5", "medium": "5.0", "low": "2.0", "info": "0.0"}


def render(report: Report, *, color: bool = False) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for agent in report.agents:
        for f in agent.findings:
            rules.setdefault(
                f.rule_id,
                {
                    "id": f.rule_id,
                    "shortDescription": {"text": f.rule_id},
                    "properties": {
                        "security-severity": SECURITY_SEVERITY[f.severity],
                        "tags": [agent.name],
                    },
                },
            )
            result: dict[str, Any] = {
                "ruleId": f.rule_id,
                "level": LEVEL[f.severity] if f.on_changed_line else "note",
                "message": {"text": f.message + (f" Fix: {f.fix}" if f.fix else "")},
                "properties": {
                    "subAgent": agent.name,
                    "severity": f.severity,
                    "onChangedLine": f.on_changed_line,
                },
            }
            if f.path:
                location: dict[str, Any] = {
                    "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"}
                }
                if f.line:
                    location["region"] = {
                        "startLine": f.line,
                        **({"endLine": f.end_line} if f.end_line else {}),
                    }
                result["locations"] = [{"physicalLocation": location}]
            results.append(result)
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
                "results": results,
                "properties": {
                    "verdict": report.verdict,
                    "confidence": report.confidence,
                    "isolation": report.isolation,
                },
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
