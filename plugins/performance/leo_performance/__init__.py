"""LEO's Performance sub-agent: pytest-benchmark regressions between base and head, without noise.

See docs/agents/performance.md for the method, its statistics and its knobs. The registered
class is light: numpy, scipy and the measuring load when a change is checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from leo import SubAgent, hookimpl
from leo_performance.settings import Settings

if TYPE_CHECKING:
    from leo import Change, Conflict, SubAgentResult

__all__ = ["PerformanceAgent"]


class PerformanceAgent(SubAgent):
    name = "performance"
    description = "pytest-benchmark regressions between base and head (interleaved, tested)"
    timeout = 900
    Settings = Settings

    async def check(self, change: Change) -> SubAgentResult:
        from leo_performance.agent import PerformanceChecks

        return await PerformanceChecks(self.settings).check(change)

    async def resolve_conflict(self, change: Change, conflict: Conflict) -> SubAgentResult | None:
        from leo_performance.agent import PerformanceChecks

        return await PerformanceChecks(self.settings).resolve_conflict(change, conflict)


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [PerformanceAgent]
