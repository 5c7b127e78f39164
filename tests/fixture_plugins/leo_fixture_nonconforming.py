"""A sub-agent that gets the standard situations wrong, for ``leo plugins check`` tests."""

from __future__ import annotations

import time

from leo import Finding, SubAgent, hookimpl


class Sloppy(SubAgent):
    name = "sloppy"

    async def check(self, change):
        if not change.files:
            return [
                Finding(rule_id="sloppy.empty", severity="high", message="nothing changed, so fail")
            ]
        findings = []
        for f in change.files:
            if f.status == "deleted":
                continue
            data = await change.read(f.path)
            data.decode("utf-8")  # crashes on binary and non-UTF-8 content
            findings.append(
                Finding(
                    rule_id="sloppy.far", severity="info", message="x", path=f.path, line=10_000_000
                )
            )
        findings.append(
            Finding(
                rule_id="sloppy.elsewhere",
                severity="info",
                message="x",
                path="not/in/change.py",
                line=1,
            )
        )
        if any(f.path == "app.py" for f in change.files):
            time.sleep(6)  # ignores cancellation
        return findings


@hookimpl
def leo_register_subagents():
    return [Sloppy]
