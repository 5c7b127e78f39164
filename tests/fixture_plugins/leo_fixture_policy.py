"""A sub-agent whose verdict depends on its policy setting (see tests/store/test_replay.py)."""

from leo import Finding, SubAgent, hookimpl


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


@hookimpl
def leo_register_subagents():
    return [LineLimit]
