"""LEO's Database sub-agent: migration safety, proven on a real PostgreSQL."""

from __future__ import annotations

from leo import SubAgent, hookimpl
from leo_database.agent import DatabaseAgent

__all__ = ["DatabaseAgent"]


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [DatabaseAgent]
