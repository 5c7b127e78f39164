"""A third-party plugin found through a real entry point (see tests/test_plugins.py)."""

from leo import AgentSettings, Finding, SubAgent, hookimpl


class LicenseSettings(AgentSettings):
    """``[tool.leo.agents.thirdparty]``, typed as a third party declares it."""

    note: str = ""
    """Appended to the finding's message."""
    max_files: int = 1000
    """Not used: a second key, so that the error message lists what the table accepts."""


class License(SubAgent):
    name = "thirdparty"
    description = "a third party's sub-agent"
    Settings = LicenseSettings

    async def check(self, change):
        note = f" ({self.settings.note})" if self.settings.note else ""
        return [
            Finding(
                rule_id="thirdparty.note",
                severity="info",
                message=f"{len(change.files)} files{note}",
            )
        ]


@hookimpl
def leo_register_subagents():
    return [License]
