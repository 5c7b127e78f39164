"""LEO's Performance sub-agent: pytest-benchmark regressions between base and head, without noise.

See docs/agents/performance.md for the method, its statistics and its knobs.
"""

from __future__ import annotations

from leo import SubAgent, hookimpl
from leo_performance.agent import PerformanceAgent

__all__ = ["PerformanceAgent"]


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [PerformanceAgent]
