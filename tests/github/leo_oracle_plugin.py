"""A sub-agent whose result the test repository dictates (file ``ORACLE``: pass, fail or warn)."""

from __future__ import annotations

from leo import Finding, SubAgent, hookimpl


class Oracle(SubAgent):
    name = "oracle"
    timeout = 60

    async def check(self, change):
        data = await change.read("ORACLE", "head")
        said = (data or b"pass").decode().strip()
        if said == "fail":
            return [
                Finding(
                    rule_id="oracle.fail",
                    severity="high",
                    message="told to fail",
                    path="ORACLE",
                    line=1,
                )
            ]
        if said == "warn":
            return [
                Finding(
                    rule_id="oracle.warn",
                    severity="medium",
                    message="told to warn",
                    path="ORACLE",
                    line=1,
                )
            ]
        return self.result([], summary=f"oracle read {len(change.files)} changed files")


@hookimpl
def leo_register_subagents():
    return [Oracle]
