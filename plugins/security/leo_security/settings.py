"""The Security sub-agent's settings: ``[tool.leo.agents.security]`` (docs/agents/security.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from leo import AgentSettings

Positive = Annotated[float, Field(gt=0)]


class SecuritySettings(AgentSettings):
    """What the Security sub-agent scans and how long each scanner may take."""

    whole_files: bool = False
    """Findings anywhere in a changed file block, not only those on changed lines."""
    rules: tuple[str, ...] = ()
    """Extra semgrep rule files of the repository, read from the base commit."""
    builtin_rules: bool = True
    """Run LEO's own semgrep rules."""
    skip: tuple[Literal["bandit", "semgrep", "secrets", "zizmor"], ...] = ()
    """Scanners not to run."""
    max_file_bytes: Positive = 1_000_000
    """Changed files larger than this are not scanned (listed as not analysed)."""
    tool_timeout: Positive = 240
    """Seconds each scanner may take."""
    test_code: Literal["context", "gate"] = "context"
    """Bandit and semgrep findings in test modules (``test_*.py``, ``*_test.py``,
    ``conftest.py``): ``context`` reports them as ``low`` (test code does not ship; it runs only
    in LEO's sandbox), ``gate`` lets them block. Secrets and workflow findings always gate."""
