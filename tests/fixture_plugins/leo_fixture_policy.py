"""Sub-agents whose verdict depends on their policy settings (see tests/store/test_replay.py)."""

import os

from leo import AgentSettings, Finding, SubAgent, hookimpl


class LineLimit(SubAgent):
    name = "linelimit"
    description = "fails a changed file with more added lines than max_lines (policy)"

    async def check(self, change):
        limit = int(self.settings.get("max_lines", 100))
        return [
            Finding(
                rule_id="linelimit.too_long",
                severity="high",
                message=f"{f.path} adds {len(f.added_lines)} lines (max {limit})",
                path=f.path,
                line=f.added_lines[0],
            )
            for f in change.files
            if len(f.added_lines) > limit
        ]


class AsOfSettings(AgentSettings):
    resolve_as_of: str | None = None


class AsOf(SubAgent):
    name = "asof"
    description = "resolves dependencies as of a date; writes the date it got to $ASOF_LOG"
    Settings = AsOfSettings

    async def check(self, change):
        with open(os.environ["ASOF_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{self.settings.resolve_as_of}\n")
        return []


@hookimpl
def leo_register_subagents():
    return [LineLimit, AsOf]
