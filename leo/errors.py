"""LEO's errors and exit codes: the vocabulary of failure shared by every command."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of ``leo``; documented in ``docs/cli.md`` and stable."""

    PASS = 0
    FAIL = 1
    USAGE = 2
    """Bad input: usage, configuration, unknown ref or agent, not a git repository."""
    CONDITIONAL_PASS = 3
    ESCALATE = 4
    INTERNAL = 5
    """LEO itself could not run."""


class LeoError(Exception):
    """A problem with the user's input; the CLI prints the message and exits 2.

    The message is one sentence naming the bad input, what was expected and what to do.
    """

    exit_code = ExitCode.USAGE


class ConfigError(LeoError):
    """The configuration in ``[tool.leo]``, ``leo.toml`` or ``--config`` is invalid."""


class GitError(LeoError):
    """Git refused: not a repository, unknown ref, ..."""


class ToolNotFoundError(LeoError):
    """An external tool a sub-agent needs is not installed."""


class StoreError(LeoError):
    """The audit database could not be read or written; LEO fails closed (exit 5)."""

    exit_code = ExitCode.INTERNAL
