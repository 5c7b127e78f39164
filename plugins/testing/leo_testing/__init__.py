"""LEO's Testing sub-agent: the change's tests at the head, sandboxed, with changed-line coverage."""

from __future__ import annotations

from leo import SubAgent, hookimpl
from leo_testing.agent import TestingAgent

__all__ = ["TestingAgent"]


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [TestingAgent]
