"""LEO's default hook implementations, registered like any plugin's (pytest's default_plugins)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from leo.hookspecs import hookimpl

if TYPE_CHECKING:
    from leo.change import Change
    from leo.subagent import CheckOutcome, Conflict, SubAgent


@hookimpl(trylast=True)
def leo_resolve_conflict(
    subagent: SubAgent, change: Change, conflict: Conflict
) -> Awaitable[CheckOutcome | None]:
    """Let the sub-agent itself reconsider, through ``SubAgent.resolve_conflict``."""
    return subagent.resolve_conflict(change, conflict)
