"""Every hook LEO calls, grouped by lane and phase.

Hooks are called synchronously and must not do I/O: registration hooks declare, the runner
executes. Arguments may be added over time; an implementation may accept fewer of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from leo.change import Change
    from leo.models import Report, SubAgentResult
    from leo.subagent import CheckOutcome, Conflict, SubAgent

hookspec = pluggy.HookspecMarker("leo")


# --------------------------------------------------------------------------------------------
# Sub-agents: what the supervisor runs
# --------------------------------------------------------------------------------------------


@hookspec
def leo_register_subagents() -> Sequence[type[SubAgent]]:
    """Declare the sub-agents this plugin provides.

    Called once per plugin when LEO loads plugins (``leo verify``, ``leo plugins``). Return the
    ``SubAgent`` subclasses (not instances); the runner instantiates and runs them. A plugin
    that raises here, or returns something else, is reported by ``leo plugins`` and skipped.
    """


@hookspec(firstresult=True)
def leo_resolve_conflict(
    subagent: SubAgent, change: Change, conflict: Conflict
) -> Awaitable[CheckOutcome | None] | None:
    """Ask a sub-agent to reconsider its result in a conflict-resolution round.

    Called for each sub-agent that produced evidence, once per round (at most three rounds),
    when the sub-agents disagree (see docs/verdicts.md). Return an awaitable that the runner
    awaits under the sub-agent's timeout; it yields None (the agent stands by its result) or a
    revised result. The first non-None answer wins; LEO's default calls
    ``subagent.resolve_conflict(change, conflict)``.
    """


# --------------------------------------------------------------------------------------------
# Supervisor lane: a verification from start to verdict
# --------------------------------------------------------------------------------------------


@hookspec
def leo_verification_started(change: Change, agents: Sequence[str]) -> None:
    """Observe the start of a verification.

    Called once, after the change is gathered and before any sub-agent runs, with the names
    of the selected sub-agents. Return nothing; an exception is reported and ignored.
    """


@hookspec
def leo_subagent_finished(change: Change, result: SubAgentResult) -> None:
    """Observe one sub-agent's final result.

    Called once per sub-agent after conflict resolution, in selection order, before the
    verdict is computed. Return nothing; an exception is reported and ignored.
    """


@hookspec
def leo_verification_finished(report: Report) -> None:
    """Observe a finished verification (metrics, audit, notifications).

    Called once with the final ``Report`` before it is printed. Return nothing; an exception
    is reported and ignored, it never changes the verdict.
    """
