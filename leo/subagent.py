"""``SubAgent``: the base class of every checker the supervisor runs, built-in or third party.

A plugin subclasses it, sets ``name`` and implements ``async def check(self, change)``, then
returns the class from the ``leo_register_subagents`` hook. The runner instantiates it with its
settings, runs ``check`` in its own task with a timeout, and validates what comes back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import JsonValue

from leo.aggregate import blocking, confidence_of, status_of
from leo.models import Analysed, Finding, Status, SubAgentResult, Tool

if TYPE_CHECKING:
    from leo.change import Change

CheckOutcome = Sequence[Finding] | SubAgentResult


class Conflict:
    """What a sub-agent sees in a conflict-resolution round."""

    def __init__(self, round: int, own: SubAgentResult, others: Sequence[SubAgentResult]) -> None:
        self.round = round
        """1, 2 or 3."""
        self.own = own
        """This sub-agent's current result."""
        self.others = tuple(others)
        """Every other sub-agent's current result: the evidence to weigh."""


class SubAgent:
    """Base class of a sub-agent. Subclass it, set ``name`` and implement ``check``."""

    name: ClassVar[str]
    """Unique lower-case name, e.g. ``security``; used in ``--agents`` and config."""
    description: ClassVar[str] = ""
    """One line shown by ``leo plugins``."""
    timeout: ClassVar[float | None] = None
    """Default timeout in seconds for this sub-agent, when config sets none."""
    cache_scope: ClassVar[Literal["tree", "change", "none"]] = "tree"
    """What a cached result depends on: the whole base and head trees (safe default), only the
    changed files' contents (``change``: agents that read nothing else), or never cached."""

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        self.settings: Mapping[str, Any] = dict(settings or {})
        """This sub-agent's table from ``[tool.leo.agents.<name>]`` (LEO's own keys removed)."""

    async def check(self, change: Change) -> CheckOutcome:
        """Examine ``change``; return findings, or a full ``SubAgentResult``."""
        raise NotImplementedError

    async def resolve_conflict(self, change: Change, conflict: Conflict) -> CheckOutcome | None:
        """Reconsider this sub-agent's result given the others' evidence.

        Called in conflict-resolution rounds when sub-agents disagree. Return None to stand by
        the current result, or a revised one (e.g. after re-running failed tests to tell a
        flaky test from a broken one). The default stands by the result.
        """
        return None

    # Helpers to build results without repeating the runner's bookkeeping.

    def skipped(self, reason: str, **kwargs: Any) -> SubAgentResult:
        """Nothing to check (no migrations, no benchmarks): neutral for the verdict."""
        return SubAgentResult(status="skipped", confidence=100, summary=reason, **kwargs)

    def result(
        self,
        findings: Sequence[Finding] = (),
        *,
        summary: str = "",
        analysed: Analysed | None = None,
        tools: Sequence[Tool] = (),
        details: Mapping[str, JsonValue] | None = None,
        status: Status | None = None,
        confidence: int | None = None,
        decisions: Sequence[str] = (),
    ) -> SubAgentResult:
        """A result whose status and confidence follow from ``findings`` unless given."""
        findings = tuple(findings)
        return SubAgentResult(
            status=status or status_of(findings),
            confidence=confidence if confidence is not None else confidence_of(findings),
            summary=summary or summarise(findings),
            findings=findings,
            analysed=analysed or Analysed(),
            tools=tuple(tools),
            details=dict(details or {}),
            decisions=tuple(decisions),
        )


def summarise(findings: Sequence[Finding]) -> str:
    """``n findings on the change, m in untouched lines``: the default one-line summary."""
    count = len(blocking(findings))
    context = len(findings) - count
    text = f"{count} finding{'s' if count != 1 else ''} on the change"
    return text + (f", {context} in untouched lines" if context else "")


@dataclass(frozen=True)
class AgentSpec:
    """A sub-agent class and the plugin it came from, as the plugin host registered it."""

    cls: type[SubAgent]
    plugin: str
    version: str

    @property
    def name(self) -> str:
        return self.cls.name


@dataclass(frozen=True)
class Job:
    """One sub-agent to run: its spec, its settings and its timeout."""

    spec: AgentSpec
    settings: dict[str, Any]
    timeout: float
