"""LEO's Security sub-agent: bandit, semgrep, detect-secrets and zizmor on the change.

Findings on added or modified lines block; findings in untouched lines of changed files are
context. See ``docs/agents/security.md`` for every check, its severity and how to tune it.
"""

from __future__ import annotations

from leo import SubAgent, hookimpl
from leo_security.agent import SecurityAgent

__all__ = ["SecurityAgent"]


@hookimpl
def leo_register_subagents() -> list[type[SubAgent]]:
    return [SecurityAgent]
