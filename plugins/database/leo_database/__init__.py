"""LEO's Database sub-agent: migration safety, proven on a real PostgreSQL.

The registered class is light: sqlglot, psycopg and the checks load when a change is checked,
so every ``leo`` command that merely loads the plugins stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leo import SubAgent, hookimpl
from leo_database.settings import DatabaseSettings

if TYPE_CHECKING:
    from leo import Change, SubAgentResult

__all__ = ["DatabaseAgent"]


class DatabaseAgent(SubAgent):
    name = "database"
    description = "migration safety: squawk + sqlglot rules, applied for real on PostgreSQL"
    timeout = 300
    Settings = DatabaseSettings

    async def check(self, change: Change) -> SubAgentResult:
        from leo_database.agent import DatabaseChecks

        return await DatabaseChecks(self.settings).check(change)


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [DatabaseAgent]
