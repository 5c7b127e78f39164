"""A third-party plugin found through a real entry point (see tests/test_plugins.py)."""

from leo import Finding, SubAgent, hookimpl


class License(SubAgent):
    name = "thirdparty"
    description = "a third party's sub-agent"

    async def check(self, change):
        return [
            Finding(
                rule_id="thirdparty.note", severity="info", message=f"{len(change.files)} files"
            )
        ]


@hookimpl
def leo_register_subagents():
    return [License]
